"""Attacks on the data path, each refused with AWS's error and without reaching a node."""

from __future__ import annotations

import hashlib
import hmac
import socket
import time
from datetime import UTC, datetime, timedelta

import botocore.auth
import botocore.exceptions
import httpx
import pytest
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from iamgw.identity import SessionClaims
from tests.gateway_server import ROOT_KEY, ROOT_SECRET
from tests.iam_helpers import make_user
from tests.s3.conftest import READONLY


@pytest.fixture(scope="module")
def bucket(root_s3) -> str:
    root_s3.create_bucket(Bucket="target")
    root_s3.put_object(Bucket="target", Key="doc-1", Body=b"one")
    return "target"


class _Signer(botocore.auth.S3SigV4Auth):
    """botocore's S3 signer with the payload hash chosen by the test."""

    def __init__(self, credentials, service, region, digest: str) -> None:
        super().__init__(credentials, service, region)
        self.digest = digest

    def payload(self, request) -> str:
        return self.digest


def signed(method: str, url: str, body: bytes = b"", headers: dict | None = None,
           key: str = ROOT_KEY, secret: str = ROOT_SECRET, payload_hash: str | None = None,
           when: datetime | None = None, monkeypatch=None) -> AWSRequest:  # fmt: skip
    """A request signed by botocore (not by iamgw's own signer)."""
    request = AWSRequest(method=method, url=url, data=body, headers=dict(headers or {}))
    digest = payload_hash or hashlib.sha256(body).hexdigest()
    if when is not None:
        monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: when)
    _Signer(Credentials(key, secret), "s3", "us-east-1", digest).add_auth(request)
    if when is not None:
        monkeypatch.undo()
    return request


def send(request: AWSRequest, **changes) -> httpx.Response:
    headers = dict(request.headers.items())
    headers.update(changes.pop("headers", {}))
    return httpx.request(request.method, changes.pop("url", request.url), headers=headers,
                         content=changes.pop("body", request.body or b""))  # fmt: skip


def error(r: httpx.Response) -> str:
    start = r.text.find("<Code>")
    return r.text[start + 6 : r.text.find("</Code>")] if start >= 0 else f"(status {r.status_code})"


def test_a_correctly_signed_request_passes(gateway, bucket) -> None:
    r = send(signed("GET", f"{gateway.url}/{bucket}/doc-1"))
    assert r.status_code == 200 and r.content == b"one"


@pytest.mark.parametrize("minutes", [-16, 16])
def test_requests_outside_the_15_minute_window(gateway, bucket, monkeypatch, minutes) -> None:
    when = datetime.now(UTC) + timedelta(minutes=minutes)
    r = send(signed("GET", f"{gateway.url}/{bucket}/doc-1", when=when, monkeypatch=monkeypatch))
    assert r.status_code == 403 and error(r) == "RequestTimeTooSkewed"


def test_tampered_header_query_path_and_method(gateway, bucket) -> None:
    url = f"{gateway.url}/{bucket}/doc-1"
    request = signed("GET", url, headers={"x-amz-meta-note": "a"})
    assert error(send(request, headers={"x-amz-meta-note": "b"})) == "SignatureDoesNotMatch"
    assert error(send(request, url=url + "?versionId=1")) == "SignatureDoesNotMatch"
    assert error(send(request, url=f"{gateway.url}/{bucket}/doc-2")) == "SignatureDoesNotMatch"
    changed = signed("GET", url)
    changed.method = "DELETE"
    assert error(send(changed)) == "SignatureDoesNotMatch"


def test_wrong_secret_and_unknown_key(gateway, bucket) -> None:
    url = f"{gateway.url}/{bucket}/doc-1"
    assert error(send(signed("GET", url, secret="wrong"))) == "SignatureDoesNotMatch"
    assert error(send(signed("GET", url, key="AKIANOSUCHKEY0000000"))) == "InvalidAccessKeyId"


def test_tampered_body_is_not_stored(gateway, bucket, node) -> None:
    url = f"{gateway.url}/{bucket}/tampered"
    request = signed("PUT", url, body=b"original body")
    r = send(request, body=b"evil body!!!!")
    assert r.status_code == 400 and error(r) in ("XAmzContentSHA256Mismatch", "BadDigest")
    with pytest.raises(botocore.exceptions.ClientError):
        node.head_object(Bucket=bucket, Key="tampered")


