"""Identities: root, IAM users, temporary credentials (session tokens), anonymous.

Temporary credentials follow the AWS STS model
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp.html).
"""

from .access import Access
from .credentials import SessionClaims, SessionTokens, TokenError, TokenExpired
from .principals import Identity, IdentityKind, anonymous

__all__ = [
    "Access",
    "Identity",
    "IdentityKind",
    "SessionClaims",
    "SessionTokens",
    "TokenError",
    "TokenExpired",
    "anonymous",
]
