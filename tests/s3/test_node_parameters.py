"""Query parameters the node routes on and the decision would not see are refused
(review findings): SeaweedFS's own `?seaweedfs-quota`, and a `partNumber` the node does
not read as a part number (it then runs a plain PutObject, past the checks on tagging
and object-lock headers). Headers granting ACLs need s3:PutObjectAcl, as in S3."""

from __future__ import annotations

import json

import botocore.exceptions
import httpx
import pytest

from tests.gateway_server import GatewayServer
from tests.s3.conftest import make_user
from tests.s3.test_attacks import error, send, signed

POLICY = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["s3:CreateBucket", "s3:ListBucket", "s3:PutObject",
                                       "s3:GetObject"], "Resource": "*"},
    ],
}  # fmt: skip
BUCKET_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:GetObject",
                   "Resource": "arn:aws:s3:::nodeparams/secret"}],
})  # fmt: skip


@pytest.fixture(scope="module")
def user(gateway: GatewayServer, root_s3):
    root_s3.create_bucket(Bucket="nodeparams")
    root_s3.put_object(Bucket="nodeparams", Key="secret", Body=b"s")
    root_s3.put_bucket_policy(Bucket="nodeparams", Policy=BUCKET_POLICY)
    return make_user(gateway, "param-user", inline=POLICY)


def test_the_node_routes_on_a_parameter_of_its_own(seaweedfs, user, node) -> None:
    """Straight to the node: `?seaweedfs-quota` answers the bucket's quota, not a listing."""
    url = node.generate_presigned_url("list_objects", Params={"Bucket": "nodeparams"})
    r = httpx.get(url.replace("?", "?seaweedfs-quota&", 1))
    assert "ListBucketResult" not in r.text, r.text


@pytest.mark.parametrize("method", ["PUT", "GET"])
def test_node_parameters_are_refused(gateway, user, root_s3, method) -> None:
    body = b'{"quota_size":1,"quota_unit":"B","quota_enabled":true}' if method == "PUT" else b""
    r = send(signed(method, f"{gateway.url}/nodeparams?seaweedfs-quota", body=body,
                    key=user.key, secret=user.secret))  # fmt: skip
    assert r.status_code == 501 and error(r) == "NotImplemented", r.text
    assert json.loads(root_s3.get_bucket_policy(Bucket="nodeparams")["Policy"])
    root_s3.put_object(Bucket="nodeparams", Key="still-writable", Body=b"w")


@pytest.mark.parametrize("part", ["x", "01", "%2B1", "0", "10001", "1.0", "", "99999999999"])
def test_part_numbers_the_node_reads_otherwise_are_refused(gateway, user, node, part) -> None:
    url = f"{gateway.url}/nodeparams/tagged?partNumber={part}&uploadId=zz"
    r = send(signed("PUT", url, body=b"x", headers={"x-amz-tagging": "k=v"},
                    key=user.key, secret=user.secret))  # fmt: skip
    assert r.status_code == 400 and error(r) == "InvalidArgument", r.text
    with pytest.raises(botocore.exceptions.ClientError):
        node.head_object(Bucket="nodeparams", Key="tagged")


def test_an_empty_upload_id_is_refused(gateway, user) -> None:
    url = f"{gateway.url}/nodeparams/k?partNumber=1&uploadId="
    r = send(signed("PUT", url, body=b"x", key=user.key, secret=user.secret))
    assert r.status_code == 400 and error(r) == "InvalidArgument", r.text


def test_acl_headers_need_put_object_acl(gateway, user, node) -> None:
    client = gateway.client(key=user.key, secret=user.secret)
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        client.put_object(Bucket="nodeparams", Key="acl", Body=b"x", ACL="public-read")
    with pytest.raises(botocore.exceptions.ClientError):
        node.head_object(Bucket="nodeparams", Key="acl")
    client.put_object(Bucket="nodeparams", Key="acl", Body=b"x")  # without: allowed
