"""OpenID Connect tokens (JWT) verified against the provider's published keys.

OpenID Connect Core 1.0 §3.1.3.7 (ID token validation), OpenID Connect Discovery
1.0 §4 (`issuer/.well-known/openid-configuration`), RFC 7517 (JWK sets) and
RFC 8725 (JWT best current practices: the algorithm is pinned to the key, never
taken from the token alone; `none` and HMAC are never accepted with a public key).

The keys of each issuer are fetched once and cached. An unknown `kid` triggers a
refresh, at most once per `refresh_interval` (so a flood of forged kids cannot
make iamgw hammer the provider); keys older than `max_age` are refreshed on use;
when the provider is down, the cached keys keep serving.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import httpx
import jwt

from iamgw.ops import idp_error, idp_request

log = logging.getLogger("iamgw.oidc")

# RFC 7518 §3.1: the signature algorithms of each key type. HMAC (HS*) and `none`
# are absent on purpose: a provider's public key must never serve as an HMAC secret.
RSA_ALGORITHMS = frozenset({"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"})
EC_ALGORITHMS = {"ES256": "P-256", "ES384": "P-384", "ES512": "P-521"}
LEEWAY_SECONDS = 30
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class OidcError(Exception):
    """A token cannot be accepted (base of the errors below)."""


class InvalidToken(OidcError):
    """Malformed, forged, for another audience or issuer, or signed with an unknown key."""


class TokenExpired(OidcError):
    """The token's `exp` has passed."""


class ProviderUnavailable(OidcError):
    """The provider's discovery document or keys cannot be fetched, and none are cached."""


@dataclass(frozen=True)
class Provider:
    """An OpenID provider iamgw trusts: an `[[oidc]]` entry or an IAM OIDC provider object."""

    name: str
    issuer: str
    audiences: tuple[str, ...]
    account_id: str
    claim_name: str = ""
    claim_prefix: str = ""
    role_policy: str = ""
    limit_to_token_expiry: bool = False

    @property
    def host_path(self) -> str:
        """The issuer without its scheme: IAM's provider URL and condition-key prefix."""
        return host_path(self.issuer)

    @property
    def arn(self) -> str:
        """The `Federated` principal of trust policies."""
        return f"arn:aws:iam::{self.account_id}:oidc-provider/{self.host_path}"


def host_path(issuer: str) -> str:
    parts = urlsplit(issuer)
    return (parts.netloc + parts.path).rstrip("/")


def iam_object_issuer(url: str, token_issuer: str) -> str | None:
    """The issuer an IAM provider object (`url`: host and path) stands for, given a
    token's `iss`: https, or http for a loopback host (a provider on this machine)."""
    parts = urlsplit(token_issuer)
    if parts.query or parts.fragment or "@" in parts.netloc:
        return None  # OIDC Discovery §4.1: an issuer has no query, fragment or userinfo
    if host_path(token_issuer) != url.rstrip("/"):
        return None
    scheme, host = parts.scheme, parts.hostname or ""
    if scheme == "https" or (scheme == "http" and host in LOOPBACK_HOSTS):
        return token_issuer
    return None


def unverified_issuer(token: str) -> str:
    """The `iss` claim of a token not yet verified: only to choose whose keys verify it."""
    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except (jwt.PyJWTError, RecursionError):
        raise InvalidToken("the token is not a well-formed JWT") from None
    check_json_text(claims)
    issuer = claims.get("iss")
    if not isinstance(issuer, str) or not issuer:
        raise InvalidToken("the token has no iss claim")
    return issuer


def check_json_text(decoded: Any) -> None:
    """Refuse a decoded token part that JSON accepts but that is no text or number:
    a lone UTF-16 surrogate (`"\\ud800"`), which cannot be encoded again (in an error
    message, an answer, a database query), or NaN and Infinity."""
    try:
        json.dumps(decoded, ensure_ascii=False, allow_nan=False).encode("utf-8")
    except (ValueError, RecursionError):  # UnicodeEncodeError is a ValueError
        raise InvalidToken(
            "the token holds a lone UTF-16 surrogate or a NaN or Infinity number"
        ) from None


