"""The object browser's presign endpoint, as an HTTP client that keeps cookies: what it
refuses to sign, and that the URLs it signs are the session's own S3 calls on the
gateway's S3 path (its policies, its expiry, the Host they were signed for). The page
itself is driven by chromium in test_ui_browse.py."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import httpx
import pytest

from iamgw.console.presign import object_path, presign
from iamgw.sigv4 import Credentials, parse_auth, verify
from tests.console.conftest import BUCKET, browser, sign_in

pytestmark = pytest.mark.timeout(180)

PRESIGN = "/iamgw/api/presign"


@dataclass
class Console:
    """A signed-in browser: its cookies, and the CSRF token of its pages."""

    http: httpx.Client
    url: str
    csrf: str

    def presign(self, operation: str, bucket: str = BUCKET, key: str = "",
                params: dict | None = None, **headers: str) -> httpx.Response:  # fmt: skip
        body = {"operation": operation, "bucket": bucket, "key": key, "params": params or {}}
        headers = {"x-iamgw-csrf": self.csrf, **headers}
        return self.http.post(f"{self.url}{PRESIGN}", json=body, headers=headers)

    def signed(self, operation: str, bucket: str = BUCKET, key: str = "",
               params: dict | None = None) -> dict:  # fmt: skip
        answer = self.presign(operation, bucket, key, params)
        assert answer.status_code == 200, answer.text
        return answer.json()

    def s3(self, signed: dict, **kwargs) -> httpx.Response:
        """The S3 call of a presigned answer, sent as the browser sends it: the relative
        URL against the console's origin, no cookie."""
        return httpx.request(signed["method"], self.url + signed["url"], timeout=60, **kwargs)


def console_of(gateway, provider, username: str) -> Console:
    http, callback = sign_in(gateway.url, provider, username)
    assert callback.status_code == 303, callback.text
    page = http.get(f"{gateway.url}/iamgw/browse")
    assert page.status_code == 200
    csrf = re.search(r'data-csrf="([0-9a-f]+)"', page.text)
    assert csrf is not None
    return Console(http, gateway.url, csrf.group(1))


@pytest.fixture(scope="module")
def alice(console_gateway, oidc_provider) -> Console:
    return console_of(console_gateway, oidc_provider, "alice")


@pytest.fixture(scope="module")
def bob(console_gateway, oidc_provider) -> Console:
    return console_of(console_gateway, oidc_provider, "bob")


def error_code(response: httpx.Response) -> str:
    found = re.search(r"<Code>([^<]*)</Code>", response.text)
    return found.group(1) if found else ""


# -- signed out, and requests not made by the console's page --------------------------


def test_signed_out(console_gateway):
    http = browser()
    answer = http.post(f"{console_gateway.url}{PRESIGN}", json={"operation": "ListBuckets"})
    assert answer.status_code == 401
    assert "location" not in answer.headers
    page = http.get(f"{console_gateway.url}/iamgw/browse")
    assert page.status_code == 303 and page.headers["location"] == "/iamgw/login"


def test_page(alice):
    page = alice.http.get(f"{alice.url}/iamgw/browse", params={"bucket": BUCKET, "prefix": "a/b/"})
    assert page.status_code == 200
    assert 'href="/iamgw/browse"' in page.text  # the header's "Objects" entry
    assert f'data-bucket="{BUCKET}"' in page.text and 'data-prefix="a/b/"' in page.text
    assert 'src="/iamgw/static/browse.js"' in page.text
    assert "<script>" not in page.text  # no inline script: the CSP allows none
    assert "script-src 'self'" in page.headers["content-security-policy"]
    # The breadcrumb: every folder up to the bucket list is a link.
    for link in ("/iamgw/browse?bucket=console", "prefix=a%2F", "prefix=a%2Fb%2F"):
        assert link in page.text
    script = alice.http.get(f"{alice.url}/iamgw/static/browse.js")
    assert script.status_code == 200 and "javascript" in script.headers["content-type"]


def test_page_refuses_a_bad_bucket_name(alice):
    page = alice.http.get(f"{alice.url}/iamgw/browse", params={"bucket": "Not_A_Bucket"})
    assert page.status_code == 400 and "InvalidBucketName" in page.text
    assert 'data-bucket=""' in page.text


