"""What a request claims: the Authorization header or the presigned query parameters.

Parsing needs no secret; it is strict and raises AWS's errors with AWS-like messages.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import unquote_plus

from iamgw.errors import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    InvalidArgument,
    InvalidRequest,
)
from iamgw.sigv4.canonical import ALGORITHM, TERMINATOR, UNSIGNED_PAYLOAD, split_query
from iamgw.sigv4.payload import payload_mode
from iamgw.sigv4.signing import AMZ_DATE_FORMAT


@dataclass(frozen=True)
class AuthInfo:
    """What the request claims, before the secret is known."""

    access_key: str
    date: str  # YYYYMMDD of the credential scope
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str
    amz_date: datetime  # UTC aware
    presigned: bool
    expires: int | None  # X-Amz-Expires (presigned)
    payload_hash: str  # "" when a non-S3 request carries no x-amz-content-sha256
    security_token: str | None

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{TERMINATOR}"


_NOT_SUPPORTED = (
    "The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256."
)
_SIGV2 = _NOT_SUPPORTED + " (Signature Version 2 is not supported.)"
_ONE_MECHANISM = (
    "Only one auth mechanism allowed; only the X-Amz-Algorithm query parameter, "
    "Signature query string parameter or the Authorization header should be specified"
)
_CREDENTIAL_FORM = (
    'the Credential is mal-formed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".'
)
_HEADER_PREFIX = "The authorization header is malformed; "
_QUERY_PREFIX = "Error parsing the X-Amz-Credential parameter; "
_PRESIGNED_PARAMS = (
    "X-Amz-Algorithm",
    "X-Amz-Credential",
    "X-Amz-Signature",
    "X-Amz-Date",
    "X-Amz-SignedHeaders",
    "X-Amz-Expires",
)
# Every parameter a presigned URL carries for itself (the node is never sent them).
PRESIGN_PARAMETERS = (*_PRESIGNED_PARAMS, "X-Amz-Security-Token", "X-Amz-Content-Sha256")
_SIGNATURE = re.compile(r"[0-9a-f]{64}")
_DATE8 = re.compile(r"\d{8}")
_HEADER_NAME = re.compile(r"[a-z0-9!#$%&'*+.^_`|~-]+")
_AMZ_DATE = re.compile(r"\d{8}T\d{6}Z")
_EXPIRES = re.compile(r"[0-9]{1,10}")  # ASCII digits; longer values are past any week
_MAX_DATE_LENGTH = 64


def parse_amz_date(value: str) -> datetime | None:
    """`YYYYMMDDTHHMMSSZ` as a UTC datetime, or None."""
    if not _AMZ_DATE.fullmatch(value):
        return None
    try:
        return datetime.strptime(value, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def _http_date(value: str) -> datetime | None:
    if len(value) > _MAX_DATE_LENGTH:
        return None
    try:
        moment = parsedate_to_datetime(value)
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        return moment.astimezone(UTC)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None  # `Fri, 31 Dec 9999 23:59:59 -0100` is past datetime's last moment


def _credential(value: str, malformed: type[Exception], prefix: str) -> tuple[str, ...]:
    parts = value.split("/")
    if len(parts) != 5 or not all(parts[:4]) or not _DATE8.fullmatch(parts[1]):
        raise malformed(prefix + _CREDENTIAL_FORM)
    if parts[4] != TERMINATOR:
        raise malformed(
            f'{prefix}incorrect terminal "{parts[4]}". This endpoint uses "{TERMINATOR}".'
        )
    return tuple(parts[:4])


def _signed_headers(value: str, malformed: type[Exception], prefix: str) -> tuple[str, ...]:
    names = tuple(value.split(";"))
    if not all(_HEADER_NAME.fullmatch(n) for n in names) or len(set(names)) != len(names):
        raise malformed(f"{prefix}the SignedHeaders {value!r} are malformed.")
    return names


def _query_params(raw_query: str) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for name, value in split_query(raw_query):
        params.setdefault(unquote_plus(name), []).append(unquote_plus(value))
    return params


def parse_auth(
    method: str, raw_path: str, raw_query: str, headers: Mapping[str, str]
) -> AuthInfo | None:
    """The SigV4 claims of a request; None for an anonymous request.

    `headers` has lower-case names. Header auth requires x-amz-content-sha256 for S3.
    """
    del method, raw_path  # part of the request the signature covers, not of its claims
    params = _query_params(raw_query)
    authorization = headers.get("authorization")
    if authorization is not None and "X-Amz-Algorithm" in params:
        raise InvalidArgument(_ONE_MECHANISM)
    if authorization is not None:
        return _parse_header(authorization, headers)
    if "X-Amz-Algorithm" in params:
        return _parse_query(params)
    if "AWSAccessKeyId" in params and "Signature" in params:
        raise InvalidRequest(_SIGV2)
    return None


def _parse_header(authorization: str, headers: Mapping[str, str]) -> AuthInfo:
    malformed, prefix = AuthorizationHeaderMalformed, _HEADER_PREFIX
    scheme, _, rest = authorization.strip().partition(" ")
    if scheme == "AWS":
        raise InvalidRequest(_SIGV2)
    if scheme != ALGORITHM:
        raise InvalidRequest(_NOT_SUPPORTED)
    fields: dict[str, str] = {}
    for component in rest.split(","):
        key, sep, value = component.strip().partition("=")
        if not sep or key not in ("Credential", "SignedHeaders", "Signature") or key in fields:
            raise malformed(
                f'{prefix}the authorization component "{component.strip()}" is malformed.'
            )
        fields[key] = value.strip()
    missing = [k for k in ("Credential", "SignedHeaders", "Signature") if k not in fields]
    if missing:
        raise malformed(
            f"{prefix}the authorization header requires three components: "
            f"Credential, SignedHeaders, and Signature (missing {', '.join(missing)})."
        )
    access_key, date, region, service = _credential(fields["Credential"], malformed, prefix)
    signed = _signed_headers(fields["SignedHeaders"], malformed, prefix)
    sig = fields["Signature"]
    if not _SIGNATURE.fullmatch(sig):
        raise malformed(f"{prefix}the Signature is not 64 lower-case hexadecimal digits.")

    if "x-amz-date" in headers:
        amz_date = parse_amz_date(headers["x-amz-date"].strip())
    else:
        amz_date = _http_date(headers["date"]) if "date" in headers else None
    if amz_date is None:
        raise AccessDenied("AWS authentication requires a valid Date or x-amz-date header")

    payload_hash = headers.get("x-amz-content-sha256", "").strip()
    if payload_hash:
        payload_mode(payload_hash)
    elif service == "s3":
        raise InvalidRequest("Missing required header for this request: x-amz-content-sha256")
    return AuthInfo(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        signed_headers=signed,
        signature=sig,
        amz_date=amz_date,
        presigned=False,
        expires=None,
        payload_hash=payload_hash,
        security_token=headers.get("x-amz-security-token"),
    )


def _parse_query(params: dict[str, list[str]]) -> AuthInfo:
    malformed = AuthorizationQueryParametersError
    missing = [p for p in _PRESIGNED_PARAMS if p not in params]
    if missing:
        raise malformed(
            "Query-string authentication version 4 requires the X-Amz-Algorithm, "
            "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
            "and X-Amz-Expires parameters."
        )
    repeated = [p for p in PRESIGN_PARAMETERS if len(params.get(p, ())) > 1]
    if repeated:
        raise malformed(f"The {repeated[0]} parameter must appear once.")
    one = {name: values[0] for name, values in params.items()}
    if one["X-Amz-Algorithm"] != ALGORITHM:
        raise malformed(f'X-Amz-Algorithm only supports "{ALGORITHM}"')
    access_key, date, region, service = _credential(
        one["X-Amz-Credential"], malformed, _QUERY_PREFIX
    )
    signed = _signed_headers(one["X-Amz-SignedHeaders"], malformed, "")
    sig = one["X-Amz-Signature"]
    if not _SIGNATURE.fullmatch(sig):
        raise malformed("X-Amz-Signature must be 64 lower-case hexadecimal digits.")
    amz_date = parse_amz_date(one["X-Amz-Date"])
    if amz_date is None:
        raise malformed("X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\"")
    expires_text = one["X-Amz-Expires"]
    if not _EXPIRES.fullmatch(expires_text):
        raise malformed("X-Amz-Expires should be a number")
    # S3 presigns UNSIGNED-PAYLOAD; other services sign the body's hash, which the
    # verifier computes from the bytes received (botocore's SigV4QueryAuth).
    default = UNSIGNED_PAYLOAD if service == "s3" else ""
    payload_hash = one.get("X-Amz-Content-Sha256", default)
    if payload_hash:
        payload_mode(payload_hash)
    return AuthInfo(
        access_key=access_key,
        date=date,
        region=region,
        service=service,
        signed_headers=signed,
        signature=sig,
        amz_date=amz_date,
        presigned=True,
        expires=int(expires_text),
        payload_hash=payload_hash,
        security_token=one.get("X-Amz-Security-Token"),
    )
