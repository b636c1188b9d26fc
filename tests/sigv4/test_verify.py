"""Attacks on header and presigned auth: each must fail with AWS's error."""

from __future__ import annotations

import dataclasses
from datetime import timedelta

import pytest

from iamgw.errors import (
    AccessDenied,
    AuthorizationHeaderMalformed,
    AuthorizationQueryParametersError,
    RequestTimeTooSkewed,
    SignatureDoesNotMatch,
)
from iamgw.sigv4 import AuthInfo, SigningContext, parse_auth, signing_key, verify
from tests.sigv4.sigv4_helpers import AMZ_NOW, ENDPOINT, NOW, REGION, SK, Signed, boto_sign

URL = ENDPOINT + "/bucket/some%20key?tagging="
SCOPE = "20261127/us-east-1/s3/aws4_request"


def _header_request(**kw) -> Signed:  # type: ignore[no-untyped-def]
    return boto_sign("PUT", URL, body=b"data", headers={"X-Amz-Meta-Owner": "alice"}, **kw)


def _auth(signed: Signed) -> AuthInfo:
    auth = parse_auth(*signed.args())
    assert auth is not None
    return auth


def _verify(signed: Signed, **kw) -> SigningContext:  # type: ignore[no-untyped-def]
    kw.setdefault("now", NOW)
    kw.setdefault("region", REGION)
    secret = kw.pop("secret", SK)
    return verify(_auth(signed), secret, *signed.args(), **kw)


def test_valid_header_request() -> None:
    ctx = _verify(_header_request())
    assert ctx.scope == SCOPE
    assert ctx.amz_date_str == AMZ_NOW
    assert ctx.signing_key == signing_key(SK, "20261127", REGION, "s3")


def test_wrong_secret() -> None:
    with pytest.raises(SignatureDoesNotMatch):
        _verify(_header_request(), secret=SK[:-1] + "X")


@pytest.mark.parametrize(
    "tamper",
    [
        pytest.param(lambda s: s.headers.update({"x-amz-meta-owner": "mallory"}), id="header"),
        pytest.param(lambda s: s.headers.update({"host": "evil:9000"}), id="host"),
        pytest.param(lambda s: setattr(s, "raw_query", "acl="), id="query"),
        pytest.param(lambda s: setattr(s, "raw_query", "tagging=&versionId=1"), id="query-add"),
        pytest.param(lambda s: setattr(s, "raw_path", "/bucket/other%20key"), id="path"),
        pytest.param(lambda s: setattr(s, "raw_path", "/other/some%20key"), id="bucket"),
        pytest.param(lambda s: setattr(s, "raw_path", "/bucket/../other/x"), id="dotdot"),
        pytest.param(lambda s: setattr(s, "method", "DELETE"), id="method"),
        pytest.param(
            lambda s: s.headers.update({"x-amz-content-sha256": "0" * 64}), id="payload-hash"
        ),
    ],
)
def test_tampered_request(tamper) -> None:  # type: ignore[no-untyped-def]
    signed = _header_request()
    auth = _auth(signed)
    tamper(signed)
    with pytest.raises(SignatureDoesNotMatch):
        verify(auth, SK, *signed.args(), now=NOW, region=REGION)


def test_tampered_signature() -> None:
    signed = _header_request()
    auth = _auth(signed)
    forged = dataclasses.replace(auth, signature="0" * 64)
    with pytest.raises(SignatureDoesNotMatch):
        verify(forged, SK, *signed.args(), now=NOW, region=REGION)


@pytest.mark.parametrize("name", ["x-amz-acl", "x-amz-meta-extra", "x-amz-security-token"])
def test_unsigned_amz_header(name: str) -> None:
    signed = _header_request()
    signed.headers[name] = "public-read"
    with pytest.raises(AccessDenied, match="not signed"):
        _verify(signed)


def test_date_header_must_be_signed_when_it_dates_the_request() -> None:
    signed = _header_request()
    auth = _auth(signed)
    del signed.headers["x-amz-date"]
    signed.headers["date"] = "Fri, 27 Nov 2026 06:00:00 GMT"
    with pytest.raises(AccessDenied, match="date"):
        verify(auth, SK, *signed.args(), now=NOW, region=REGION)


def test_date_header_signed_by_botocore() -> None:
    signed = boto_sign("GET", URL, headers={"Date": "x"})  # botocore rewrites it to now
    auth = _auth(signed)
    assert "x-amz-date" not in signed.headers and auth.amz_date == NOW
    assert verify(auth, SK, *signed.args(), now=NOW, region=REGION).amz_date_str == AMZ_NOW


@pytest.mark.parametrize("minutes", [-16, 16, 60 * 24])
def test_clock_skew(minutes: int) -> None:
    signed = _header_request(now=NOW + timedelta(minutes=minutes))
    with pytest.raises(RequestTimeTooSkewed):
        _verify(signed)


