"""sign_request for the upstream side: botocore signs the same, verify accepts it."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote, urlsplit

import pytest

from iamgw.sigv4 import (
    UNSIGNED_PAYLOAD,
    Credentials,
    parse_auth,
    sha256_hex,
    sign_request,
    signing_key,
    verify,
)
from tests.sigv4.sigv4_helpers import AK, NOW, REGION, SK, boto_sign

CREDS = Credentials(AK, SK)
KEYS = ["plain", "a b", "a+b", "100%", "caf\u00e9/\u2603", "~*=", "a//b", "../x"]
URLS = [
    "http://127.0.0.1:8333/bucket/{key}",
    "https://node.example:443/bucket/{key}?uploadId=abc%2Fdef&partNumber=2",
    "http://node.example:80/bucket/{key}?prefix=a%20b&list-type=2",
    "https://bucket.s3.example.com/{key}?tagging",
]


def _wire(url: str, headers: dict[str, str], added: dict[str, str]) -> tuple[str, str, dict]:  # type: ignore[type-arg]
    parts = urlsplit(url)
    host = parts.netloc.removesuffix(":80").removesuffix(":443")
    wire = {k.lower(): v for k, v in {**headers, **added}.items()} | {"host": host}
    return parts.path, parts.query, wire


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("template", URLS)
@pytest.mark.parametrize("token", [None, "FwoGZXIvYXdzE+/="])
def test_matches_botocore_and_verifies(key: str, template: str, token: str | None) -> None:
    url = template.format(key=quote(key, safe="/~"))
    body = b"payload"
    headers = {"Content-Type": "text/plain", "X-Amz-Meta-Who": " a  b ", "Content-MD5": "abc="}
    creds = Credentials(AK, SK, token)
    added = sign_request("PUT", url, headers, sha256_hex(body), creds, region=REGION, now=NOW)
    assert set(added) == {"Authorization", "x-amz-date", "x-amz-content-sha256"} | (
        {"x-amz-security-token"} if token else set()
    )
    botocore = boto_sign("PUT", url, headers=headers, body=body, token=token)
    assert added["Authorization"] == botocore.headers["authorization"]

    path, query, wire = _wire(url, headers, added)
    auth = parse_auth("PUT", path, query, wire)
    assert auth is not None and auth.security_token == token
    verify(auth, SK, "PUT", path, query, wire, now=NOW + timedelta(minutes=5), region=REGION)


def test_hop_headers_are_not_signed() -> None:
    headers = {
        "User-Agent": "aws-cli",
        "Content-Length": "7",
        "Authorization": "AWS4-HMAC-SHA256 client's",
        "Transfer-Encoding": "chunked",
        "Host": "gateway:9000",
        "X-Amz-Date": "19700101T000000Z",
        "X-Amz-Acl": "private",
    }
    added = sign_request(
        "PUT", "http://n:1/b/k", headers, UNSIGNED_PAYLOAD, CREDS, region=REGION, now=NOW
    )
    assert "SignedHeaders=host;x-amz-acl;x-amz-content-sha256;x-amz-date," in added["Authorization"]
    assert added["x-amz-date"] == "20261127T060000Z"
    wire = {k.lower(): v for k, v in headers.items()} | {k.lower(): v for k, v in added.items()}
    wire["host"] = "n:1"
    del wire["authorization"]
    wire["authorization"] = added["Authorization"]
    auth = parse_auth("PUT", "/b/k", "", wire)
    assert auth is not None and auth.payload_hash == UNSIGNED_PAYLOAD
    verify(auth, SK, "PUT", "/b/k", "", wire, now=NOW, region=REGION)


def test_extra_signed_headers() -> None:
    added = sign_request(
        "GET",
        "http://n/b/k",
        {"Range": "bytes=0-1"},
        UNSIGNED_PAYLOAD,
        CREDS,
        region=REGION,
        now=NOW,
        extra_signed=["range"],
    )
    assert "SignedHeaders=host;range;" in added["Authorization"]


def test_other_service() -> None:
    body = b"Action=GetCallerIdentity&Version=2011-06-15"
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    added = sign_request(
        "POST",
        "https://sts.example/",
        headers,
        sha256_hex(body),
        CREDS,
        region=REGION,
        service="sts",
        now=NOW,
    )
    assert "/us-east-1/sts/aws4_request" in added["Authorization"]
    wire = {"content-type": headers["Content-Type"], "host": "sts.example"} | {
        k.lower(): v for k, v in added.items()
    }
    auth = parse_auth("POST", "/", "", wire)
    assert auth is not None
    verify(auth, SK, "POST", "/", "", wire, now=NOW, region=REGION, service="sts",
           payload_hash=sha256_hex(body))  # fmt: skip


def test_credentials_repr_hides_the_secret() -> None:
    assert SK not in repr(Credentials(AK, SK, "token"))


def test_signing_key_is_cached() -> None:
    signing_key.cache_clear()
    first = signing_key(SK, "20261127", REGION, "s3")
    assert signing_key(SK, "20261127", REGION, "s3") is first
    assert signing_key.cache_info().hits == 1
    assert signing_key(SK, "20261128", REGION, "s3") != first


def test_client_session_token_is_not_forwarded_signed() -> None:
    headers = {"X-Amz-Security-Token": "client-token", "X-Amz-Meta-A": "1"}
    added = sign_request(
        "GET", "http://n/b/k", headers, UNSIGNED_PAYLOAD, CREDS, region=REGION, now=NOW
    )
    assert "x-amz-security-token" not in added["Authorization"]
    ours = sign_request(
        "GET",
        "http://n/b/k",
        headers,
        UNSIGNED_PAYLOAD,
        Credentials(AK, SK, "gw-token"),
        region=REGION,
        now=NOW,
    )
    assert ours["x-amz-security-token"] == "gw-token"
    assert "x-amz-security-token" in ours["Authorization"]