@pytest.mark.parametrize(
    "headers",
    [
        {"x-iamgw-csrf": ""},
        {"x-iamgw-csrf": "0" * 64},
        {"origin": "http://evil.example"},
        {"sec-fetch-site": "cross-site"},
    ],
    ids=["no-token", "wrong-token", "cross-site-origin", "fetch-metadata"],
)
def test_refused_without_the_pages_token_or_from_another_site(alice, headers):
    answer = alice.presign("ListBuckets", bucket="", **headers)
    assert answer.status_code == 403, answer.text
    assert "url" not in answer.json()


def test_refused_without_the_header_even_with_the_cookie(alice):
    body = {"operation": "ListBuckets", "bucket": "", "key": "", "params": {}}
    answer = alice.http.post(f"{alice.url}{PRESIGN}", json=body)
    assert answer.status_code == 403


# -- what the console does not sign --------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "bucket", "key", "params", "says"),
    [
        ("DeleteBucket", BUCKET, "", {}, "does not sign"),
        ("PutBucketPolicy", BUCKET, "", {}, "does not sign"),
        ("CreateBucket", "new-bucket", "", {}, "does not sign"),
        ("", BUCKET, "", {}, "does not sign"),
        ("ListBuckets", BUCKET, "", {}, "no bucket"),
        ("ListObjectsV2", "", "", {}, "bucket name is required"),
        ("ListObjectsV2", BUCKET, "k", {}, "not a key"),
        ("ListObjectsV2", BUCKET, "", {"versionId": "1"}, "not signed"),
        ("ListObjectsV2", BUCKET, "", {"list-type": "1"}, "not signed"),
        ("ListObjectsV2", BUCKET, "", {"delimiter": "-"}, "delimiter"),
        ("ListObjectsV2", BUCKET, "", {"max-keys": "100000"}, "max-keys"),
        ("ListObjectsV2", BUCKET, "", {"prefix": "a\x01"}, "control"),
        ("GetObject", BUCKET, "k", {"response-content-disposition": "x"}, "attachment"),
        ("GetObject", BUCKET, "k", {"response-content-type": "text/html"}, "not signed"),
        ("GetObject", BUCKET, "k", {"x-id": "PutObject"}, "not signed"),
        ("PutObject", BUCKET, "", {}, "key is required"),
        ("PutObject", "Not_A_Bucket", "k", {}, "InvalidBucketName"),
        ("PutObject", "ab", "k", {}, "InvalidBucketName"),
        ("PutObject", BUCKET, "../escape", {}, "InvalidObjectName"),
        ("PutObject", BUCKET, "a/./b", {}, "InvalidObjectName"),
        ("PutObject", BUCKET, "/leading", {}, "InvalidObjectName"),
        ("PutObject", BUCKET, "a//b", {}, "InvalidObjectName"),
        ("PutObject", BUCKET, "back\\slash", {}, "InvalidObjectName"),
        ("PutObject", BUCKET, "tab\there", {}, "InvalidObjectName"),
        ("PutObject", BUCKET, "k" * 1025, {}, "KeyTooLongError"),
        ("DeleteObject", BUCKET, "é" * 513, {}, "KeyTooLongError"),  # 1,026 bytes
    ],
)
def test_refuses_to_sign(alice, operation, bucket, key, params, says):
    answer = alice.presign(operation, bucket, key, params)
    assert answer.status_code == 400, answer.text
    refusal = answer.json()
    assert says in f"{refusal['error']}: {refusal['message']}"


def test_refuses_what_is_not_a_json_object(alice):
    for body in (b"not json", b"[1, 2]", b'{"operation": 1}'):
        answer = alice.http.post(
            f"{alice.url}{PRESIGN}", content=body, headers={"x-iamgw-csrf": alice.csrf}
        )
        assert answer.status_code == 400, body
    big = b'{"operation": "ListBuckets", "pad": "' + b"x" * 20_000 + b'"}'
    answer = alice.http.post(
        f"{alice.url}{PRESIGN}", content=big, headers={"x-iamgw-csrf": alice.csrf}
    )
    assert answer.status_code == 413


