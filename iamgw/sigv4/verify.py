"""Verification of a parsed SigV4 request against the secret of its access key."""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

from iamgw.errors import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    InvalidRequest,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
    XAmzContentSHA256Mismatch,
)
from iamgw.sigv4.canonical import (
    canonical_query,
    canonical_query_as_sent,
    canonical_request,
    canonical_uri,
    canonical_uri_as_sent,
    credential_scope,
    string_to_sign,
)
from iamgw.sigv4.parse import AuthInfo
from iamgw.sigv4.signing import SigningContext, format_amz_date, signature, signing_key

MAX_EXPIRES = 7 * 24 * 3600  # presigned URLs live at most a week (604800 s)
_PRESIGN_SIGNATURE = ("X-Amz-Signature",)


def _scope_errors(auth: AuthInfo) -> tuple[type[Exception], str]:
    if auth.presigned:
        return AuthorizationQueryParametersError, "Error parsing the X-Amz-Credential parameter; "
    return AuthorizationHeaderMalformed, "The authorization header is malformed; "


def _check_scope(auth: AuthInfo, region: str, service: str) -> None:
    malformed, prefix = _scope_errors(auth)
    if auth.service != service:
        raise malformed(
            f'{prefix}incorrect service "{auth.service}". This endpoint belongs to "{service}".'
        )
    if auth.region != region:
        raise malformed(f"{prefix}the region '{auth.region}' is wrong; expecting '{region}'")
    request_date = auth.amz_date.strftime("%Y%m%d")
    if auth.date != request_date:
        raise malformed(
            f'{prefix}Invalid credential date "{auth.date}". '
            f'This date is not the same as X-Amz-Date: "{request_date}".'
        )


def _check_signed_headers(auth: AuthInfo, headers: Mapping[str, str]) -> None:
    signed = set(auth.signed_headers)
    if "host" not in signed:
        malformed, prefix = _scope_errors(auth)
        if auth.presigned:
            raise malformed("X-Amz-SignedHeaders must include host.")
        raise malformed(prefix + "SignedHeaders must include host.")
    # A signed header sent twice is signed as its joined values, which a node may not
    # read as such: one value or none (see sigv4.headers).
    twice = sorted(signed & getattr(headers, "repeated", frozenset()))
    if twice:
        raise InvalidRequest(f"The signed header {twice[0]} may appear only once.")
    # AWS: every x-amz-* header sent must be signed (x-amz-content-sha256 and x-amz-date
    # included); else a client's signed request could be extended with e.g. x-amz-acl.
    unsigned = sorted(n for n in headers if n.startswith("x-amz-") and n not in signed)
    if not auth.presigned and "x-amz-date" not in headers and "date" not in signed:
        unsigned.append("date")
    if unsigned:
        raise AccessDenied(
            "There were headers present in the request which were not signed: "
            + ", ".join(unsigned)
        )


def _check_time(auth: AuthInfo, now: datetime, max_skew: timedelta) -> None:
    if auth.presigned:
        expires = auth.expires
        if expires is None or not 1 <= expires <= MAX_EXPIRES:
            raise AuthorizationQueryParametersError(
                "X-Amz-Expires must be between 1 and 604800 seconds (a week)."
            )
        if auth.amz_date - now > max_skew:
            raise RequestTimeTooSkewed(
                "The difference between the request time and the current time is too large."
            )
        if now > auth.amz_date + timedelta(seconds=expires):
            raise AccessDenied("Request has expired")
    elif abs(now - auth.amz_date) > max_skew:
        raise RequestTimeTooSkewed(
            "The difference between the request time and the current time is too large."
        )


def _body_hash(auth: AuthInfo, service: str, computed: str | None) -> str:
    """The payload hash the canonical request is built with.

    S3 trusts the declared x-amz-content-sha256 here and verifies the body against it
    as it streams. Every other service (STS, IAM) signs the body itself: the hash is
    the one computed from the bytes received, and a declared value (UNSIGNED-PAYLOAD,
    another body's hash) that differs from it is refused, so that no byte of the body
    goes unsigned.
    """
    if service == "s3":
        if not auth.payload_hash:
            raise InvalidRequest("Missing required header for this request: x-amz-content-sha256")
        return auth.payload_hash
    if computed is None:
        raise ValueError("a non-S3 request is verified with its body's SHA-256")
    if auth.payload_hash and not hmac.compare_digest(auth.payload_hash, computed):
        raise XAmzContentSHA256Mismatch(
            "The request body is not covered by the signature: its SHA-256 is not the "
            "signed x-amz-content-sha256 (the body of this API is always signed)."
        )
    return computed


def verify(
    auth: AuthInfo,
    secret_key: str,
    method: str,
    raw_path: str,
    raw_query: str,
    headers: Mapping[str, str],
    *,
    now: datetime,
    region: str,
    service: str = "s3",
    max_skew: timedelta = timedelta(minutes=15),
    payload_hash: str | None = None,
) -> SigningContext:
    """Check the scope, the signed headers, the time and the signature of a request.

    `raw_path` and `raw_query` are as sent (percent-encoded); `headers` has lower-case
    names. `payload_hash` (the body's SHA-256 hex, computed from the bytes received) is
    required for a non-S3 request (STS/IAM), whose body is always signed. Returns what
    aws-chunked bodies need.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    _check_scope(auth, region, service)
    _check_signed_headers(auth, headers)
    _check_time(auth, now, max_skew)

    body_hash = _body_hash(auth, service, payload_hash)
    amz_date = format_amz_date(auth.amz_date)
    scope = credential_scope(auth.date, auth.region, auth.service)
    key = signing_key(secret_key, auth.date, auth.region, auth.service)
    exclude = _PRESIGN_SIGNATURE if auth.presigned else ()

    # First the canonical form (what AWS computes), then the path and query exactly as
    # sent (what botocore signs when handed an unencoded URL). Both derive from the bytes
    # received, so accepting either lets no one change the request.
    candidates = [(canonical_uri(raw_path, service), canonical_query(raw_query, exclude=exclude))]
    as_sent = (
        canonical_uri_as_sent(raw_path) if service == "s3" else candidates[0][0],
        canonical_query_as_sent(raw_query, exclude=exclude),
    )
    if as_sent != candidates[0]:
        candidates.append(as_sent)
    matched = False
    for uri, query in candidates:
        canonical = canonical_request(method, uri, query, headers, auth.signed_headers, body_hash)
        expected = signature(key, string_to_sign(amz_date, scope, canonical))
        matched |= hmac.compare_digest(expected, auth.signature)
    if not matched:
        raise SignatureDoesNotMatch()
    return SigningContext(
        signing_key=key, seed_signature=auth.signature, amz_date_str=amz_date, scope=scope
    )
