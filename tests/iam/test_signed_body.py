"""The body of every IAM and STS call is covered by its signature (security finding 1).

A captured signed `ListUsers` must not become `CreateUser` by swapping its body, with
`x-amz-content-sha256: UNSIGNED-PAYLOAD` or with the hash of another body; a presigned
`GetCallerIdentity` URL must not carry a `GetSessionToken` body; a parameter may not be
sent twice (query and body); a session token sent with long-term keys is refused.
Every request here is signed by botocore, not by iamgw's own signer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import boto3
import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from iamgw.store import NoSuchEntity
from tests.gateway_server import ROOT_KEY, ROOT_SECRET, GatewayServer, running_gateway

FORM = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"}
LIST_USERS = b"Action=ListUsers&Version=2010-05-08"
CREATE_USER = b"Action=CreateUser&Version=2010-05-08&UserName=intruder"


@pytest.fixture(scope="module")
def gw(seaweedfs, tmp_path_factory) -> Iterator[GatewayServer]:
    with running_gateway(tmp_path_factory.mktemp("signed-body"), seaweedfs) as server:
        yield server


def sign(
    gw: GatewayServer,
    body: bytes,
    *,
    service: str = "iam",
    headers: dict | None = None,
    query: str = "",
    token: str | None = None,
) -> AWSRequest:
    url = gw.url + "/" + (f"?{query}" if query else "")
    request = AWSRequest(method="POST", url=url, data=body, headers={**FORM, **(headers or {})})
    SigV4Auth(Credentials(ROOT_KEY, ROOT_SECRET, token), service, "us-east-1").add_auth(request)
    return request


def send(
    request: AWSRequest,
    body: bytes | None = None,
    method: str | None = None,
    url: str | None = None,
) -> httpx.Response:
    return httpx.request(
        method or request.method,
        url or request.url,
        headers=dict(request.headers.items()),
        content=request.body if body is None else body,
    )


def code(r: httpx.Response) -> str:
    start = r.text.find("<Code>")
    return r.text[start + 6 : r.text.find("</Code>")] if start >= 0 else f"(status {r.status_code})"


def intruder_exists(gw: GatewayServer) -> bool:
    try:
        gw.repo.get_user("intruder")
    except NoSuchEntity:
        return False
    return True


def test_a_signed_call_passes(gw) -> None:
    r = send(sign(gw, LIST_USERS))
    assert r.status_code == 200 and "<ListUsersResult>" in r.text, r.text


@pytest.mark.parametrize(
    "declared",
    [
        "UNSIGNED-PAYLOAD",
        hashlib.sha256(LIST_USERS).hexdigest(),
        "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    ],
)
def test_a_swapped_body_is_refused(gw, declared) -> None:
    """Signed with a declared payload hash, sent with another body: refused, nothing made."""
    captured = sign(gw, LIST_USERS, headers={"X-Amz-Content-SHA256": declared})
    r = send(captured, body=CREATE_USER)
    assert r.status_code in (400, 403), r.text
    assert code(r) in ("SignatureDoesNotMatch", "InvalidParameterValue")  # IAM's codes, not S3's
    assert "<ErrorResponse" in r.text  # the Query API's error shape
    assert not intruder_exists(gw)


def test_a_swapped_body_without_a_declared_hash_is_refused(gw) -> None:
    r = send(sign(gw, LIST_USERS), body=CREATE_USER)
    assert r.status_code == 403 and code(r) == "SignatureDoesNotMatch", r.text
    assert not intruder_exists(gw)


def test_the_declared_hash_of_the_real_body_is_accepted(gw) -> None:
    declared = hashlib.sha256(LIST_USERS).hexdigest()
    r = send(sign(gw, LIST_USERS, headers={"X-Amz-Content-SHA256": declared}))
    assert r.status_code == 200, r.text


def test_an_upper_case_declared_hash_is_malformed(gw) -> None:
    declared = hashlib.sha256(LIST_USERS).hexdigest().upper()
    r = send(sign(gw, LIST_USERS, headers={"X-Amz-Content-SHA256": declared}))
    assert r.status_code == 400 and code(r) == "InvalidParameterValue", r.text


def test_body_parameters_never_override_signed_query_ones(gw) -> None:
    """A parameter sent in the query and again in the body is refused, not merged."""
    request = sign(gw, b"UserName=intruder", query="Action=CreateUser&Version=2010-05-08")
    assert send(request).status_code == 200  # one of each: a valid call
    gw.repo.delete_user("intruder")
    twice = sign(
        gw, b"Action=CreateUser&UserName=intruder", query="Action=ListUsers&Version=2010-05-08"
    )
    r = send(twice)
    assert r.status_code == 400 and code(r) == "ValidationError", r.text
    assert not intruder_exists(gw)


def test_a_repeated_parameter_in_the_body_is_refused(gw) -> None:
    r = send(sign(gw, LIST_USERS + b"&Action=CreateUser&UserName=intruder"))
    assert r.status_code == 400 and code(r) == "ValidationError", r.text
    assert not intruder_exists(gw)


def test_presigned_get_caller_identity_works_and_cannot_carry_a_body(gw) -> None:
    # A plain boto3 client (SigV4Auth, not the S3 signer that `gw.client` configures).
    sts = boto3.client(
        "sts",
        endpoint_url=gw.url,
        region_name="us-east-1",
        aws_access_key_id=ROOT_KEY,
        aws_secret_access_key=ROOT_SECRET,
    )
    url = sts.generate_presigned_url("get_caller_identity", HttpMethod="GET", ExpiresIn=300)
    r = httpx.get(url)
    assert r.status_code == 200 and "<GetCallerIdentityResult>" in r.text, r.text
    # The same URL POSTed as a form with another action: the body is not what was signed.
    r = httpx.post(url, content=b"Action=GetSessionToken&Version=2011-06-15", headers=FORM)
    assert r.status_code in (400, 403) and "<Credentials>" not in r.text, r.text
    # botocore's default presign (POST, the parameters moved to the query) works as sent.
    url = sts.generate_presigned_url("get_caller_identity", ExpiresIn=300)
    assert httpx.post(url).status_code == 200
    r = httpx.post(url, content=b"Action=GetSessionToken&Version=2011-06-15", headers=FORM)
    assert r.status_code in (400, 403) and "<Credentials>" not in r.text, r.text


def test_a_session_token_with_root_keys_is_refused(gw) -> None:
    r = send(sign(gw, LIST_USERS, token="garbage-token"))
    assert r.status_code in (400, 403) and code(r) == "InvalidClientTokenId", r.text
    s3 = gw.client("s3", token="garbage-token")
    with pytest.raises(Exception, match="InvalidToken"):
        s3.list_buckets()


def test_a_body_over_1_mib_is_refused_before_it_is_read(gw) -> None:
    """Declared or chunked, an unauthenticated Query body over 1 MiB is refused."""
    big = b"Action=ListUsers&Version=2010-05-08&Pad=" + b"a" * (2 << 20)
    r = httpx.post(gw.url + "/", content=big, headers=FORM)
    assert r.status_code == 413 and code(r) == "RequestEntityTooLargeException", r.text

    def chunks() -> Iterator[bytes]:
        yield b"Action=ListUsers&Version=2010-05-08&Pad="
        for _ in range(64):
            yield b"a" * (64 << 10)

    r = httpx.post(gw.url + "/", content=chunks(), headers=FORM)  # no Content-Length
    assert r.status_code == 413 and code(r) == "RequestEntityTooLargeException", r.text


def test_invalid_utf8_parameters_are_refused(gw) -> None:
    r = send(sign(gw, LIST_USERS + b"&Marker=%ED%A0%80"))
    assert r.status_code == 400 and code(r) == "ValidationError", r.text
