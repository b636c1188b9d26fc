"""Odd input on the data path: user metadata beyond S3's 2 KB, node answers with large
headers, a long Origin. Each answered with AWS's error or the object, never a 500,
changing nothing, and audited."""

from __future__ import annotations

import socket

import botocore.exceptions
import httpx
import pytest

from tests.audit_log import audit_record
from tests.s3.test_attacks import signed

BUCKET = "odd-input"


@pytest.fixture(scope="module")
def bucket(root_s3) -> str:
    root_s3.create_bucket(Bucket=BUCKET)
    root_s3.put_object(Bucket=BUCKET, Key="plain", Body=b"plain")
    return BUCKET


def refused(call, **kwargs) -> botocore.exceptions.ClientError:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        call(**kwargs)
    return info.value


def request_id(exc: botocore.exceptions.ClientError) -> str:
    return str(exc.response["ResponseMetadata"]["RequestId"])


def absent(node, key: str) -> bool:
    try:
        node.head_object(Bucket=BUCKET, Key=key)
    except botocore.exceptions.ClientError as exc:
        return exc.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    return False


def test_put_with_more_than_2_kb_of_metadata_is_refused_and_not_stored(
    gateway, root_s3, node, bucket
) -> None:
    # S3 counts key and value bytes: "k" + 2,048 bytes is one byte too many.
    exc = refused(root_s3.put_object, Bucket=bucket, Key="meta-big", Body=b"x",
                  Metadata={"k": "v" * 2048})  # fmt: skip
    assert exc.response["Error"]["Code"] == "MetadataTooLarge"
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert absent(node, "meta-big")
    event = audit_record(gateway, request_id(exc))
    assert event["status"] == 400 and event["operation"] == "PutObject"

    # Exactly 2 KB, split over several keys, is what S3 accepts.
    metadata = {"k": "v" * 1023, "kk": "w" * 1022}
    root_s3.put_object(Bucket=bucket, Key="meta-2kb", Body=b"x", Metadata=metadata)
    assert root_s3.head_object(Bucket=bucket, Key="meta-2kb")["Metadata"] == metadata


def test_copy_and_multipart_upload_with_too_much_metadata_are_refused(
    gateway, root_s3, node, bucket
) -> None:
    many = {f"key-{i:03d}": "v" * 20 for i in range(80)}  # 80 x 27 bytes
    copy = refused(root_s3.copy_object, Bucket=bucket, Key="copy-big",
                   CopySource={"Bucket": bucket, "Key": "plain"},
                   Metadata=many, MetadataDirective="REPLACE")  # fmt: skip
    upload = refused(root_s3.create_multipart_upload, Bucket=bucket, Key="mpu-big",
                     Metadata=many)  # fmt: skip
    for exc, operation in ((copy, "CopyObject"), (upload, "CreateMultipartUpload")):
        assert exc.response["Error"]["Code"] == "MetadataTooLarge"
        assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 400
        event = audit_record(gateway, request_id(exc))
        assert event["status"] == 400 and event["operation"] == operation
    assert absent(node, "copy-big")
    assert node.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_object_with_9000_bytes_of_metadata_stored_on_the_node_is_served(
    gateway, root_s3, node, bucket
) -> None:
    # Another client of the node (not the gateway) stored it: the gateway must read it.
    node.put_object(Bucket=bucket, Key="node-meta", Body=b"body", Metadata={"big": "m" * 9000})
    got = root_s3.get_object(Bucket=bucket, Key="node-meta")
    assert got["Body"].read() == b"body"
    assert got["Metadata"] == {"big": "m" * 9000}
    head = root_s3.head_object(Bucket=bucket, Key="node-meta")
    assert head["Metadata"]["big"] == "m" * 9000
    for answer in (got, head):
        event = audit_record(gateway, answer["ResponseMetadata"]["RequestId"])
        assert event["status"] == 200


def test_node_answer_too_large_to_read_is_a_503_and_the_node_stays_in(
    gateway, root_s3, node, bucket
) -> None:
    node.put_object(Bucket=bucket, Key="node-huge-meta", Body=b"body",
                    Metadata={"huge": "h" * 200_000})  # fmt: skip
    exc = refused(root_s3.get_object, Bucket=bucket, Key="node-huge-meta")
    assert exc.response["Error"]["Code"] == "ServiceUnavailable"
    assert exc.response["ResponseMetadata"]["HTTPStatusCode"] == 503
    assert audit_record(gateway, request_id(exc))["status"] == 503
    # One object's answer says nothing about the node: it still serves the others.
    assert root_s3.get_object(Bucket=bucket, Key="plain")["Body"].read() == b"plain"
    listed = node.list_objects_v2(Bucket=bucket, Prefix="node-huge-meta")
    assert [o["Key"] for o in listed.get("Contents", [])] == ["node-huge-meta"]


@pytest.mark.parametrize("size", [9_000, 40_000])
def test_long_origin_is_answered(gateway, bucket, size: int) -> None:
    # The node echoes Origin in Access-Control-Allow-Origin: its answer must still be read.
    origin = "https://" + "o" * size + ".example"
    request = signed("GET", f"{gateway.url}/{bucket}/plain", headers={"Origin": origin})
    answer = httpx.get(request.url, headers=dict(request.headers.items()))
    assert answer.status_code == 200, answer.text
    assert answer.content == b"plain"
    event = audit_record(gateway, answer.headers["x-amz-request-id"])
    assert event["status"] == 200 and event["operation"] == "GetObject"


def test_too_much_metadata_is_refused_before_the_body_is_read(gateway, node, bucket) -> None:
    # A signed 8 MiB body the client never sends: the answer comes at once, not after
    # the gateway waited for (and spooled) a body it would refuse anyway.
    body = b"\0" * (8 << 20)
    request = signed("PUT", f"{gateway.url}/{bucket}/meta-early", body=body,
                     headers={"x-amz-meta-k": "v" * 3000})  # fmt: skip
    host, port = gateway.url.removeprefix("http://").split(":")
    head = f"PUT /{bucket}/meta-early HTTP/1.1\r\nHost: {host}:{port}\r\n"
    for name, value in request.headers.items():
        head += f"{name}: {value}\r\n"
    head += f"Content-Length: {len(body)}\r\n\r\n"
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(head.encode())
        received = b""
        while chunk := sock.recv(65536):  # the gateway closes: the body is still due
            received += chunk
    answer = received.decode()
    assert answer.startswith("HTTP/1.1 400"), answer
    assert "<Code>MetadataTooLarge</Code>" in answer
    request_id = answer.lower().split("x-amz-request-id: ")[1].split("\r\n")[0].upper()
    assert audit_record(gateway, request_id)["status"] == 400
    assert absent(node, "meta-early")
