"""Keys made through the IAM API sign S3 requests through the gateway to the SeaweedFS
peer, allowed and denied as the IAM-managed policies say, from the very next request."""

from __future__ import annotations

import uuid

import pytest
from botocore.exceptions import ClientError

from tests.iam.conftest import client_for, policy_arn
from tests.iam_helpers import allow, make_user


@pytest.fixture(scope="module")
def bucket(gw) -> str:
    name = f"iam-s3-{uuid.uuid4().hex[:8]}"
    s3 = gw.client("s3")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="docs/a.txt", Body=b"alpha")
    return name


def s3_code(call, **kwargs) -> str:
    with pytest.raises(ClientError) as err:
        call(**kwargs)
    return err.value.response["Error"]["Code"]


def test_attached_and_detached_policies(gw, iam, bucket) -> None:
    keys = make_user(iam, "s-reader", managed=[policy_arn("readonly")])
    s3 = client_for(gw, keys, "s3")
    assert s3.get_object(Bucket=bucket, Key="docs/a.txt")["Body"].read() == b"alpha"
    assert s3_code(s3.put_object, Bucket=bucket, Key="docs/b.txt", Body=b"x") == "AccessDenied"
    iam.detach_user_policy(UserName="s-reader", PolicyArn=policy_arn("readonly"))
    assert s3_code(s3.get_object, Bucket=bucket, Key="docs/a.txt") == "AccessDenied"


def test_inline_policy_with_a_variable(gw, iam, bucket) -> None:
    home = allow(
        ["s3:PutObject", "s3:GetObject"], f"arn:aws:s3:::{bucket}/home/${{aws:username}}/*"
    )
    keys = make_user(iam, "s-homer", inline=home)
    s3 = client_for(gw, keys, "s3")
    s3.put_object(Bucket=bucket, Key="home/s-homer/x.txt", Body=b"mine")
    assert s3.get_object(Bucket=bucket, Key="home/s-homer/x.txt")["Body"].read() == b"mine"
    assert (
        s3_code(s3.put_object, Bucket=bucket, Key="home/other/x.txt", Body=b"x") == "AccessDenied"
    )


def test_group_policy_boundary_and_versions(gw, iam, bucket) -> None:
    iam.create_group(GroupName="s-writers")
    iam.attach_group_policy(GroupName="s-writers", PolicyArn=policy_arn("readwrite"))
    keys = make_user(iam, "s-writer")
    s3 = client_for(gw, keys, "s3")
    assert s3_code(s3.put_object, Bucket=bucket, Key="w/1", Body=b"1") == "AccessDenied"
    iam.add_user_to_group(GroupName="s-writers", UserName="s-writer")
    s3.put_object(Bucket=bucket, Key="w/1", Body=b"1")
    # A boundary limits what the group grants.
    iam.put_user_permissions_boundary(
        UserName="s-writer", PermissionsBoundary=policy_arn("readonly")
    )
    assert s3_code(s3.put_object, Bucket=bucket, Key="w/2", Body=b"2") == "AccessDenied"
    assert s3.get_object(Bucket=bucket, Key="w/1")["Body"].read() == b"1"
    iam.delete_user_permissions_boundary(UserName="s-writer")
    s3.put_object(Bucket=bucket, Key="w/2", Body=b"2")
    iam.remove_user_from_group(GroupName="s-writers", UserName="s-writer")
    assert s3_code(s3.get_object, Bucket=bucket, Key="w/1") == "AccessDenied"


def test_new_default_version_decides(gw, iam, bucket) -> None:
    arn = iam.create_policy(PolicyName="s-get", PolicyDocument=allow("s3:GetObject"))["Policy"][
        "Arn"
    ]
    keys = make_user(iam, "s-versioned", managed=[arn])
    s3 = client_for(gw, keys, "s3")
    s3.get_object(Bucket=bucket, Key="docs/a.txt")
    iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=allow("s3:ListBucket"), SetAsDefault=True
    )
    assert s3_code(s3.get_object, Bucket=bucket, Key="docs/a.txt") == "AccessDenied"
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    s3.get_object(Bucket=bucket, Key="docs/a.txt")


def test_inactive_and_deleted_keys(gw, iam, bucket) -> None:
    keys = make_user(iam, "s-keys", managed=[policy_arn("readonly")])
    s3 = client_for(gw, keys, "s3")
    s3.get_object(Bucket=bucket, Key="docs/a.txt")
    iam.update_access_key(UserName="s-keys", AccessKeyId=keys.key, Status="Inactive")
    assert s3_code(s3.get_object, Bucket=bucket, Key="docs/a.txt") == "InvalidAccessKeyId"
    iam.update_access_key(UserName="s-keys", AccessKeyId=keys.key, Status="Active")
    s3.get_object(Bucket=bucket, Key="docs/a.txt")
    iam.delete_access_key(UserName="s-keys", AccessKeyId=keys.key)
    assert s3_code(s3.get_object, Bucket=bucket, Key="docs/a.txt") == "InvalidAccessKeyId"
