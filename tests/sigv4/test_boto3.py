"""The requests boto3 really sends (captured before the network), verified end to end."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import boto3
import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.config import Config

from iamgw.errors import SignatureDoesNotMatch
from iamgw.sigv4 import ChunkedDecoder, PayloadVerifier, parse_auth, verify
from tests.sigv4.sigv4_helpers import AK, REGION, SK

KEY = "dir one/caf\u00e9+*=~%/\u65e5\u672c//../x"


class _Raw:
    def stream(self, **_: Any) -> Iterator[bytes]:
        return iter([b""])


@pytest.fixture(params=["http://127.0.0.1:9000", "https://127.0.0.1:9000"])
def client(request: pytest.FixtureRequest) -> Iterator[tuple[Any, list[AWSPreparedRequest]]]:
    sent: list[AWSPreparedRequest] = []

    def before_send(request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        sent.append(request)
        return AWSResponse(request.url, 200, {}, _Raw())

    s3 = boto3.client(
        "s3",
        endpoint_url=request.param,
        region_name=REGION,
        aws_access_key_id=AK,
        aws_secret_access_key=SK,
        aws_session_token="session+token/=",
        config=Config(s3={"addressing_style": "path"}),
    )
    s3.meta.events.register("before-send.s3", before_send)
    yield s3, sent


def _check(request: AWSPreparedRequest) -> bytes:
    parts = urlsplit(request.url)
    headers = {
        k.lower(): v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()
    }
    headers["host"] = parts.netloc
    auth = parse_auth(request.method, parts.path, parts.query, headers)
    assert auth is not None and auth.security_token == "session+token/="
    ctx = verify(
        auth,
        SK,
        request.method,
        parts.path,
        parts.query,
        headers,
        now=datetime.now(UTC),
        region=REGION,
    )
    body = request.body
    raw = body if isinstance(body, bytes) else (body.read() if body is not None else b"")
    if isinstance(raw, str):
        raw = raw.encode()
    if auth.payload_hash.startswith("STREAMING-"):
        decoder = ChunkedDecoder.from_headers(ctx, headers)
        decoded = b"".join(decoder.feed(raw))
        decoder.finish()
        return decoded
    if auth.payload_hash != "UNSIGNED-PAYLOAD":
        verifier = PayloadVerifier(auth.payload_hash)
        verifier.update(raw)
        verifier.finish()
    return raw


def test_put_object(client: tuple[Any, list[AWSPreparedRequest]]) -> None:
    s3, sent = client
    s3.put_object(Bucket="bucket", Key=KEY, Body=io.BytesIO(b"hello world"), ContentType="a/b")
    assert _check(sent[-1]) == b"hello world"


def test_list_and_get_and_delete(client: tuple[Any, list[AWSPreparedRequest]]) -> None:
    s3, sent = client
    s3.list_objects_v2(Bucket="bucket", Prefix="dir one/caf\u00e9+", Delimiter="/", MaxKeys=5)
    s3.get_object(Bucket="bucket", Key=KEY, Range="bytes=0-3", VersionId="v+1/=")
    s3.delete_objects(Bucket="bucket", Delete={"Objects": [{"Key": KEY}, {"Key": "b"}]})
    s3.put_object_tagging(
        Bucket="bucket", Key=KEY, Tagging={"TagSet": [{"Key": "k", "Value": "v w"}]}
    )
    assert len(sent) == 4
    for request in sent:
        _check(request)


def test_tampered_path_is_caught(client: tuple[Any, list[AWSPreparedRequest]]) -> None:
    s3, sent = client
    s3.put_object(Bucket="bucket", Key="k", Body=b"hello world")
    request = sent[-1]
    parts = urlsplit(request.url)
    request.url = request.url.replace(parts.path, "/bucket/other")
    with pytest.raises(SignatureDoesNotMatch):
        _check(request)


@pytest.mark.parametrize("method", ["get_object", "put_object", "head_object"])
def test_presigned_url(method: str) -> None:
    s3 = boto3.client(
        "s3",
        endpoint_url="https://127.0.0.1:9000",
        region_name=REGION,
        aws_access_key_id=AK,
        aws_secret_access_key=SK,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )
    url = s3.generate_presigned_url(method, Params={"Bucket": "bucket", "Key": KEY}, ExpiresIn=60)
    parts = urlsplit(url)
    http_method = {"get_object": "GET", "put_object": "PUT", "head_object": "HEAD"}[method]
    headers = {"host": parts.netloc}
    auth = parse_auth(http_method, parts.path, parts.query, headers)
    assert auth is not None and auth.presigned
    verify(
        auth,
        SK,
        http_method,
        parts.path,
        parts.query,
        headers,
        now=datetime.now(UTC),
        region=REGION,
    )
