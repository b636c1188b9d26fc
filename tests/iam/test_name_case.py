"""IAM names are case-insensitive: a decision is made on the entity the store acts on,
never on the caller's spelling of its name (review finding: with a Deny on user/admin,
CreateAccessKey UserName=ADMIN minted a key for admin)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import botocore.exceptions
import pytest

from tests.gateway_server import GatewayServer, running_gateway

ACCOUNT = "000000000000"


@pytest.fixture(scope="module")
def gw(seaweedfs, tmp_path_factory) -> Iterator[GatewayServer]:
    with running_gateway(tmp_path_factory.mktemp("name-case"), seaweedfs) as server:
        yield server


@pytest.fixture(scope="module")
def helpdesk(gw):
    iam = gw.client("iam")
    iam.create_user(UserName="admin")
    iam.create_policy(PolicyName="AdminAccess", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
    }))  # fmt: skip
    iam.create_user(UserName="helpdesk")
    iam.put_user_policy(UserName="helpdesk", PolicyName="p", PolicyDocument=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Action": ["iam:CreateAccessKey", "iam:AttachUserPolicy",
                                           "iam:PutUserPermissionsBoundary"],
             "Resource": "arn:aws:iam::000000000000:user/*"},
            {"Effect": "Deny", "Action": "iam:*",
             "Resource": "arn:aws:iam::000000000000:user/admin"},
            {"Effect": "Deny", "Action": "iam:AttachUserPolicy", "Resource": "*",
             "Condition": {"ArnEquals": {
                 "iam:PolicyARN": "arn:aws:iam::000000000000:policy/AdminAccess"}}},
            {"Effect": "Deny", "Action": "iam:PutUserPermissionsBoundary", "Resource": "*",
             "Condition": {"ArnEquals": {
                 "iam:PermissionsBoundary": "arn:aws:iam::000000000000:policy/AdminAccess"}}},
        ],
    }))  # fmt: skip
    key = iam.create_access_key(UserName="helpdesk")["AccessKey"]
    return gw.client("iam", key["AccessKeyId"], key["SecretAccessKey"])


@pytest.mark.parametrize("spelling", ["admin", "ADMIN", "Admin", "aDmIn"])
def test_a_denied_user_is_denied_in_any_case(gw, helpdesk, spelling) -> None:
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        helpdesk.create_access_key(UserName=spelling)
    assert gw.client("iam").list_access_keys(UserName="admin")["AccessKeyMetadata"] == []


@pytest.mark.parametrize(
    ("n", "spelling"), enumerate(["AdminAccess", "ADMINACCESS", "adminaccess"])
)
def test_a_denied_policy_arn_is_denied_in_any_case(gw, helpdesk, n, spelling) -> None:
    gw.client("iam").create_user(UserName=f"target-{n}")
    arn = f"arn:aws:iam::{ACCOUNT}:policy/{spelling}"
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        helpdesk.attach_user_policy(UserName=f"target-{n}", PolicyArn=arn)
    with pytest.raises(botocore.exceptions.ClientError, match="AccessDenied"):
        helpdesk.put_user_permissions_boundary(UserName=f"target-{n}", PermissionsBoundary=arn)
    attached = gw.client("iam").list_attached_user_policies(UserName=f"target-{n}")
    assert attached["AttachedPolicies"] == []


def test_other_users_still_work(gw, helpdesk) -> None:
    gw.client("iam").create_user(UserName="intern")
    key = helpdesk.create_access_key(UserName="INTERN")["AccessKey"]
    assert key["UserName"] == "intern"
