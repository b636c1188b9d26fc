"""Every S3 operation boto3 exposes is recognised, with AWS's IAM action and resource."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qsl, unquote

import botocore.session
import pytest
from botocore.serialize import create_serializer

from iamgw.s3.operations import BadCopySource, UnknownOperation, classify, copy_source

MODEL = botocore.session.get_session().get_service_model("s3")
# Operations that share their wire form with another (the deprecated twin, or a
# directory-bucket call that path-style S3 cannot tell apart).
ALIASES = {
    "GetBucketLifecycle": "GetBucketLifecycleConfiguration",
    "PutBucketLifecycle": "PutBucketLifecycleConfiguration",
    "GetBucketNotification": "GetBucketNotificationConfiguration",
    "PutBucketNotification": "PutBucketNotificationConfiguration",
    "ListDirectoryBuckets": "ListBuckets",
}


def _value(shape: Any, name: str) -> Any:
    kind = shape.type_name
    if kind == "structure":
        members = shape.members.items()
        if shape.is_tagged_union:  # exactly one member must be set
            member, inner = next(iter(members))
            value = _value(inner, member)
            if value == {}:  # an empty structure does not count as set
                first, shape_of_first = next(iter(inner.members.items()))
                value = {first: _value(shape_of_first, first)}
            return {member: value}
        return {m: _value(s, m) for m, s in members if m in shape.required_members}
    if kind == "list":
        return [_value(shape.member, name)]
    if kind in ("integer", "long"):
        return 1
    if kind == "boolean":
        return True
    if kind == "timestamp":
        return "2026-01-01T00:00:00Z"
    if kind == "blob":
        return b"x"
    if name == "Bucket":
        return "photos"
    if name == "Key":
        return "dir/cat pic+1.jpg"
    if name == "CopySource":
        return "src/a%20b.txt"
    if shape.enum:
        return shape.enum[0]
    return "v" * max(1, shape.metadata.get("min", 1))


def wire_request(name: str, extra: dict | None = None) -> dict:
    op = MODEL.operation_model(name)
    params = _value(op.input_shape, "") if op.input_shape else {}
    params.update(extra or {})
    return create_serializer("rest-xml").serialize_to_request(params, op)


def classify_wire(request: dict):
    path = request["url_path"].split("?", 1)
    query = dict(parse_qsl(path[1], keep_blank_values=True)) if len(path) > 1 else {}
    query.update({k: str(v) for k, v in request["query_string"].items()})
    parts = unquote(path[0]).lstrip("/").split("/", 1)
    bucket = parts[0] or None
    key = parts[1] if len(parts) > 1 and parts[1] else None
    headers = {k.lower(): str(v) for k, v in request["headers"].items()}
    return classify(request["method"], bucket, key, query, headers)


@pytest.mark.parametrize("name", MODEL.operation_names)
def test_every_boto3_operation_is_recognised(name: str) -> None:
    operation = classify_wire(wire_request(name))
    assert operation.name == ALIASES.get(name, name)
    assert operation.action.startswith(("s3:", "s3express:", "s3-object-lambda:"))


@pytest.mark.parametrize(
    ("name", "extra", "action", "resource"),
    [
        ("ListBuckets", {}, "s3:ListAllMyBuckets", "*"),
        ("ListObjectsV2", {}, "s3:ListBucket", "arn:aws:s3:::photos"),
        ("HeadBucket", {}, "s3:ListBucket", "arn:aws:s3:::photos"),
        ("GetObject", {}, "s3:GetObject", "arn:aws:s3:::photos/dir/cat pic+1.jpg"),
        (
            "GetObject",
            {"VersionId": "3"},
            "s3:GetObjectVersion",
            "arn:aws:s3:::photos/dir/cat pic+1.jpg",
        ),
        ("HeadObject", {}, "s3:GetObject", "arn:aws:s3:::photos/dir/cat pic+1.jpg"),
        (
            "DeleteObject",
            {"VersionId": "3"},
            "s3:DeleteObjectVersion",
            "arn:aws:s3:::photos/dir/cat pic+1.jpg",
        ),
        ("CreateMultipartUpload", {}, "s3:PutObject", "arn:aws:s3:::photos/dir/cat pic+1.jpg"),
        ("UploadPart", {}, "s3:PutObject", "arn:aws:s3:::photos/dir/cat pic+1.jpg"),
        ("ListParts", {}, "s3:ListMultipartUploadParts", "arn:aws:s3:::photos/dir/cat pic+1.jpg"),
        ("ListMultipartUploads", {}, "s3:ListBucketMultipartUploads", "arn:aws:s3:::photos"),
        ("DeleteObjects", {}, "s3:DeleteObject", "arn:aws:s3:::photos"),
        ("GetBucketCors", {}, "s3:GetBucketCORS", "arn:aws:s3:::photos"),
        ("DeleteBucketLifecycle", {}, "s3:PutLifecycleConfiguration", "arn:aws:s3:::photos"),
        (
            "PutObjectTagging",
            {"VersionId": "1"},
            "s3:PutObjectVersionTagging",
            "arn:aws:s3:::photos/dir/cat pic+1.jpg",
        ),
        (
            "GetObjectLockConfiguration",
            {},
            "s3:GetBucketObjectLockConfiguration",
            "arn:aws:s3:::photos",
        ),
    ],
)
def test_actions_and_resources(name: str, extra: dict, action: str, resource: str) -> None:
    operation = classify_wire(wire_request(name, extra))
    assert (operation.action, operation.resource) == (action, resource)


def test_list_condition_keys() -> None:
    op = classify_wire(
        wire_request("ListObjectsV2", {"Prefix": "home/alice/", "Delimiter": "/", "MaxKeys": 10})
    )
    assert op.context == {"s3:prefix": "home/alice/", "s3:delimiter": "/", "s3:max-keys": "10"}
    # No prefix asked: s3:prefix is the empty string, as S3 sets it.
    assert classify_wire(wire_request("ListObjects")).context["s3:prefix"] == ""


def test_header_condition_keys() -> None:
    op = classify_wire(
        wire_request(
            "PutObject",
            {"ACL": "public-read", "ServerSideEncryption": "AES256", "StorageClass": "STANDARD_IA"},
        )
    )
    assert op.context["s3:x-amz-acl"] == "public-read"
    assert op.context["s3:x-amz-server-side-encryption"] == "AES256"
    assert op.context["s3:x-amz-storage-class"] == "STANDARD_IA"
    op = classify_wire(wire_request("GetObject", {"VersionId": "v7"}))
    assert op.context["s3:VersionId"] == "v7"


def test_copy_source_is_parsed() -> None:
    headers = {"x-amz-copy-source": "/src/dir/a%20b.txt?versionId=v%2B1"}
    assert copy_source(headers) == ("src", "dir/a b.txt", "v+1")
    assert copy_source({}) is None
    for bad in ("nokey", "/b/public/../private/x", "/b/./k", "/b/k?versionId=1&x-id=2"):
        with pytest.raises(BadCopySource):
            copy_source({"x-amz-copy-source": bad})


def test_unknown_requests_are_refused() -> None:
    with pytest.raises(UnknownOperation):
        classify("PATCH", "photos", "k", {}, {})
    with pytest.raises(UnknownOperation):
        classify("POST", None, None, {}, {})
