"""Signing keys, signatures, and signing of the requests sent upstream."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from urllib.parse import urlsplit

from iamgw.sigv4.canonical import (
    ALGORITHM,
    TERMINATOR,
    canonical_query,
    canonical_request,
    canonical_uri,
    credential_scope,
    string_to_sign,
)

AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"

# Headers a proxy hop may add or rewrite: never signed for the upstream.
_NEVER_SIGNED = frozenset(
    {
        "authorization",
        "connection",
        "expect",
        "keep-alive",
        "proxy-authorization",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "user-agent",
        "x-amzn-trace-id",
        # the client's own credentials: the upstream request carries the gateway's
        "x-amz-security-token",
        "content-length",
        "accept-encoding",
        "host",
    }
)


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str
    session_token: str | None = None

    def __repr__(self) -> str:  # secrets never appear in logs
        return f"Credentials(access_key={self.access_key!r}, secret_key=***)"


@dataclass(frozen=True)
class SigningContext:
    """What chunk and trailer signatures chain from (aws-chunked uploads)."""

    signing_key: bytes
    seed_signature: str
    amz_date_str: str
    scope: str


def hmac_sha256(key: bytes, msg: str | bytes) -> bytes:
    data = msg.encode("utf-8") if isinstance(msg, str) else msg
    return hmac.new(key, data, hashlib.sha256).digest()


@lru_cache(maxsize=1024)
def signing_key(secret_key: str, date: str, region: str, service: str) -> bytes:
    """kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request");
    cached (LRU) because it changes once a day per key."""
    k_date = hmac_sha256(f"AWS4{secret_key}".encode(), date)
    k_region = hmac_sha256(k_date, region)
    k_service = hmac_sha256(k_region, service)
    return hmac_sha256(k_service, TERMINATOR)


def signature(key: bytes, to_sign: str) -> str:
    return hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def format_amz_date(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime(AMZ_DATE_FORMAT)


def _host_from_url(scheme: str, netloc: str) -> str:
    # As botocore and httpx send it: the default port is left out.
    host = netloc.rpartition("@")[2]
    default = {"http": ":80", "https": ":443"}.get(scheme)
    if default and host.endswith(default):
        host = host[: -len(default)]
    return host


def sign_request(
    method: str,
    url: str,
    headers: Mapping[str, str],
    payload_hash: str,
    credentials: Credentials,
    *,
    region: str,
    service: str = "s3",
    now: datetime,
    extra_signed: Iterable[str] = (),
) -> dict[str, str]:
    """The headers to add to an upstream request to sign it (header auth).

    `url` carries the scheme, host, raw (percent-encoded) path and raw query that
    will be sent; the signed `host` is taken from it (default port dropped) and any
    `host` in `headers` is ignored. Signed: host, content-md5, content-type, every
    x-amz-* header, and the names in `extra_signed`. Returns Authorization,
    x-amz-date, x-amz-content-sha256 and, with a session token, x-amz-security-token;
    the caller drops the client's versions of these (and its x-amz-security-token).
    """
    parts = urlsplit(url)
    amz_date = format_amz_date(now)
    added = {"x-amz-date": amz_date, "x-amz-content-sha256": payload_hash}
    if credentials.session_token:
        added["x-amz-security-token"] = credentials.session_token
    wanted = {"content-md5", "content-type", *(n.lower() for n in extra_signed)}
    to_sign: dict[str, str] = {"host": _host_from_url(parts.scheme, parts.netloc)}
    for name, value in headers.items():
        lname = name.lower()
        if lname in _NEVER_SIGNED or lname in added:
            continue
        if lname.startswith("x-amz-") or lname in wanted:
            to_sign[lname] = value
    to_sign.update(added)
    names = sorted(to_sign)
    scope = credential_scope(amz_date[:8], region, service)
    canonical = canonical_request(
        method,
        canonical_uri(parts.path, service),
        canonical_query(parts.query),
        to_sign,
        names,
        payload_hash,
    )
    key = signing_key(credentials.secret_key, amz_date[:8], region, service)
    sig = signature(key, string_to_sign(amz_date, scope, canonical))
    added["Authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={sig}"
    )
    return added
