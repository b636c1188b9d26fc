"""Temporary credentials: `ASIA...` keys whose session token carries everything.

The token is self-contained so that any replica verifies it without a database
read (DESIGN.md §5): `base64url(version || nonce || AES-256-GCM(zlib(JSON claims)))`
under a key derived from the master key with HKDF. The claims (secret key,
principal, expiry, policies, session policy, tags, identity-provider claims)
are encrypted, not only signed: the token holds the session's secret key.
Compression keeps a token with a 2 KiB session policy well under 2 KiB.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import json
import secrets
import string
import time
import zlib
from dataclasses import dataclass, field
from typing import Any

from cryptography.exceptions import InvalidTag

from iamgw.store import MasterKey

_VERSION = b"\x01"
_AAD = b"iamgw session token v1"
_ALPHABET = string.ascii_uppercase + string.digits
MAX_TOKEN_BYTES = 16 * 1024  # far above any real token; refuse to decompress more


class TokenError(Exception):
    """The session token is malformed, forged, or for another key."""


class TokenExpired(TokenError):
    """The session token was valid but its time is over."""


@dataclass(frozen=True)
class SessionClaims:
    """What a temporary credential stands for. Field names are short: they travel
    in every request's `x-amz-security-token`."""

    ak: str  # access key id (ASIA...)
    sk: str = field(repr=False)  # secret access key
    exp: int  # expiry, epoch seconds
    iat: int  # issued at, epoch seconds
    sid: str  # session id (revocation by session)
    arn: str  # principal ARN (assumed-role session, user, federated user)
    typ: str  # aws:PrincipalType: AssumedRole | User | FederatedUser
    src: str = ""  # the ARN that revocation "by user" matches (user or role)
    uid: str = ""  # aws:userid
    un: str = ""  # aws:username (IAM users only)
    pol: tuple[str, ...] = ()  # identity policy names or ARNs
    bnd: str = ""  # permissions boundary ARN
    sp: str = ""  # session policy (JSON), narrows the session
    spa: tuple[str, ...] = ()  # session policy ARNs (PolicyArns), narrow too
    tags: dict[str, str] = field(default_factory=dict)  # aws:PrincipalTag/*
    ttk: tuple[str, ...] = ()  # transitive tag keys
    idp: dict[str, Any] = field(default_factory=dict)  # claims: {"jwt:sub": ..., "ldap:user": ...}
    chain: bool = False  # issued by role chaining (AssumeRole with temporary credentials)


def new_access_key_id() -> str:
    # One read of the system's random source, not one per character (each a system call
    # that lets go of the GIL); bytes past 7 * 36 are dropped, so every character is
    # equally likely.
    chars: list[str] = []
    while len(chars) < 16:
        chars += [_ALPHABET[b % 36] for b in secrets.token_bytes(24) if b < 252]
    return "ASIA" + "".join(chars[:16])


def new_secret_key() -> str:
    return secrets.token_urlsafe(30)


class SessionTokens:
    """Mints and opens session tokens under a key derived from the master key."""

    def __init__(self, master_key: MasterKey) -> None:
        # Under the current key; tokens of the previous one (a rotation) still open.
        self._aead = master_key.derive(_AAD)

    def mint(self, claims: SessionClaims) -> str:
        # vars(), not asdict(): the same JSON without deep-copying every value first.
        payload = json.dumps(vars(claims), separators=(",", ":"), sort_keys=True).encode()
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, zlib.compress(payload, 9), _AAD)
        return base64.urlsafe_b64encode(_VERSION + nonce + sealed).rstrip(b"=").decode()

    def open(self, token: str, access_key: str, now: float | None = None) -> SessionClaims:
        """The claims of `token`, checked to belong to `access_key` and to be unexpired."""
        if not token or len(token) > MAX_TOKEN_BYTES:
            raise TokenError("the session token is malformed")
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except (binascii.Error, ValueError):
            raise TokenError("the session token is malformed") from None
        if len(raw) < 1 + 12 + 16 or raw[:1] != _VERSION:
            raise TokenError("the session token is malformed")
        try:
            compressed = self._aead.decrypt(raw[1:13], raw[13:], _AAD)
            decoder = zlib.decompressobj()
            payload = decoder.decompress(compressed, MAX_TOKEN_BYTES * 8)
            data = json.loads(payload)
            claims = SessionClaims(**{**data, **_tuples(data)})
        except (InvalidTag, zlib.error, ValueError, TypeError):
            raise TokenError("the session token is invalid") from None
        if not hmac.compare_digest(claims.ak.encode(), access_key.encode()):
            raise TokenError("the session token does not belong to this access key")
        if (now if now is not None else time.time()) >= claims.exp:
            raise TokenExpired("the session token has expired")
        return claims


def _tuples(data: dict[str, Any]) -> dict[str, Any]:
    return {k: tuple(data[k]) for k in ("pol", "spa", "ttk") if k in data}