# -- the URLs it signs ---------------------------------------------------------------


def test_answer_names_the_action_and_a_short_lived_relative_url(alice):
    signed = alice.signed("PutObject", key="dir/file.txt")
    assert signed["method"] == "PUT" and signed["action"] == "s3:PutObject"
    assert signed["resource"] == f"{BUCKET}/dir/file.txt"
    url = urlsplit(signed["url"])
    assert not url.scheme and not url.netloc and url.path == f"/{BUCKET}/dir/file.txt"
    assert "X-Amz-Expires=300&" in url.query and "X-Amz-Security-Token=" in url.query
    assert "X-Amz-SignedHeaders=host&" in url.query
    actions = {
        "ListBuckets": ("GET", "s3:ListAllMyBuckets"),
        "ListObjectsV2": ("GET", "s3:ListBucket"),
        "GetObject": ("GET", "s3:GetObject"),
        "HeadObject": ("HEAD", "s3:GetObject"),
        "DeleteObject": ("DELETE", "s3:DeleteObject"),
    }
    for operation, (method, action) in actions.items():
        bucket = "" if operation == "ListBuckets" else BUCKET
        key = "k" if "Object" in operation and operation != "ListObjectsV2" else ""
        answer = alice.signed(operation, bucket, key)
        assert (answer["method"], answer["action"]) == (method, action)


def test_alice_lists_uploads_reads_and_deletes(alice):
    key = "browse-test/sub dir/é & ?.txt"  # a key that needs encoding in a path
    listed = alice.s3(alice.signed("ListBuckets", bucket=""))
    assert listed.status_code == 200 and f"<Name>{BUCKET}</Name>" in listed.text
    put = alice.s3(alice.signed("PutObject", key=key), content=b"from the browser")
    assert put.status_code == 200, put.text
    got = alice.s3(alice.signed("GetObject", key=key))
    assert got.status_code == 200 and got.content == b"from the browser"
    head = alice.s3(alice.signed("HeadObject", key=key))
    assert head.status_code == 200 and head.headers["content-length"] == "16"
    params = {"prefix": "browse-test/", "delimiter": "/", "max-keys": "100"}
    listing = alice.s3(alice.signed("ListObjectsV2", params=params))
    assert listing.status_code == 200, listing.text
    assert "<Prefix>browse-test/sub dir/</Prefix>" in listing.text
    deleted = alice.s3(alice.signed("DeleteObject", key=key))
    assert deleted.status_code == 204
    assert alice.s3(alice.signed("HeadObject", key=key)).status_code == 404


def test_download_is_an_attachment_named_after_the_key(alice):
    key = "browse-test/report ü.txt"
    assert alice.s3(alice.signed("PutObject", key=key), content=b"report").status_code == 200
    signed = alice.signed(
        "GetObject", key=key, params={"response-content-disposition": "attachment"}
    )
    got = alice.s3(signed)
    assert got.status_code == 200 and got.content == b"report"
    assert "response-content-disposition=attachment%3B" in signed["url"]
    disposition = got.headers.get("content-disposition", "")
    assert disposition.startswith("attachment;"), got.headers


def test_pages_of_a_listing(alice):
    for i in range(5):
        signed = alice.signed("PutObject", key=f"browse-pages/{i}")
        assert alice.s3(signed, content=b"x").status_code == 200
    params = {"prefix": "browse-pages/", "delimiter": "/", "max-keys": "2"}
    seen: list[str] = []
    for _ in range(5):
        listing = alice.s3(alice.signed("ListObjectsV2", params=params))
        assert listing.status_code == 200, listing.text
        seen += re.findall(r"<Key>([^<]*)</Key>", listing.text)
        token = re.search(r"<NextContinuationToken>([^<]*)</NextContinuationToken>", listing.text)
        if "<IsTruncated>true</IsTruncated>" not in listing.text:
            break
        assert token is not None
        params["continuation-token"] = token.group(1)
    assert seen == [f"browse-pages/{i}" for i in range(5)]


