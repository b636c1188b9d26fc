"""Identities: root, IAM users, temporary credentials (session tokens), anonymous,
and the logins that open them (OpenID Connect tokens, LDAP / Active Directory).

Temporary credentials follow the AWS STS model
(https://docs.aws.amazon.com/IAM/latest/UserGuide/id_credentials_temp.html).
"""

from .access import Access
from .authn import Authenticated, authenticate, request_headers
from .credentials import (
    SessionClaims,
    SessionTokens,
    TokenError,
    TokenExpired,
    new_access_key_id,
    new_secret_key,
)
from .ldap import (
    LdapDenied,
    LdapDirectory,
    LdapError,
    LdapLogin,
    LdapThrottled,
    LdapUnavailable,
    normalise_dn,
)
from .oidc import InvalidToken as InvalidIdentityToken
from .oidc import OidcVerifier, Provider, ProviderUnavailable, iam_object_issuer, unverified_issuer
from .oidc import TokenExpired as IdentityTokenExpired
from .principals import FEDERATED_ROLE_PATH, Identity, IdentityKind, anonymous
from .transport import client_address, forwarded_client, origin, transport_context

__all__ = [
    "FEDERATED_ROLE_PATH",
    "Access",
    "Authenticated",
    "Identity",
    "IdentityKind",
    "IdentityTokenExpired",
    "InvalidIdentityToken",
    "LdapDenied",
    "LdapDirectory",
    "LdapError",
    "LdapLogin",
    "LdapThrottled",
    "LdapUnavailable",
    "OidcVerifier",
    "Provider",
    "ProviderUnavailable",
    "SessionClaims",
    "SessionTokens",
    "TokenError",
    "TokenExpired",
    "anonymous",
    "authenticate",
    "client_address",
    "forwarded_client",
    "iam_object_issuer",
    "new_access_key_id",
    "new_secret_key",
    "normalise_dn",
    "origin",
    "request_headers",
    "transport_context",
    "unverified_issuer",
]
