"""Roles made through the IAM API, assumed through STS: the trust policy, the session
duration limit and the role's policies decide, and IAM changes apply to live sessions."""

from __future__ import annotations

import pytest
from botocore.exceptions import ClientError

from tests.iam.conftest import ACCOUNT, client_for, user_arn
from tests.iam_helpers import allow, make_user, trust

ROLE_ARN = f"arn:aws:iam::{ACCOUNT}:role/t-ops"


def test_assume_an_iam_role_and_use_its_policies(gw, iam) -> None:
    iam.create_role(RoleName="t-ops", AssumeRolePolicyDocument=trust(user_arn("t-alice")))
    arn = iam.create_policy(PolicyName="t-ops-policy", PolicyDocument=allow("iam:ListRoles"))[
        "Policy"
    ]["Arn"]
    iam.attach_role_policy(RoleName="t-ops", PolicyArn=arn)
    alice = make_user(iam, "t-alice", inline=allow("sts:AssumeRole", ROLE_ARN))
    bob = make_user(iam, "t-bob", inline=allow("sts:AssumeRole", ROLE_ARN))
    sts = client_for(gw, alice, "sts")
    with pytest.raises(ClientError) as err:
        client_for(gw, bob, "sts").assume_role(RoleArn=ROLE_ARN, RoleSessionName="s1")
    assert err.value.response["Error"]["Code"] == "AccessDenied"  # not in the trust policy
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="s1", DurationSeconds=7200)
    assert err.value.response["Error"]["Code"] == "ValidationError"  # MaxSessionDuration 3600
    iam.update_role(RoleName="t-ops", MaxSessionDuration=7200)
    creds = sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="s1", DurationSeconds=7200)[
        "Credentials"
    ]
    session = gw.client(
        "iam", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]
    )
    assert session.list_roles()["Roles"]
    with pytest.raises(ClientError) as err:
        session.create_user(UserName="t-new")
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    assert "assumed-role/t-ops/s1 is not authorized" in err.value.response["Error"]["Message"]
    # A new default version of the role's policy decides the live session's next call.
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("iam:GetRole"), SetAsDefault=True)
    with pytest.raises(ClientError) as err:
        session.list_roles()
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    assert session.get_role(RoleName="t-ops")["Role"]["MaxSessionDuration"] == 7200
    # A new trust policy decides the next AssumeRole.
    iam.update_assume_role_policy(RoleName="t-ops", PolicyDocument=trust(user_arn("t-bob")))
    with pytest.raises(ClientError) as err:
        sts.assume_role(RoleArn=ROLE_ARN, RoleSessionName="s2")
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    client_for(gw, bob, "sts").assume_role(RoleArn=ROLE_ARN, RoleSessionName="s3")