def test_a_20_mib_upload_streams_through_the_presigned_put(alice):
    body = hashlib.sha256(b"seed").digest() * (20 * 1024 * 1024 // 32)
    key = "browse-test/large.bin"
    put = alice.s3(alice.signed("PutObject", key=key), content=body)
    assert put.status_code == 200, put.text
    got = alice.s3(alice.signed("GetObject", key=key))
    assert got.status_code == 200 and len(got.content) == len(body)
    assert hashlib.sha256(got.content).digest() == hashlib.sha256(body).digest()


def test_bobs_urls_carry_his_readonly_policy(bob):
    put = bob.s3(bob.signed("PutObject", key="bob.txt"), content=b"not allowed")
    assert put.status_code == 403 and error_code(put) == "AccessDenied"
    got = bob.s3(bob.signed("GetObject", key="hello.txt"))
    assert got.status_code == 200 and got.content == b"hello from the console\n"
    deleted = bob.s3(bob.signed("DeleteObject", key="hello.txt"))
    assert deleted.status_code == 403 and error_code(deleted) == "AccessDenied"
    # readonly has no s3:ListBucket: his listing is refused, his bucket list filtered.
    listing = bob.s3(bob.signed("ListObjectsV2", params={"delimiter": "/"}))
    assert listing.status_code == 403 and error_code(listing) == "AccessDenied"
    buckets = bob.s3(bob.signed("ListBuckets", bucket=""))
    assert buckets.status_code == 200 and f"<Name>{BUCKET}</Name>" in buckets.text


def test_a_url_works_only_for_the_host_it_was_signed_for(alice):
    signed = alice.signed("GetObject", key="hello.txt")
    port = urlsplit(alice.url).port
    other = httpx.get(f"http://localhost:{port}{signed['url']}")
    assert other.status_code == 403 and error_code(other) == "SignatureDoesNotMatch"
    # ...and only for its method: a GET URL does not delete.
    assert alice.s3({**signed, "method": "DELETE"}).status_code == 403
    assert alice.s3(signed).status_code == 200


def test_urls_stop_working_when_the_session_ends(console_gateway, oidc_provider):
    session = console_of(console_gateway, oidc_provider, "alice")
    signed = session.signed("GetObject", key="hello.txt")
    assert session.s3(signed).status_code == 200
    home = session.http.get(f"{session.url}/iamgw/")
    csrf = home.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
    assert session.http.post(f"{session.url}/iamgw/logout", data={"csrf": csrf}).status_code == 303
    refused = session.s3(signed)
    assert refused.status_code >= 400 and error_code(refused) == "InvalidToken"
    assert session.presign("GetObject", key="hello.txt").status_code == 401


# -- the signing itself, against the gateway's own verification ------------------------


def test_presigned_url_verifies_as_the_gateway_reads_it():
    credentials = Credentials("ASIAEXAMPLE0000001", "secret/with+chars", "token+/=")
    now = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
    path = object_path("bucket", "a b/ü+%/x~y.txt")
    assert path == "/bucket/a%20b/%C3%BC%2B%25/x~y.txt"
    url = presign(
        "PUT",
        path,
        [("list-type", "2"), ("prefix", "a b&c=d")],
        credentials,
        host="console.example:9000",
        region="eu-west-1",
        now=now,
        expires=300,
    )
    raw_path, _, raw_query = url.partition("?")
    headers = {"host": "console.example:9000"}
    auth = parse_auth("PUT", raw_path, raw_query, headers)
    assert auth is not None and auth.presigned and auth.security_token == "token+/="
    assert auth.payload_hash == "UNSIGNED-PAYLOAD" and auth.expires == 300
    verify(auth, credentials.secret_key, "PUT", raw_path, raw_query, headers,
           now=now + timedelta(seconds=60), region="eu-west-1")  # fmt: skip
    with pytest.raises(Exception, match="SignatureDoesNotMatch|signature"):
        verify(auth, credentials.secret_key, "GET", raw_path, raw_query, headers,
               now=now, region="eu-west-1")  # fmt: skip
    with pytest.raises(Exception, match="expired"):
        verify(auth, credentials.secret_key, "PUT", raw_path, raw_query, headers,
               now=now + timedelta(seconds=301), region="eu-west-1")  # fmt: skip