@pytest.mark.parametrize("minutes", [-14, 14])
def test_within_skew(minutes: int) -> None:
    when = NOW + timedelta(minutes=minutes)
    assert _verify(_header_request(now=when)).amz_date_str == when.strftime("%Y%m%dT%H%M%SZ")


def test_scope_date_differs_from_request_date() -> None:
    signed = _header_request()
    signed.headers["authorization"] = signed.headers["authorization"].replace(
        "/20261127/", "/20261126/"
    )
    with pytest.raises(AuthorizationHeaderMalformed, match="Invalid credential date"):
        _verify(signed)


def test_wrong_region() -> None:
    signed = _header_request(region="eu-west-1")
    with pytest.raises(
        AuthorizationHeaderMalformed, match="the region 'eu-west-1' is wrong; expecting 'us-east-1'"
    ):
        _verify(signed)


def test_wrong_service() -> None:
    signed = boto_sign("GET", URL, service="iam")
    with pytest.raises(AuthorizationHeaderMalformed, match='incorrect service "iam"'):
        _verify(signed)


def test_host_must_be_signed() -> None:
    signed = _header_request()
    auth = dataclasses.replace(
        _auth(signed), signed_headers=tuple(h for h in _auth(signed).signed_headers if h != "host")
    )
    with pytest.raises(AuthorizationHeaderMalformed, match="host"):
        verify(auth, SK, *signed.args(), now=NOW, region=REGION)


# --- presigned ---------------------------------------------------------------------------


def _presigned(method: str = "GET", expires: int = 3600, **kw) -> Signed:  # type: ignore[no-untyped-def]
    return boto_sign(method, ENDPOINT + "/bucket/key", presign=True, expires=expires, **kw)


def test_presigned_valid_until_expiry() -> None:
    signed = _presigned(expires=600)
    assert _verify(signed, now=NOW + timedelta(seconds=600)).scope == SCOPE
    assert _verify(signed, now=NOW - timedelta(minutes=14)).scope == SCOPE  # client clock ahead


def test_presigned_after_expiry() -> None:
    signed = _presigned(expires=600)
    with pytest.raises(AccessDenied, match="Request has expired"):
        _verify(signed, now=NOW + timedelta(seconds=601))


def test_presigned_week_long_is_accepted_until_the_week_ends() -> None:
    signed = _presigned(expires=604800)
    assert _verify(signed, now=NOW + timedelta(days=6, hours=23)).scope == SCOPE
    with pytest.raises(AccessDenied):
        _verify(signed, now=NOW + timedelta(days=7, seconds=1))


@pytest.mark.parametrize("expires", [604801, 0, 10**9])
def test_presigned_expires_out_of_range(expires: int) -> None:
    signed = _presigned(expires=expires)
    with pytest.raises(AuthorizationQueryParametersError, match="X-Amz-Expires"):
        _verify(signed)


def test_presigned_from_the_future() -> None:
    signed = _presigned(now=NOW + timedelta(minutes=16))
    with pytest.raises(RequestTimeTooSkewed):
        _verify(signed)


@pytest.mark.parametrize(
    ("signed_for", "used_with"),
    [("GET", "PUT"), ("GET", "DELETE"), ("PUT", "GET"), ("GET", "HEAD")],
)
def test_presigned_used_with_another_method(signed_for: str, used_with: str) -> None:
    signed = _presigned(signed_for)
    signed.method = used_with
    with pytest.raises(SignatureDoesNotMatch):
        _verify(signed)


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda q: q.replace("X-Amz-Expires=3600", "X-Amz-Expires=7200"), id="expires"),
        pytest.param(lambda q: q + "&versionId=2", id="extra-param"),
        pytest.param(lambda q: q.replace("us-east-1", "us-east-2"), id="credential"),
    ],
)
def test_presigned_tampered_query(change) -> None:  # type: ignore[no-untyped-def]
    signed = _presigned()
    auth = _auth(signed)
    signed.raw_query = change(signed.raw_query)
    with pytest.raises(SignatureDoesNotMatch):
        verify(auth, SK, *signed.args(), now=NOW, region=REGION)


def test_presigned_other_path() -> None:
    signed = _presigned()
    signed.raw_path = "/bucket/key2"
    with pytest.raises(SignatureDoesNotMatch):
        _verify(signed)


def test_presigned_unsigned_amz_header() -> None:
    signed = _presigned("PUT")
    signed.headers["x-amz-acl"] = "public-read"
    with pytest.raises(AccessDenied, match="x-amz-acl"):
        _verify(signed)


def test_presigned_wrong_region_is_a_query_error() -> None:
    signed = _presigned(region="eu-west-1")
    with pytest.raises(AuthorizationQueryParametersError, match="the region 'eu-west-1' is wrong"):
        _verify(signed)


def test_naive_now_is_utc() -> None:
    assert _verify(_header_request(), now=NOW.replace(tzinfo=None)).amz_date_str == AMZ_NOW
