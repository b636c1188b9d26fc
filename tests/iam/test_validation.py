"""Bad input is refused with IAM's error code, and a refused call changes nothing:
not an entity, not even the store generation (one transaction per call)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.iam.conftest import ACCOUNT, code, policy_arn
from tests.iam_helpers import allow, trust

TRUST = trust({"Service": "ec2.amazonaws.com"})
BAD_CONDITION = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"StringLikee": {"s3:prefix": "a/"}},
            }
        ],
    }
)
HUGE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": [f"s3:GetObject{i:04d}" for i in range(400)],
                "Resource": "*",
            }
        ],
    }
)
THUMB = "0" * 40

CASES = [
    ("create_user", {"UserName": "bad name"}, "ValidationError"),
    ("create_user", {"UserName": "x" * 65}, "ValidationError"),
    ("create_user", {"UserName": "ok-user", "Path": "noslash"}, "ValidationError"),
    (
        "create_user",
        {"UserName": "ok-user", "PermissionsBoundary": policy_arn("nope")},
        "NoSuchEntity",
    ),
    (
        "create_user",
        {"UserName": "ok-user", "Tags": [{"Key": "a", "Value": "1"}, {"Key": "a", "Value": "2"}]},
        "InvalidInput",
    ),
    ("create_user", {"UserName": "v-existing"}, "EntityAlreadyExists"),
    ("update_user", {"UserName": "v-existing", "NewUserName": "v-other"}, "EntityAlreadyExists"),
    ("update_user", {"UserName": "v-missing", "NewPath": "/x/"}, "NoSuchEntity"),
    ("create_group", {"GroupName": "g" * 129}, "ValidationError"),
    ("add_user_to_group", {"GroupName": "v-group", "UserName": "v-missing"}, "NoSuchEntity"),
    ("create_role", {"RoleName": "r" * 65, "AssumeRolePolicyDocument": TRUST}, "ValidationError"),
    (
        "create_role",
        {"RoleName": "ok-role", "AssumeRolePolicyDocument": TRUST, "MaxSessionDuration": 100},
        "ValidationError",
    ),
    (
        "create_role",
        {"RoleName": "ok-role", "AssumeRolePolicyDocument": allow("s3:*")},
        "MalformedPolicyDocument",
    ),  # a trust policy needs a Principal
    (
        "create_role",
        {"RoleName": "ok-role", "AssumeRolePolicyDocument": "{not json"},
        "MalformedPolicyDocument",
    ),
    (
        "create_role",
        {
            "RoleName": "ok-role",
            "AssumeRolePolicyDocument": TRUST,
            "PermissionsBoundary": policy_arn("nope"),
        },
        "NoSuchEntity",
    ),
    (
        "update_assume_role_policy",
        {"RoleName": "v-role", "PolicyDocument": allow("s3:*")},
        "MalformedPolicyDocument",
    ),
    (
        "create_policy",
        {"PolicyName": "ok-policy", "PolicyDocument": BAD_CONDITION},
        "MalformedPolicyDocument",
    ),
    (
        "create_policy",
        {"PolicyName": "p" * 129, "PolicyDocument": allow("s3:*")},
        "ValidationError",
    ),
    (
        "create_policy",
        {"PolicyName": "ok-policy", "PolicyDocument": allow("s3:*"), "Path": "/a"},
        "ValidationError",
    ),
    ("create_policy", {"PolicyName": "ok-policy", "PolicyDocument": HUGE}, "LimitExceeded"),
    (
        "create_policy",
        {"PolicyName": "v-policy", "PolicyDocument": allow("s3:*")},
        "EntityAlreadyExists",
    ),
    (
        "create_policy_version",
        {"PolicyArn": policy_arn("v-policy"), "PolicyDocument": BAD_CONDITION},
        "MalformedPolicyDocument",
    ),
    (
        "get_policy_version",
        {"PolicyArn": policy_arn("v-policy"), "VersionId": "version1"},
        "ValidationError",
    ),
    (
        "put_user_policy",
        {"UserName": "v-existing", "PolicyName": "p", "PolicyDocument": HUGE},
        "LimitExceeded",
    ),
    (
        "put_user_policy",
        {"UserName": "v-existing", "PolicyName": "bad name", "PolicyDocument": allow("s3:*")},
        "ValidationError",
    ),
    (
        "attach_user_policy",
        {"UserName": "v-existing", "PolicyArn": policy_arn("nope")},
        "NoSuchEntity",
    ),
    (
        "update_access_key",
        {"UserName": "v-existing", "AccessKeyId": "AKIA0000000000000000", "Status": "Broken"},
        "ValidationError",
    ),
    (
        "delete_access_key",
        {"UserName": "v-existing", "AccessKeyId": "AKIA0000000000000000"},
        "NoSuchEntity",
    ),
    ("list_users", {"Marker": "!!!"}, "InvalidInput"),
    ("list_users", {"MaxItems": 0}, "ValidationError"),
    (
        "create_open_id_connect_provider",
        {"Url": "http://idp.example", "ThumbprintList": [THUMB]},
        "ValidationError",
    ),
    (
        "create_open_id_connect_provider",
        {"Url": "https://idp.example", "ThumbprintList": ["xyz"]},
        "ValidationError",
    ),
    (
        "simulate_principal_policy",
        {
            "PolicySourceArn": f"arn:aws:iam::{ACCOUNT}:user/v-existing",
            "ActionNames": ["s3:GetObject"],
            "PolicyInputList": [BAD_CONDITION],
        },
        "MalformedPolicyDocument",
    ),
]


@pytest.fixture(scope="module")
def raw(gw, iam):
    """A client that sends what it is given (botocore's own checks off), and the fixtures."""
    iam.create_user(UserName="v-existing")
    iam.create_user(UserName="v-other")
    iam.create_group(GroupName="v-group")
    iam.create_role(RoleName="v-role", AssumeRolePolicyDocument=TRUST)
    iam.create_policy(PolicyName="v-policy", PolicyDocument=allow("s3:GetObject"))
    return gw.client("iam", parameter_validation=False)


def snapshot(iam) -> tuple:
    return (
        [u["UserName"] for u in iam.list_users()["Users"]],
        [g["GroupName"] for g in iam.list_groups()["Groups"]],
        [r["RoleName"] for r in iam.list_roles()["Roles"]],
        [p["PolicyName"] for p in iam.list_policies(MaxItems=1000)["Policies"]],
        iam.list_policy_versions(PolicyArn=policy_arn("v-policy"))["Versions"],
        iam.list_user_policies(UserName="v-existing")["PolicyNames"],
        iam.list_attached_user_policies(UserName="v-existing")["AttachedPolicies"],
    )


@pytest.mark.parametrize(
    ("operation", "kwargs", "expected"),
    CASES,
    ids=[f"{c[0]}-{c[2]}-{i}" for i, c in enumerate(CASES)],
)
def test_refused_and_nothing_changed(gw, iam, raw, operation, kwargs, expected) -> None:
    before, generation = snapshot(iam), gw.repo.generation()
    with pytest.raises(ClientError) as err:
        getattr(raw, operation)(**kwargs)
    assert code(err) == expected, err.value.response["Error"]
    assert gw.repo.generation() == generation
    assert snapshot(iam) == before


def test_messages_say_what_and_where(raw) -> None:
    with pytest.raises(ClientError) as err:
        raw.create_user(UserName="bad name")
    assert err.value.response["Error"]["Message"] == (
        "1 validation error detected: Value 'bad name' at 'userName' failed to satisfy "
        r"constraint: Member must satisfy regular expression pattern: [\w+=,.@-]+"
    )
    with pytest.raises(ClientError) as err:
        raw.create_policy(PolicyName="ok-policy", PolicyDocument=BAD_CONDITION)
    message = err.value.response["Error"]["Message"]
    assert "StringLikee" in message and "Statement[0].Condition" in message


def test_limits(iam) -> None:
    iam.create_user(UserName="v-many")
    arns = [
        iam.create_policy(PolicyName=f"v-lim{i}", PolicyDocument=allow("s3:GetObject"))["Policy"][
            "Arn"
        ]
        for i in range(11)
    ]
    for arn in arns[:10]:
        iam.attach_user_policy(UserName="v-many", PolicyArn=arn)
    with pytest.raises(ClientError) as err:
        iam.attach_user_policy(UserName="v-many", PolicyArn=arns[10])
    assert code(err) == "LimitExceeded"
    assert len(iam.list_attached_user_policies(UserName="v-many")["AttachedPolicies"]) == 10
