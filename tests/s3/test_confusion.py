"""Requests the gateway and a node could read as different operations are refused:
sub-resources a node does not implement, several sub-resources, repeated query
parameters, ambiguous DeleteObjects bodies, copy sources through dot segments, and a
bucket policy outliving its bucket (found in review; each reproduced before the fix)."""

from __future__ import annotations

import json

import botocore.exceptions
import httpx
import pytest

from iamgw.s3.operations import FORWARDED, RULES
from tests.iam_helpers import make_user
from tests.s3.test_attacks import error, send, signed


def only(*actions: str, resource: str = "*") -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": list(actions), "Resource": resource}],
    }


@pytest.fixture(scope="module")
def victim(root_s3) -> str:
    root_s3.create_bucket(Bucket="victim")
    root_s3.put_object(Bucket="victim", Key="obj", Body=b"original")
    return "victim"


def test_unimplemented_sub_resources_never_reach_the_node(gateway, victim, node) -> None:
    keys = make_user(
        gateway,
        "narrow",
        inline=only(
            "s3:PutObjectAnnotation",
            "s3:GetObjectAnnotation",
            "s3:DeleteBucketWebsite",
            "s3:PutBucketAbac",
        ),
    )
    cases = [
        ("PUT", "/victim/obj?annotation", b"overwritten"),
        ("GET", "/victim/obj?annotation", b""),
        ("DELETE", "/victim?website", b""),
        ("PUT", "/brand-new-bucket?abac", b""),
    ]
    for method, path, body in cases:
        r = send(signed(method, gateway.url + path, body=body, key=keys.key, secret=keys.secret))
        assert r.status_code == 501 and error(r) == "NotImplemented", (method, path, r.text)
    assert node.get_object(Bucket="victim", Key="obj")["Body"].read() == b"original"
    assert "brand-new-bucket" not in [b["Name"] for b in node.list_buckets()["Buckets"]]


@pytest.mark.parametrize(
    "query",
    [
        "versionId=old&versionId=",
        "prefix=home/bob/&prefix=home/alice/",
        "restore&uploads",
        "tagging&uploadId=1&partNumber=1",
    ],
)
def test_ambiguous_queries_are_refused(gateway, victim, query) -> None:
    r = send(signed("GET", f"{gateway.url}/victim/obj?{query}"))
    assert r.status_code == 400 and error(r) == "InvalidRequest", r.text


def test_delete_objects_reads_one_key_per_object(gateway, root_s3, node) -> None:
    root_s3.create_bucket(Bucket="delb")
    root_s3.put_object(Bucket="delb", Key="secret1", Body=b"s")
    keys = make_user(
        gateway,
        "public-deleter",
        inline=only("s3:DeleteObject", resource="arn:aws:s3:::delb/public/*"),
    )
    body = (
        b'<Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Object>'
        b"<Key>public/a</Key><Key>secret1</Key></Object></Delete>"
    )
    r = send(
        signed(
            "POST",
            f"{gateway.url}/delb?delete",
            body=body,
            key=keys.key,
            secret=keys.secret,
            headers={"Content-Type": "application/xml"},
        )
    )
    assert r.status_code == 400 and error(r) == "MalformedXML"
    assert node.get_object(Bucket="delb", Key="secret1")["Body"].read() == b"s"


def test_copy_source_through_dot_segments(gateway, root_s3) -> None:
    root_s3.create_bucket(Bucket="srcb")
    keys = make_user(
        gateway,
        "copier",
        inline=only("s3:GetObject", "s3:PutObject", resource="arn:aws:s3:::srcb/public/*"),
    )
    r = send(
        signed(
            "PUT",
            f"{gateway.url}/srcb/public/copy",
            key=keys.key,
            secret=keys.secret,
            headers={"x-amz-copy-source": "/srcb/public/../private/x"},
        )
    )
    assert r.status_code == 400 and error(r) == "InvalidArgument"


def test_a_bucket_policy_does_not_outlive_its_bucket(gateway, root_s3) -> None:
    public = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": "*",
                "Action": "s3:GetObject",
                "Resource": "arn:aws:s3:::stale1/*",
            }
        ],
    }
    root_s3.create_bucket(Bucket="stale1")
    root_s3.put_bucket_policy(Bucket="stale1", Policy=json.dumps(public))
    root_s3.delete_bucket(Bucket="stale1")
    root_s3.create_bucket(Bucket="stale1")
    root_s3.put_object(Bucket="stale1", Key="payroll.csv", Body=b"CONFIDENTIAL")
    assert httpx.get(f"{gateway.url}/stale1/payroll.csv").status_code == 403
    with pytest.raises(botocore.exceptions.ClientError):
        root_s3.get_bucket_policy(Bucket="stale1")


def test_the_node_implements_every_forwarded_sub_resource(node) -> None:
    """What FORWARDED relies on: the node answers each of these sub-resources as itself,
    never as the plain request (a DELETE does not delete, a GET does not read)."""
    node.create_bucket(Bucket="probe")
    node.put_object(Bucket="probe", Key="obj", Body=b"data")
    for rule in RULES:
        if rule.operation not in FORWARDED or rule.subresource in (
            None,
            "list-type",
            "uploads",
            "delete",
            "versions",
        ):
            continue
        path = "/probe" + ("/obj" if rule.target == "object" else "") + f"?{rule.subresource}"
        if rule.method == "GET":
            answer = node._endpoint.http_session.send(_raw(node, "GET", path)).content
            assert answer != b"data" and b"<ListBucketResult" not in answer, rule.operation
        elif rule.method == "DELETE":
            node._endpoint.http_session.send(_raw(node, "DELETE", path))
            assert node.head_bucket(Bucket="probe")  # still there
            node.head_object(Bucket="probe", Key="obj")


def _raw(node, method: str, path: str):
    from botocore.auth import S3SigV4Auth
    from botocore.awsrequest import AWSRequest

    request = AWSRequest(method=method, url=node.meta.endpoint_url + path)
    S3SigV4Auth(node._request_signer._credentials, "s3", "us-east-1").add_auth(request)
    return request.prepare()


def test_headers_that_need_their_own_permission(gateway, root_s3, node) -> None:
    root_s3.create_bucket(Bucket="hdrs")
    keys = make_user(
        gateway,
        "put-only",
        inline=only("s3:PutObject", "s3:GetObject", resource="arn:aws:s3:::hdrs/*"),
    )
    s3 = gateway.client(key=keys.key, secret=keys.secret)
    s3.put_object(Bucket="hdrs", Key="plain", Body=b"x")  # the plain write is allowed
    for extra in ({"Tagging": "team=red"}, {"ObjectLockLegalHoldStatus": "ON"}):
        with pytest.raises(botocore.exceptions.ClientError) as info:
            s3.put_object(Bucket="hdrs", Key="tagged", Body=b"x", **extra)
        assert info.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(botocore.exceptions.ClientError):
        node.head_object(Bucket="hdrs", Key="tagged")
