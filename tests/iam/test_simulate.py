"""The policy simulator answers with iamgw.policy's decisions in AWS's result shape."""

from __future__ import annotations

import json

from tests.iam.conftest import ACCOUNT, client_for, policy_arn, user_arn
from tests.iam_helpers import allow, make_user

DENY_DELETE = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Sid": "NoDelete", "Effect": "Deny", "Action": "s3:DeleteObject", "Resource": "*"}
        ],
    }
)


def decisions(result: dict) -> dict[tuple[str, str], str]:
    return {
        (r["EvalActionName"], r["EvalResourceName"]): r["EvalDecision"]
        for r in result["EvaluationResults"]
    }


def test_principal_policy_of_a_user_and_its_groups(iam) -> None:
    iam.create_user(UserName="m-sim")
    iam.attach_user_policy(UserName="m-sim", PolicyArn=policy_arn("readwrite"))
    iam.create_group(GroupName="m-simgroup")
    iam.put_group_policy(GroupName="m-simgroup", PolicyName="nodelete", PolicyDocument=DENY_DELETE)
    iam.add_user_to_group(GroupName="m-simgroup", UserName="m-sim")
    result = iam.simulate_principal_policy(
        PolicySourceArn=user_arn("m-sim"),
        ActionNames=["s3:GetObject", "s3:DeleteObject", "iam:CreateUser"],
        ResourceArns=["arn:aws:s3:::b/k"],
    )
    assert decisions(result) == {
        ("s3:GetObject", "arn:aws:s3:::b/k"): "allowed",
        ("s3:DeleteObject", "arn:aws:s3:::b/k"): "explicitDeny",
        ("iam:CreateUser", "arn:aws:s3:::b/k"): "implicitDeny",
    }
    by_action = {r["EvalActionName"]: r for r in result["EvaluationResults"]}
    # Canned policies are stored compact: the statement is on line 1.
    assert by_action["s3:GetObject"]["MatchedStatements"] == [
        {
            "SourcePolicyId": "readwrite",
            "SourcePolicyType": "aws-managed",
            "StartPosition": {"Line": 1, "Column": 38},
            "EndPosition": {"Line": 1, "Column": 103},
        }
    ]
    matched = by_action["s3:DeleteObject"]["MatchedStatements"]
    assert [(m["SourcePolicyId"], m["SourcePolicyType"]) for m in matched] == [
        ("nodelete", "group")
    ]
    start, end = matched[0]["StartPosition"], matched[0]["EndPosition"]
    assert DENY_DELETE[start["Column"] - 1] == "{" and DENY_DELETE[end["Column"] - 1] == "}"
    assert by_action["iam:CreateUser"]["MatchedStatements"] == []
    # The user's boundary limits, and says so.
    iam.put_user_permissions_boundary(UserName="m-sim", PermissionsBoundary=policy_arn("readonly"))
    result = iam.simulate_principal_policy(
        PolicySourceArn=user_arn("m-sim"), ActionNames=["s3:PutObject", "s3:GetObject"]
    )
    assert decisions(result) == {
        ("s3:PutObject", "*"): "implicitDeny",
        ("s3:GetObject", "*"): "allowed",
    }
    detail = {
        r["EvalActionName"]: r["PermissionsBoundaryDecisionDetail"]
        for r in result["EvaluationResults"]
    }
    assert detail["s3:PutObject"] == {"AllowedByPermissionsBoundary": False}


def test_custom_policy_with_context(iam) -> None:
    policy = json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "FromOffice",
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": "*",
                    "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}},
                }
            ],
        }
    )

    def run(ip: str) -> dict:
        return iam.simulate_custom_policy(
            PolicyInputList=[policy],
            ActionNames=["s3:GetObject"],
            ResourceArns=["arn:aws:s3:::b/k"],
            ContextEntries=[
                {"ContextKeyName": "aws:SourceIp", "ContextKeyValues": [ip], "ContextKeyType": "ip"}
            ],
        )["EvaluationResults"][0]

    inside = run("10.1.2.3")
    assert inside["EvalDecision"] == "allowed"
    assert inside["MatchedStatements"] == [
        {
            "SourcePolicyId": "PolicyInputList.1",
            "SourcePolicyType": "IAM Policy",
            "StartPosition": {"Line": 1, "Column": policy.index("[{") + 2},
            "EndPosition": {"Line": 1, "Column": len(policy) - 2},
        }
    ]
    assert run("192.0.2.1")["EvalDecision"] == "implicitDeny"
    assert inside["MissingContextValues"] == []
    without = iam.simulate_custom_policy(PolicyInputList=[policy], ActionNames=["s3:GetObject"])
    result = without["EvaluationResults"][0]
    assert result["EvalDecision"] == "implicitDeny"
    assert result["MissingContextValues"] == ["aws:SourceIp"]


def test_simulation_is_authorised(gw, iam) -> None:
    keys = make_user(
        iam,
        "m-simmer",
        inline=allow(
            "iam:SimulatePrincipalPolicy", f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}"
        ),
    )
    me = client_for(gw, keys)
    own = me.simulate_principal_policy(
        PolicySourceArn=user_arn("m-simmer"),
        ActionNames=["iam:SimulatePrincipalPolicy"],
        ResourceArns=[user_arn("m-simmer")],
    )
    assert own["EvaluationResults"][0]["EvalDecision"] == "allowed"
    import pytest
    from botocore.exceptions import ClientError

    with pytest.raises(ClientError) as err:
        me.simulate_principal_policy(
            PolicySourceArn=user_arn("m-sim-other"), ActionNames=["s3:GetObject"]
        )
    assert err.value.response["Error"]["Code"] == "AccessDenied"
    with pytest.raises(ClientError) as err:
        me.simulate_custom_policy(PolicyInputList=[DENY_DELETE], ActionNames=["s3:GetObject"])
    assert err.value.response["Error"]["Code"] == "AccessDenied"