def chunked_body(payload: bytes, seed: str, key: bytes, amz_date: str, scope: str,
                 chunk: int = 64 * 1024, tamper: int | None = None) -> bytes:  # fmt: skip
    """aws-chunked framing with chunk signatures, written from the S3 streaming spec."""
    empty = hashlib.sha256(b"").hexdigest()
    out, previous = bytearray(), seed
    pieces = [payload[i : i + chunk] for i in range(0, len(payload), chunk)] + [b""]
    for index, data in enumerate(pieces):
        to_sign = "\n".join(["AWS4-HMAC-SHA256-PAYLOAD", amz_date, scope, previous, empty,
                             hashlib.sha256(data).hexdigest()])  # fmt: skip
        previous = hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()
        if tamper == index:
            data = data[:-1] + bytes([data[-1] ^ 1])
        out += f"{len(data):x};chunk-signature={previous}\r\n".encode() + data + b"\r\n"
    return bytes(out)


def streaming_put(gateway, bucket: str, key_name: str, payload: bytes, tamper: int | None):
    url = f"{gateway.url}/{bucket}/{key_name}"
    streaming = "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"
    headers = {"content-encoding": "aws-chunked",
               "x-amz-decoded-content-length": str(len(payload))}  # fmt: skip
    request = signed("PUT", url, headers=headers, payload_hash=streaming)
    amz_date = request.headers["X-Amz-Date"]
    seed = request.headers["Authorization"].rsplit("Signature=", 1)[1]
    scope = f"{amz_date[:8]}/us-east-1/s3/aws4_request"
    k = ("AWS4" + ROOT_SECRET).encode()
    for part in (amz_date[:8], "us-east-1", "s3", "aws4_request"):
        k = hmac.new(k, part.encode(), hashlib.sha256).digest()
    body = chunked_body(payload, seed, k, amz_date, scope, tamper=tamper)
    return send(request, body=body, headers={"content-length": str(len(body))})


def test_signed_chunked_upload(gateway, bucket, node) -> None:
    payload = bytes(range(256)) * 1000
    r = streaming_put(gateway, bucket, "chunked", payload, tamper=None)
    assert r.status_code == 200, r.text
    assert node.get_object(Bucket=bucket, Key="chunked")["Body"].read() == payload


def test_tampered_chunk_is_refused_and_not_stored(gateway, bucket, node) -> None:
    r = streaming_put(gateway, bucket, "chunked-evil", bytes(200_000), tamper=1)
    assert error(r) == "SignatureDoesNotMatch"
    with pytest.raises(botocore.exceptions.ClientError):
        node.head_object(Bucket=bucket, Key="chunked-evil")


def test_presigned_url_after_expiry_and_for_another_method(
    gateway, root_s3, bucket, monkeypatch
) -> None:
    monkeypatch.setattr(botocore.auth, "get_current_datetime",
                        lambda: datetime.now(UTC) - timedelta(minutes=10))  # fmt: skip
    old = root_s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc-1"},
                                         ExpiresIn=60)  # fmt: skip
    monkeypatch.undo()
    r = httpx.get(old)
    assert r.status_code == 403, r.text
    assert r.status_code == 403 and error(r) == "AccessDenied" and "expired" in r.text
    fresh = root_s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "doc-1"},
                                           ExpiresIn=60)  # fmt: skip
    assert httpx.get(fresh).status_code == 200
    assert error(httpx.put(fresh, content=b"overwrite")) == "SignatureDoesNotMatch"
    assert error(httpx.delete(fresh)) == "SignatureDoesNotMatch"


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/target/../other/doc", "InvalidObjectName"),
        ("/target/a/%2E%2E/b", "InvalidObjectName"),
        ("/target/./doc-1", "InvalidObjectName"),
        ("/Target-UPPER/doc", "InvalidBucketName"),
    ],
)
def test_path_tricks(gateway, bucket, path: str, code: str) -> None:
    # A raw socket: HTTP clients would normalise the dot segments away before sending.
    host, port = gateway.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer.split(b" ", 2)[1])
    assert status == 400 and f"<Code>{code}</Code>".encode() in answer