@dataclass
class _Key:
    jwk: dict[str, Any]
    key: Any  # the public key object PyJWT verifies with

    @property
    def kty(self) -> str:
        return str(self.jwk.get("kty", ""))

    def allows(self, alg: str) -> bool:
        """Whether a token signed with `alg` may be verified with this key."""
        declared = self.jwk.get("alg")
        if declared is not None and declared != alg:
            return False
        if self.kty == "RSA":
            return alg in RSA_ALGORITHMS
        if self.kty == "EC":
            return EC_ALGORITHMS.get(alg) == self.jwk.get("crv")
        return False


@dataclass
class _KeySet:
    keys: dict[str, _Key] = field(default_factory=dict)
    fetched: float = 0.0  # monotonic time of the last successful fetch
    attempted: float = float("-inf")  # monotonic time of the last attempt
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class OidcVerifier:
    """Verifies JWTs of the providers it is given, keeping each issuer's keys cached."""

    def __init__(
        self,
        *,
        refresh_interval: float = 10.0,
        max_age: float = 3600.0,
        leeway: int = LEEWAY_SECONDS,
        timeout: float = 5.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.refresh_interval = refresh_interval
        self.max_age = max_age
        self.leeway = leeway
        self.timeout = timeout
        self.transport = transport
        self._sets: dict[str, _KeySet] = {}

    async def verify(self, token: str, provider: Provider) -> dict[str, Any]:
        """The claims of `token`, once its signature, issuer, audience, times and
        subject are checked. Raises `InvalidToken`, `TokenExpired` or `ProviderUnavailable`."""
        try:
            header = jwt.get_unverified_header(token)
        except (jwt.PyJWTError, RecursionError):
            raise InvalidToken("the token is not a well-formed JWT") from None
        check_json_text(header)
        alg = header.get("alg")
        if not isinstance(alg, str) or (alg not in RSA_ALGORITHMS and alg not in EC_ALGORITHMS):
            raise InvalidToken(f"the token's signing algorithm {alg!r} is not accepted")
        kid = header.get("kid")
        if kid is not None and not isinstance(kid, str):
            raise InvalidToken("the token's kid is not a string")
        key = await self._key(provider, kid)
        if not key.allows(alg):
            raise InvalidToken(f"the token's algorithm {alg} does not match its key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key.key,
                algorithms=[alg],
                issuer=provider.issuer,
                leeway=self.leeway,
                options={"verify_aud": False, "require": ["exp", "iat", "iss", "sub"]},
            )
        except jwt.ExpiredSignatureError:
            raise TokenExpired("the token has expired") from None
        except jwt.ImmatureSignatureError:
            raise InvalidToken("the token is not yet valid (nbf or iat in the future)") from None
        except jwt.InvalidIssuerError:
            raise InvalidToken("the token's issuer does not match the provider") from None
        except jwt.MissingRequiredClaimError as exc:
            raise InvalidToken(f"the token has no {exc.claim} claim") from None
        except (jwt.PyJWTError, RecursionError, OverflowError):
            # OverflowError: PyJWT takes int() of a time claim, and JSON allows Infinity.
            raise InvalidToken("the token's signature or claims are invalid") from None
        check_json_text(claims)
        sub = claims.get("sub")
        if not isinstance(sub, str) or not sub:
            raise InvalidToken("the token has no sub claim")
        if not _audience_ok(claims, provider.audiences):
            raise InvalidToken("Incorrect token audience")
        return claims

    # -- keys -------------------------------------------------------------------

    async def _key(self, provider: Provider, kid: str | None) -> _Key:
        keyset = self._sets.setdefault(provider.issuer, _KeySet())
        now = time.monotonic()
        if not keyset.keys or now - keyset.fetched > self.max_age:
            await self._refresh(provider, keyset)
        key = _find(keyset, kid)
        if key is None and await self._refresh(provider, keyset):
            key = _find(keyset, kid)
        if key is None:
            raise InvalidToken("the token is signed with a key the provider does not publish")
        return key

    async def _refresh(self, provider: Provider, keyset: _KeySet) -> bool:
        """Fetch the keys again unless that was tried within `refresh_interval`.
        True when new keys were fetched; raises only when no keys are cached at all."""
        async with keyset.lock:
            now = time.monotonic()
            if now - keyset.attempted < self.refresh_interval:
                if not keyset.keys:
                    raise ProviderUnavailable(
                        f"the keys of {provider.issuer} could not be fetched; retry later"
                    )
                return False
            keyset.attempted = now
            try:
                keys = await self._fetch(provider)
            except ProviderUnavailable as exc:
                if not keyset.keys:
                    raise
                log.warning("%s; serving its %d cached keys", exc, len(keyset.keys))
                return False
            keyset.keys, keyset.fetched = keys, now
            return True

    async def _fetch(self, provider: Provider) -> dict[str, _Key]:
        discovery_url = provider.issuer.rstrip("/") + "/.well-known/openid-configuration"
        try:
            async with httpx.AsyncClient(
                timeout=self.timeout, transport=self.transport, follow_redirects=False
            ) as http:
                with idp_request(provider.issuer, "discovery"):
                    response = await http.get(discovery_url)
                    response.raise_for_status()
                    document = response.json()
                    if document.get("issuer") != provider.issuer:
                        raise ProviderUnavailable(
                            f"the discovery document of {provider.issuer} names another issuer"
                        )
                    jwks_uri = document["jwks_uri"]
                with idp_request(provider.issuer, "jwks"):
                    response = await http.get(jwks_uri)
                    response.raise_for_status()
                    jwks = response.json()
        except ProviderUnavailable:
            raise
        except (httpx.HTTPError, ValueError, KeyError, TypeError, AttributeError) as exc:
            raise ProviderUnavailable(
                f"the keys of {provider.issuer} could not be fetched ({type(exc).__name__})"
            ) from exc
        keys = _parse_jwks(jwks)
        if not keys:
            idp_error(provider.issuer, "jwks")
            raise ProviderUnavailable(f"{provider.issuer} publishes no usable signing key")
        return keys


def _find(keyset: _KeySet, kid: str | None) -> _Key | None:
    if kid is not None:
        return keyset.keys.get(kid)
    # A token without kid is accepted only when the provider publishes one key.
    if len(keyset.keys) == 1:
        return next(iter(keyset.keys.values()))
    return None


def _parse_jwks(jwks: Any) -> dict[str, _Key]:
    out: dict[str, _Key] = {}
    entries = jwks.get("keys") if isinstance(jwks, dict) else None
    if not isinstance(entries, list):
        return out
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or entry.get("kty") not in ("RSA", "EC"):
            continue  # symmetric (oct) or unknown key types never verify tokens
        if entry.get("use", "sig") != "sig":
            continue
        try:
            public = {k: v for k, v in entry.items() if k not in ("d", "p", "q", "dp", "dq", "qi")}
            key = jwt.PyJWK.from_dict(public).key
        except (jwt.PyJWTError, ValueError, TypeError, KeyError):
            continue
        out[str(entry.get("kid", f"#{index}"))] = _Key(public, key)
    return out


def _audience_ok(claims: dict[str, Any], audiences: tuple[str, ...]) -> bool:
    # OIDC Core §3.1.3.7: the client id must be among `aud`; Keycloak's access tokens
    # name the client in `azp` (their `aud` is often "account"), as MinIO accepts too.
    aud = claims.get("aud")
    values = [aud] if isinstance(aud, str) else aud if isinstance(aud, list) else []
    if any(isinstance(v, str) and v in audiences for v in values):
        return True
    azp = claims.get("azp")
    return isinstance(azp, str) and azp in audiences
