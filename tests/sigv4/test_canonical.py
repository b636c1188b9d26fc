"""Canonicalisation cross-checked against botocore's signers, then verified."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from botocore.utils import percent_encode_sequence

from iamgw.sigv4 import (
    EMPTY_SHA256,
    canonical_query,
    canonical_request,
    canonical_uri,
    credential_scope,
    parse_auth,
    sha256_hex,
    string_to_sign,
    verify,
)
from iamgw.sigv4.canonical import canonical_query_as_sent, canonical_uri_as_sent
from tests.sigv4.sigv4_helpers import AMZ_NOW, ENDPOINT, NOW, REGION, SK, boto_sign

KEYS = [
    "plain.txt",
    "a b",
    "a+b",
    "100%",
    "100%25",
    "caf\u00e9/\u00fc\u00f1\u00ee\u00e7\u00f8d\u00e9 \u2603.txt",
    "~tilde~",
    "star*",
    "k=v&x=y",
    "a//b",
    "../x/./y/..",
    "a%2Fb",
    "trailing/",
    "!$'()*,;:@[]",
    "\u65e5\u672c\u8a9e",
    "tab\tand?hash#",
]

QUERIES = [
    {},
    {"prefix": "a b+c", "delimiter": "/"},
    {"list-type": "2", "prefix": "", "max-keys": "10"},
    {"prefix": "caf\u00e9 ~*", "start-after": "x=y&z"},
    {"uploads": ""},
    {"versionId": "3/L4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo"},
]


def _ours(signed, service="s3"):  # type: ignore[no-untyped-def]
    auth = parse_auth(*signed.args())
    assert auth is not None
    exclude = ("X-Amz-Signature",) if auth.presigned else ()
    payload = auth.payload_hash or sha256_hex(signed.body)
    canonical = canonical_request(
        signed.method,
        canonical_uri(signed.raw_path, service),
        canonical_query(signed.raw_query, exclude=exclude),
        signed.headers,
        auth.signed_headers,
        payload,
    )
    sts = string_to_sign(AMZ_NOW, credential_scope(auth.date, REGION, service), canonical)
    return auth, canonical, sts


def _url(key: str, query: dict[str, str]) -> str:
    # As botocore's serializer builds it: the key encoded once with '/' and '~' kept.
    url = f"{ENDPOINT}/bucket/{quote(key, safe='/~')}"
    return url + ("?" + percent_encode_sequence(query) if query else "")


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("query", QUERIES, ids=lambda q: "&".join(q) or "none")
def test_header_auth_matches_botocore(key: str, query: dict[str, str]) -> None:
    signed = boto_sign("PUT", _url(key, query), body=b"hello", headers={"X-Amz-Meta-A": " x  y "})
    auth, canonical, sts = _ours(signed)
    assert canonical == signed.canonical
    assert sts == signed.string_to_sign
    ctx = verify(auth, SK, *signed.args(), now=NOW, region=REGION)
    assert ctx.seed_signature == auth.signature


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("method", ["GET", "PUT", "HEAD", "DELETE"])
def test_presigned_matches_botocore(key: str, method: str) -> None:
    signed = boto_sign(method, _url(key, {"x-id": "GetObject"}), presign=True, expires=900)
    assert "X-Amz-Signature=" in signed.raw_query  # appended by botocore after signing
    auth, canonical, sts = _ours(signed)
    assert canonical == signed.canonical
    assert sts == signed.string_to_sign


@pytest.mark.parametrize("key", KEYS)
@pytest.mark.parametrize("query", QUERIES[:4], ids=lambda q: "&".join(q) or "none")
def test_presigned_verifies(key: str, query: dict[str, str]) -> None:
    signed = boto_sign("GET", _url(key, query), presign=True, expires=900, token="TOKEN+/=")
    auth = parse_auth(*signed.args())
    assert auth is not None and auth.presigned and auth.expires == 900
    assert auth.payload_hash == "UNSIGNED-PAYLOAD"
    assert auth.security_token == "TOKEN+/="
    verify(auth, SK, *signed.args(), now=NOW, region=REGION)


# Paths and queries that were not encoded by the client: botocore signs them as sent,
# AWS (and iamgw's first candidate) re-encodes them; verify accepts both.
RAW = [
    ("/bucket/a b", ""),
    ("/bucket/a%2Fb", ""),
    ("/bucket/a%2fb", ""),
    ("/bucket/%7Etilde", ""),
    ("/bucket/k=v*", ""),
    ("/bucket//double//slash", ""),
    ("/bucket/../other/key", ""),
    ("/bucket/key", "prefix=a b"),
    ("/bucket/key", "prefix=a+b"),
    ("/bucket/key", "b=2&a=2&a=1&c&d="),
    ("/bucket/key", "prefix=%7e%2a"),
]


@pytest.mark.parametrize(("path", "query"), RAW)
def test_unencoded_requests_verify_as_botocore_signed_them(path: str, query: str) -> None:
    url = ENDPOINT + path + ("?" + query if query else "")
    signed = boto_sign("GET", url)
    auth = parse_auth(*signed.args())
    assert auth is not None
    as_sent = canonical_request(
        "GET",
        canonical_uri_as_sent(signed.raw_path),
        canonical_query_as_sent(signed.raw_query),
        signed.headers,
        auth.signed_headers,
        EMPTY_SHA256,
    )
    assert as_sent == signed.canonical
    verify(auth, SK, *signed.args(), now=NOW, region=REGION)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", "/"),
        ("/", "/"),
        ("/bucket/a%20b", "/bucket/a%20b"),
        ("/bucket/a b", "/bucket/a%20b"),
        ("/bucket/a+b", "/bucket/a%2Bb"),
        ("/bucket/a%2Bb", "/bucket/a%2Bb"),
        ("/bucket/a%2fb", "/bucket/a/b"),
        ("/bucket/%7e", "/bucket/~"),
        ("/bucket/100%", "/bucket/100%25"),
        ("/bucket/%zz", "/bucket/%25zz"),
        ("/bucket/caf\u00e9", "/bucket/caf%C3%A9"),
        ("/bucket//a/../b/./c", "/bucket//a/../b/./c"),
        ("/bucket/*=$", "/bucket/%2A%3D%24"),
    ],
)
def test_s3_canonical_uri(raw: str, expected: str) -> None:
    assert canonical_uri(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", "/"),
        ("/", "/"),
        ("/a//b/../c/./d/", "/a/c/d/"),
        ("/a%20b", "/a%2520b"),
        ("/~x", "/~x"),
    ],
)
def test_other_services_normalise_and_double_encode(raw: str, expected: str) -> None:
    assert canonical_uri(raw, "iam") == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("", ""),
        ("uploads", "uploads="),
        ("b=2&a=2&a=1", "a=1&a=2&b=2"),
        ("prefix=a+b&x=%7e%2A", "prefix=a%20b&x=~%2A"),
        ("p=caf%C3%A9", "p=caf%C3%A9"),
        ("p=a%2Fb", "p=a%2Fb"),
        ("p=a/b", "p=a%2Fb"),
        ("&&a=1&", "a=1"),
    ],
)
def test_canonical_query(raw: str, expected: str) -> None:
    assert canonical_query(raw) == expected


def test_canonical_query_excludes_the_signature() -> None:
    assert canonical_query("b=1&X-Amz-Signature=abc&a=", exclude=["X-Amz-Signature"]) == "a=&b=1"


@pytest.mark.parametrize(
    ("path", "body"),
    [("/", b"Action=ListUsers&Version=2010-05-08"), ("/a/../b//c", b"")],
)
def test_other_service_matches_botocore_sigv4auth(path: str, body: bytes) -> None:
    signed = boto_sign(
        "POST",
        ENDPOINT + path,
        body=body,
        service="iam",
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    auth, canonical, sts = _ours(signed, "iam")
    assert canonical == signed.canonical
    assert sts == signed.string_to_sign
    assert auth.payload_hash == ""
    verify(
        auth,
        SK,
        *signed.args(),
        now=NOW,
        region=REGION,
        service="iam",
        payload_hash=sha256_hex(body),
    )


def test_header_folding_matches_botocore() -> None:
    headers = {"X-Amz-Meta-Spaces": "  a   b \t c  ", "Content-Type": "text/plain"}
    signed = boto_sign("PUT", ENDPOINT + "/bucket/k", headers=headers, body=b"x")
    _, canonical, _ = _ours(signed)
    assert canonical == signed.canonical
    assert "x-amz-meta-spaces:a b c\n" in canonical