def test_encoded_slash_and_star_are_literal(gateway, root_s3, bucket) -> None:
    one_doc = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::target/doc-1"}
        ],
    }
    keys = make_user(gateway, "one-doc", inline=one_doc)
    s3 = gateway.client(key=keys.key, secret=keys.secret)
    assert s3.get_object(Bucket=bucket, Key="doc-1")["Body"].read() == b"one"
    root_s3.put_object(Bucket=bucket, Key="doc-*", Body=b"star")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        s3.get_object(Bucket=bucket, Key="doc-*")  # a '*' in a key is not a wildcard
    assert info.value.response["Error"]["Code"] == "AccessDenied"
    # An encoded slash is a slash of the key: decided and stored as "a/b".
    root_s3.put_object(Bucket=bucket, Key="a/b", Body=b"slash")
    r = send(signed("GET", f"{gateway.url}/{bucket}/a%2Fb"))
    assert r.status_code == 200 and r.content == b"slash"


@pytest.fixture(scope="module")
def tokens(gateway):
    # The sessions below are of role "reader": a role that exists, with readonly.
    trust = (
        '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"*"},'
        '"Action":"sts:AssumeRole"}]}'
    )
    gateway.repo.create_role("reader", trust)
    gateway.repo.attach_policy("role", "reader", READONLY)
    return gateway.server.config.app.state.gateway.tokens


def session(tokens, access_key: str = "ASIATESTSESSION00001", **changes):
    now = int(time.time())
    claims = dict(ak=access_key, sk="session-secret-key", exp=now + 900, iat=now, sid="sid-1",
                  arn="arn:aws:sts::000000000000:assumed-role/reader/test", typ="AssumedRole",
                  src="arn:aws:iam::000000000000:role/reader", pol=(READONLY,))  # fmt: skip
    claims.update(changes)
    return tokens.mint(SessionClaims(**claims))


def test_temporary_credentials(gateway, tokens, bucket) -> None:
    token = session(tokens)
    s3 = gateway.client(key="ASIATESTSESSION00001", secret="session-secret-key", token=token)
    assert s3.get_object(Bucket=bucket, Key="doc-1")["Body"].read() == b"one"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        s3.put_object(Bucket=bucket, Key="doc-1", Body=b"no")
    assert info.value.response["Error"]["Code"] == "AccessDenied"


def test_session_token_of_another_key(gateway, tokens, bucket) -> None:
    token = session(tokens, access_key="ASIAOTHERSESSION0001")
    s3 = gateway.client(key="ASIATESTSESSION00001", secret="session-secret-key", token=token)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        s3.get_object(Bucket=bucket, Key="doc-1")
    assert info.value.response["Error"]["Code"] == "InvalidToken"


def test_a_session_loses_what_its_role_loses(gateway, tokens, bucket) -> None:
    """Review finding: sessions used the policy names minted into their token, so a
    policy detached from the role still applied for the session's whole life."""
    token = session(tokens, access_key="ASIADETACHSESSION001")
    s3 = gateway.client(key="ASIADETACHSESSION001", secret="session-secret-key", token=token)
    assert s3.get_object(Bucket=bucket, Key="doc-1")["Body"].read() == b"one"
    gateway.repo.detach_policy("role", "reader", READONLY)
    try:
        with pytest.raises(botocore.exceptions.ClientError) as info:
            s3.get_object(Bucket=bucket, Key="doc-1")
        assert info.value.response["Error"]["Code"] == "AccessDenied"
    finally:
        gateway.repo.attach_policy("role", "reader", READONLY)


def test_expired_forged_and_revoked_tokens(gateway, tokens, bucket) -> None:
    def get(token: str) -> str:
        s3 = gateway.client(key="ASIATESTSESSION00001", secret="session-secret-key", token=token)
        try:
            s3.get_object(Bucket=bucket, Key="doc-1")
        except botocore.exceptions.ClientError as exc:
            return exc.response["Error"]["Code"]
        return "ok"

    assert get(session(tokens, exp=int(time.time()) - 1)) == "ExpiredToken"
    token = session(tokens, sid="to-revoke")
    assert get(token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")) == "InvalidToken"
    assert get(token) == "ok"
    gateway.repo.revoke("session", "to-revoke")  # a store write: seen by the next request
    assert get(token) == "InvalidToken"
