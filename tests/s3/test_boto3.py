"""boto3 through the gateway to the SeaweedFS peer: root, a readonly user, a home-prefix user."""

from __future__ import annotations

import hashlib
import os

import botocore.exceptions
import httpx
import pytest
from boto3.s3.transfer import TransferConfig

from tests.iam_helpers import Keys, make_user
from tests.s3.conftest import READONLY


def code_of(exc: pytest.ExceptionInfo) -> str:
    return exc.value.response["Error"]["Code"]


@pytest.fixture(scope="module")
def bucket(root_s3) -> str:
    root_s3.create_bucket(Bucket="data")
    root_s3.put_object(Bucket="data", Key="hello.txt", Body=b"hello world")
    return "data"


@pytest.fixture(scope="module")
def shared(root_s3) -> str:
    root_s3.create_bucket(Bucket="shared")
    return "shared"


def test_root_reads_and_writes(root_s3, bucket, node) -> None:
    root_s3.put_object(Bucket=bucket, Key="dir/a b+c.txt", Body=b"spaces and plus")
    assert (
        root_s3.get_object(Bucket=bucket, Key="dir/a b+c.txt")["Body"].read() == b"spaces and plus"
    )
    assert node.get_object(Bucket=bucket, Key="dir/a b+c.txt")["Body"].read() == b"spaces and plus"
    keys = [o["Key"] for o in root_s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert "hello.txt" in keys and "dir/a b+c.txt" in keys
    assert root_s3.head_object(Bucket=bucket, Key="hello.txt")["ContentLength"] == 11


def test_ranged_get(root_s3, bucket) -> None:
    part = root_s3.get_object(Bucket=bucket, Key="hello.txt", Range="bytes=6-10")
    assert part["Body"].read() == b"world" and part["ResponseMetadata"]["HTTPStatusCode"] == 206


def test_multipart_upload_of_64_mib(root_s3, bucket, tmp_path) -> None:
    path = tmp_path / "big.bin"
    data = os.urandom(1 << 20) * 64
    path.write_bytes(data)
    config = TransferConfig(multipart_threshold=8 << 20, multipart_chunksize=8 << 20)
    root_s3.upload_file(str(path), bucket, "big.bin", Config=config)
    head = root_s3.head_object(Bucket=bucket, Key="big.bin")
    assert head["ContentLength"] == 64 << 20 and "-8" in head["ETag"]  # 8 parts
    out = tmp_path / "back.bin"
    root_s3.download_file(bucket, "big.bin", str(out), Config=config)
    assert hashlib.sha256(out.read_bytes()).digest() == hashlib.sha256(data).digest()


def test_presigned_get_and_put(root_s3, bucket) -> None:
    put_url = root_s3.generate_presigned_url(
        "put_object", Params={"Bucket": bucket, "Key": "presigned.txt"}, ExpiresIn=300
    )
    assert httpx.put(put_url, content=b"via presigned put").status_code == 200
    get_url = root_s3.generate_presigned_url(
        "get_object", Params={"Bucket": bucket, "Key": "presigned.txt"}, ExpiresIn=300
    )
    r = httpx.get(get_url)
    assert r.status_code == 200 and r.content == b"via presigned put"


def test_copy_and_delete_many(root_s3, bucket) -> None:
    root_s3.copy_object(
        Bucket=bucket, Key="copy.txt", CopySource={"Bucket": bucket, "Key": "hello.txt"}
    )
    assert root_s3.get_object(Bucket=bucket, Key="copy.txt")["Body"].read() == b"hello world"
    for i in range(5):
        root_s3.put_object(Bucket=bucket, Key=f"many/{i}", Body=b"x")
    result = root_s3.delete_objects(
        Bucket=bucket, Delete={"Objects": [{"Key": f"many/{i}"} for i in range(5)]}
    )
    assert len(result["Deleted"]) == 5
    assert "Contents" not in root_s3.list_objects_v2(Bucket=bucket, Prefix="many/")


def test_readonly_user_reads_but_cannot_write(gateway, bucket, reader: Keys, node) -> None:
    s3 = gateway.client(key=reader.key, secret=reader.secret)
    assert s3.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"hello world"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        s3.put_object(Bucket=bucket, Key="hello.txt", Body=b"overwritten")
    assert code_of(info) == "AccessDenied"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        s3.delete_object(Bucket=bucket, Key="hello.txt")
    assert code_of(info) == "AccessDenied"
    assert node.get_object(Bucket=bucket, Key="hello.txt")["Body"].read() == b"hello world"
    # readonly may locate every bucket, so ListBuckets shows them.
    assert bucket in [b["Name"] for b in s3.list_buckets()["Buckets"]]


def test_home_prefix_user(gateway, root_s3, shared, alice: Keys, node) -> None:
    root_s3.put_object(Bucket="shared", Key="home/bob/secret.txt", Body=b"bob's")
    s3 = gateway.client(key=alice.key, secret=alice.secret)
    s3.put_object(Bucket="shared", Key="home/alice/notes.txt", Body=b"mine")
    assert s3.get_object(Bucket="shared", Key="home/alice/notes.txt")["Body"].read() == b"mine"
    listed = s3.list_objects_v2(Bucket="shared", Prefix="home/alice/")
    assert [o["Key"] for o in listed["Contents"]] == ["home/alice/notes.txt"]
    for call in (
        lambda: s3.get_object(Bucket="shared", Key="home/bob/secret.txt"),
        lambda: s3.put_object(Bucket="shared", Key="home/bob/secret.txt", Body=b"mine now"),
        lambda: s3.list_objects_v2(Bucket="shared"),
        lambda: s3.list_objects_v2(Bucket="shared", Prefix="home/bob/"),
    ):
        with pytest.raises(botocore.exceptions.ClientError) as info:
            call()
        assert code_of(info) == "AccessDenied"
    assert node.get_object(Bucket="shared", Key="home/bob/secret.txt")["Body"].read() == b"bob's"
    # ListBuckets shows only what alice may use: she may list nothing bucket-wide.
    assert s3.list_buckets()["Buckets"] == []


def test_delete_objects_is_decided_per_key(gateway, root_s3, shared, alice: Keys, node) -> None:
    root_s3.put_object(Bucket="shared", Key="home/bob/keep.txt", Body=b"b")
    s3 = gateway.client(key=alice.key, secret=alice.secret)
    s3.put_object(Bucket="shared", Key="home/alice/gone.txt", Body=b"a")
    result = s3.delete_objects(
        Bucket="shared",
        Delete={"Objects": [{"Key": "home/alice/gone.txt"}, {"Key": "home/bob/keep.txt"}]},
    )
    assert [d["Key"] for d in result["Deleted"]] == ["home/alice/gone.txt"]
    assert [(e["Key"], e["Code"]) for e in result["Errors"]] == [
        ("home/bob/keep.txt", "AccessDenied")
    ]
    assert node.get_object(Bucket="shared", Key="home/bob/keep.txt")["Body"].read() == b"b"


def test_copy_needs_read_on_the_source(gateway, root_s3, shared, alice: Keys) -> None:
    root_s3.put_object(Bucket="shared", Key="home/bob/private.txt", Body=b"p")
    s3 = gateway.client(key=alice.key, secret=alice.secret)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        s3.copy_object(
            Bucket="shared",
            Key="home/alice/stolen.txt",
            CopySource={"Bucket": "shared", "Key": "home/bob/private.txt"},
        )
    assert code_of(info) == "AccessDenied"


def test_inactive_and_deleted_keys_stop_working(gateway, bucket) -> None:
    keys = make_user(gateway, "temp-reader", managed=[READONLY])
    s3 = gateway.client(key=keys.key, secret=keys.secret)
    s3.get_object(Bucket=bucket, Key="hello.txt")
    gateway.repo.update_access_key("temp-reader", keys.key, "Inactive")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        s3.get_object(Bucket=bucket, Key="hello.txt")
    assert code_of(info) == "InvalidAccessKeyId"
    gateway.repo.update_access_key("temp-reader", keys.key, "Active")
    s3.get_object(Bucket=bucket, Key="hello.txt")
    gateway.repo.detach_policy("user", "temp-reader", READONLY)  # takes effect at once
    with pytest.raises(botocore.exceptions.ClientError) as info:
        s3.get_object(Bucket=bucket, Key="hello.txt")
    assert code_of(info) == "AccessDenied"
