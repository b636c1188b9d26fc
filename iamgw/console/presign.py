"""Presigned S3 URLs (SigV4 query authentication) for the object browser.

https://docs.aws.amazon.com/AmazonS3/latest/API/sigv4-query-string-auth.html

Built from the very functions the gateway verifies with (`iamgw.sigv4`: canonical URI,
canonical query, scope, string to sign, signing key), so a URL made here is read by the
S3 path exactly as any SDK's. Only `host` is signed and the payload is
`UNSIGNED-PAYLOAD`, as S3 presigns: the browser adds its own `Content-Type` and
`Content-Length`, and an upload streams to the node without being spooled.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

from iamgw.sigv4 import (
    UNSIGNED_PAYLOAD,
    Credentials,
    canonical_query,
    canonical_request,
    canonical_uri,
    credential_scope,
    format_amz_date,
    signing_key,
    string_to_sign,
)

ALGORITHM = "AWS4-HMAC-SHA256"
_UNRESERVED = "-_.~"  # RFC 3986: what SigV4 leaves unencoded


def object_path(bucket: str | None, key: str | None) -> str:
    """The path-style raw path of a bucket or key, every byte outside the unreserved set
    (and the key's `/`) percent-encoded, so that it is its own canonical URI."""
    if not bucket:
        return "/"
    path = "/" + quote(bucket, safe="")
    if key:
        path += "/" + quote(key.encode("utf-8"), safe="/" + _UNRESERVED)
    return path


def _encode(text: str) -> str:
    return quote(text.encode("utf-8"), safe=_UNRESERVED)


def presign(
    method: str,
    path: str,
    params: Sequence[tuple[str, str]],
    credentials: Credentials,
    *,
    host: str,
    region: str,
    now: datetime,
    expires: int,
) -> str:
    """`path?query` of a presigned request: `params` (the operation's own) and the
    X-Amz-* parameters of query authentication, `X-Amz-Signature` last. `host` is the
    Host header the URL will be sent with."""
    amz_date = format_amz_date(now)
    scope = credential_scope(amz_date[:8], region, "s3")
    query = [
        *params,
        ("X-Amz-Algorithm", ALGORITHM),
        ("X-Amz-Credential", f"{credentials.access_key}/{scope}"),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    if credentials.session_token:
        query.append(("X-Amz-Security-Token", credentials.session_token))
    raw_query = "&".join(f"{_encode(n)}={_encode(v)}" for n, v in query)
    canonical = canonical_request(
        method,
        canonical_uri(path, "s3"),
        canonical_query(raw_query),
        {"host": host},
        ["host"],
        UNSIGNED_PAYLOAD,
    )
    key = signing_key(credentials.secret_key, amz_date[:8], region, "s3")
    to_sign = string_to_sign(amz_date, scope, canonical)
    signature = hmac.new(key, to_sign.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{path}?{raw_query}&X-Amz-Signature={signature}"
