"""parse_auth: anonymous, header and query forms, and every malformed shape."""

from __future__ import annotations

import pytest

from iamgw.errors import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    InvalidArgument,
    InvalidRequest,
)
from iamgw.sigv4 import parse_auth
from tests.sigv4.sigv4_helpers import AMZ_NOW, ENDPOINT, NOW, boto_sign

SIG = "a" * 64
CRED = "AKIDEXAMPLE/20261127/us-east-1/s3/aws4_request"
GOOD = f"AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host;x-amz-date, Signature={SIG}"
BASE = {"host": "h", "x-amz-date": AMZ_NOW, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"}


def _headers(authorization: str, **extra: str) -> dict[str, str]:
    return {**BASE, "authorization": authorization, **extra}


def test_anonymous() -> None:
    assert parse_auth("GET", "/b/k", "prefix=a", {"host": "h"}) is None


def test_header_form() -> None:
    auth = parse_auth("GET", "/b/k", "", _headers(GOOD, **{"x-amz-security-token": "tok"}))
    assert auth is not None
    assert (auth.access_key, auth.date, auth.region, auth.service) == (
        "AKIDEXAMPLE",
        "20261127",
        "us-east-1",
        "s3",
    )
    assert auth.signed_headers == ("host", "x-amz-date")
    assert auth.signature == SIG and auth.amz_date == NOW and not auth.presigned
    assert auth.expires is None and auth.payload_hash == "UNSIGNED-PAYLOAD"
    assert auth.security_token == "tok"
    assert auth.scope == "20261127/us-east-1/s3/aws4_request"


def test_header_form_without_spaces_after_commas() -> None:
    auth = parse_auth("GET", "/", "", _headers(GOOD.replace(", ", ",")))
    assert auth is not None and auth.signature == SIG


def test_query_form() -> None:
    signed = boto_sign("GET", ENDPOINT + "/b/k", presign=True, expires=60, token="T/+=")
    auth = parse_auth(*signed.args())
    assert auth is not None and auth.presigned and auth.expires == 60
    assert auth.security_token == "T/+=" and auth.amz_date == NOW


MALFORMED_HEADERS = [
    f"AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host",
    f"AWS4-HMAC-SHA256 Credential={CRED}, Signature={SIG}",
    f"AWS4-HMAC-SHA256 SignedHeaders=host, Signature={SIG}",
    "AWS4-HMAC-SHA256",
    "AWS4-HMAC-SHA256 ",
    f"AWS4-HMAC-SHA256 Credential={CRED}, Credential={CRED}, SignedHeaders=host, Signature={SIG}",
    f"AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host, Signature={SIG}, Extra=1",
    f"AWS4-HMAC-SHA256 Credential={CRED} SignedHeaders=host, Signature={SIG}",
    f"AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host, Signature={SIG[:-1]}",
    f"AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host, Signature={SIG.upper()}",
    f"AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=, Signature={SIG}",
    f"AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host;;x, Signature={SIG}",
    f"AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=Host, Signature={SIG}",
    f"AWS4-HMAC-SHA256 Credential={CRED}, SignedHeaders=host;host, Signature={SIG}",
    f"AWS4-HMAC-SHA256 Credential=AKID/20261127/us-east-1/s3, SignedHeaders=host, Signature={SIG}",
    f"AWS4-HMAC-SHA256 Credential=AKID/2026-11-27/us-east-1/s3/aws4_request, "
    f"SignedHeaders=host, Signature={SIG}",
    f"AWS4-HMAC-SHA256 Credential=AKID/20261127//s3/aws4_request, SignedHeaders=host, "
    f"Signature={SIG}",
    f"AWS4-HMAC-SHA256 Credential=/20261127/us-east-1/s3/aws4_request, SignedHeaders=host, "
    f"Signature={SIG}",
    f"AWS4-HMAC-SHA256 Credential=AKID/20261127/us-east-1/s3/aws4_reques, SignedHeaders=host, "
    f"Signature={SIG}",
    f"AWS4-HMAC-SHA256 Credential=AK/ID/20261127/us-east-1/s3/aws4_request, "
    f"SignedHeaders=host, Signature={SIG}",
]


@pytest.mark.parametrize("authorization", MALFORMED_HEADERS)
def test_malformed_authorization(authorization: str) -> None:
    with pytest.raises(AuthorizationHeaderMalformed, match="authorization header is malformed"):
        parse_auth("GET", "/", "", _headers(authorization))


@pytest.mark.parametrize(
    "authorization",
    ["AWS AKIDEXAMPLE:c2lnbmF0dXJl", "AWS4-ECDSA-P256-SHA256 Credential=x", "Bearer abc", ""],
)
def test_unsupported_mechanisms(authorization: str) -> None:
    with pytest.raises(InvalidRequest, match="Please use AWS4-HMAC-SHA256"):
        parse_auth("GET", "/", "", _headers(authorization))


def test_sigv2_says_so() -> None:
    with pytest.raises(InvalidRequest, match="Signature Version 2"):
        parse_auth("GET", "/", "", _headers("AWS AKIDEXAMPLE:c2ln"))
    with pytest.raises(InvalidRequest, match="Signature Version 2"):
        parse_auth("GET", "/", "AWSAccessKeyId=AK&Expires=1&Signature=x", {"host": "h"})


@pytest.mark.parametrize(
    "headers",
    [
        {"host": "h", "x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
        {"host": "h", "x-amz-date": "2026-11-27T06:00:00Z", "x-amz-content-sha256": "x" * 0},
        {"host": "h", "x-amz-date": "20261327T060000Z"},
        {"host": "h", "date": "not a date"},
    ],
)
def test_missing_or_bad_date(headers: dict[str, str]) -> None:
    headers = {"x-amz-content-sha256": "UNSIGNED-PAYLOAD", **headers, "authorization": GOOD}
    with pytest.raises(AccessDenied, match="valid Date or x-amz-date"):
        parse_auth("GET", "/", "", headers)


def test_http_date_header() -> None:
    headers = {
        "host": "h",
        "date": "Fri, 27 Nov 2026 06:00:00 GMT",
        "authorization": GOOD,
        "x-amz-content-sha256": "UNSIGNED-PAYLOAD",
    }
    auth = parse_auth("GET", "/", "", headers)
    assert auth is not None and auth.amz_date == NOW


def test_s3_needs_content_sha256() -> None:
    headers = _headers(GOOD)
    del headers["x-amz-content-sha256"]
    with pytest.raises(InvalidRequest, match="x-amz-content-sha256"):
        parse_auth("GET", "/", "", headers)


@pytest.mark.parametrize(
    "value",
    ["abc", "g" * 64, "STREAMING-AWS4-ECDSA-P256-SHA256-PAYLOAD", "unsigned-payload", "a" * 63],
)
def test_bad_content_sha256(value: str) -> None:
    with pytest.raises(InvalidArgument, match="x-amz-content-sha256 must be"):
        parse_auth("GET", "/", "", _headers(GOOD, **{"x-amz-content-sha256": value}))


def test_both_mechanisms() -> None:
    with pytest.raises(InvalidArgument, match="Only one auth mechanism"):
        parse_auth("GET", "/", "X-Amz-Algorithm=AWS4-HMAC-SHA256", _headers(GOOD))


QUERY = {
    "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
    "X-Amz-Credential": CRED.replace("/", "%2F"),
    "X-Amz-Date": AMZ_NOW,
    "X-Amz-Expires": "60",
    "X-Amz-SignedHeaders": "host",
    "X-Amz-Signature": SIG,
}


def _query(**changes: str | None) -> str:
    params = {**QUERY, **changes}
    return "&".join(f"{k}={v}" for k, v in params.items() if v is not None)


def test_query_minimal() -> None:
    auth = parse_auth("GET", "/b/k", _query(), {"host": "h"})
    assert auth is not None and auth.presigned and auth.payload_hash == "UNSIGNED-PAYLOAD"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"X-Amz-Signature": None}, "requires the X-Amz-Algorithm"),
        ({"X-Amz-Expires": None}, "requires the X-Amz-Algorithm"),
        ({"X-Amz-Credential": None}, "requires the X-Amz-Algorithm"),
        ({"X-Amz-Algorithm": "AWS4-HMAC-SHA1"}, "only supports"),
        ({"X-Amz-Credential": "AKID%2F20261127%2Fus-east-1%2Fs3"}, "Credential is mal-formed"),
        ({"X-Amz-Date": "20261127"}, "ISO8601"),
        ({"X-Amz-Expires": "-1"}, "number"),
        ({"X-Amz-Expires": "1e3"}, "number"),
        ({"X-Amz-Signature": "xyz"}, "X-Amz-Signature"),
        ({"X-Amz-SignedHeaders": "host;;"}, "SignedHeaders"),
    ],
)
def test_malformed_query(changes: dict[str, str | None], message: str) -> None:
    with pytest.raises(AuthorizationQueryParametersError, match=message):
        parse_auth("GET", "/b/k", _query(**changes), {"host": "h"})


def test_query_parameter_twice() -> None:
    with pytest.raises(AuthorizationQueryParametersError, match="once"):
        parse_auth("GET", "/", _query() + f"&X-Amz-Signature={'b' * 64}", {"host": "h"})


def test_query_content_sha256() -> None:
    auth = parse_auth("PUT", "/", _query() + "&X-Amz-Content-Sha256=" + "c" * 64, {"host": "h"})
    assert auth is not None and auth.payload_hash == "c" * 64
    with pytest.raises(InvalidArgument):
        parse_auth("PUT", "/", _query() + "&X-Amz-Content-Sha256=bogus", {"host": "h"})
