"""Bucket policies: stored and served by the gateway, evaluated as resource policies."""

from __future__ import annotations

import json

import botocore.exceptions
import httpx
import pytest

from tests.iam_helpers import make_user
from tests.s3.conftest import READONLY

PUBLIC_READ = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "PublicRead",
            "Effect": "Allow",
            "Principal": "*",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::site/public/*",
        }
    ],
}


@pytest.fixture(scope="module")
def site(root_s3):
    root_s3.create_bucket(Bucket="site")
    root_s3.put_object(Bucket="site", Key="public/index.html", Body=b"<h1>hi</h1>")
    root_s3.put_object(Bucket="site", Key="private/key.pem", Body=b"secret")
    root_s3.put_bucket_policy(Bucket="site", Policy=json.dumps(PUBLIC_READ))
    return "site"


def test_policy_round_trip(root_s3, site) -> None:
    assert json.loads(root_s3.get_bucket_policy(Bucket=site)["Policy"]) == PUBLIC_READ


def test_anonymous_read_of_the_public_prefix_only(gateway, site) -> None:
    r = httpx.get(f"{gateway.url}/site/public/index.html")
    assert r.status_code == 200 and r.content == b"<h1>hi</h1>"
    for path in ("/site/private/key.pem", "/site", "/"):
        assert httpx.get(gateway.url + path).status_code == 403
    # Allowed, but not there: the node's own answer comes back.
    assert httpx.get(f"{gateway.url}/site/public/new.html").status_code == 404
    assert httpx.put(f"{gateway.url}/site/public/new.html", content=b"x").status_code == 403
    assert "<Code>AccessDenied</Code>" in httpx.get(f"{gateway.url}/site/private/key.pem").text


def test_bucket_policy_deny_beats_identity_allow(gateway, root_s3) -> None:
    root_s3.create_bucket(Bucket="vault")
    root_s3.put_object(Bucket="vault", Key="gold", Body=b"au")
    keys = make_user(gateway, "vault-reader", managed=[READONLY])
    s3 = gateway.client(key=keys.key, secret=keys.secret)
    assert s3.get_object(Bucket="vault", Key="gold")["Body"].read() == b"au"
    deny = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Principal": {"AWS": "arn:aws:iam::000000000000:user/vault-reader"},
                "Action": "s3:*",
                "Resource": ["arn:aws:s3:::vault", "arn:aws:s3:::vault/*"],
            }
        ],
    }
    root_s3.put_bucket_policy(Bucket="vault", Policy=json.dumps(deny))
    with pytest.raises(botocore.exceptions.ClientError) as info:
        s3.get_object(Bucket="vault", Key="gold")
    assert info.value.response["Error"]["Code"] == "AccessDenied"
    root_s3.delete_bucket_policy(Bucket="vault")
    assert s3.get_object(Bucket="vault", Key="gold")["Body"].read() == b"au"
    with pytest.raises(botocore.exceptions.ClientError) as info:
        root_s3.get_bucket_policy(Bucket="vault")
    assert info.value.response["Error"]["Code"] == "NoSuchBucketPolicy"


@pytest.mark.parametrize(
    "policy",
    [
        "not json",
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::site/*"}
                ],
            }
        ),
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::other-bucket/*",
                    }
                ],
            }
        ),
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Maybe",
                        "Principal": "*",
                        "Action": "s3:GetObject",
                        "Resource": "arn:aws:s3:::site/*",
                    }
                ],
            }
        ),
    ],
    ids=["not-json", "no-principal", "other-bucket", "bad-effect"],
)
def test_malformed_policies_are_refused_and_change_nothing(root_s3, site, policy: str) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        root_s3.put_bucket_policy(Bucket=site, Policy=policy)
    assert info.value.response["Error"]["Code"] == "MalformedPolicy"
    assert json.loads(root_s3.get_bucket_policy(Bucket=site)["Policy"]) == PUBLIC_READ


def test_policy_of_a_missing_bucket(root_s3) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        root_s3.put_bucket_policy(Bucket="no-such-bucket-here", Policy=json.dumps(PUBLIC_READ))
    assert info.value.response["Error"]["Code"] == "NoSuchBucket"


def test_only_allowed_users_manage_policies(gateway, site) -> None:
    keys = make_user(gateway, "policy-reader", managed=[READONLY])
    s3 = gateway.client(key=keys.key, secret=keys.secret)
    with pytest.raises(botocore.exceptions.ClientError) as info:
        s3.delete_bucket_policy(Bucket=site)
    assert info.value.response["Error"]["Code"] == "AccessDenied"


def test_virtual_host_style_addressing(gateway, site) -> None:
    port = gateway.url.rsplit(":", 1)[1]
    r = httpx.get(f"{gateway.url}/public/index.html", headers={"Host": f"site.127.0.0.1:{port}"})
    assert r.status_code == 200 and r.content == b"<h1>hi</h1>"
    r = httpx.get(f"{gateway.url}/private/key.pem", headers={"Host": f"site.127.0.0.1:{port}"})
    assert r.status_code == 403
