"""Every IAM call is decided by policy: a delegated administrator may do only what its
policies allow, and nobody can grant themselves more (each escalation path a test)."""

from __future__ import annotations

import json

import pytest
from botocore.exceptions import ClientError

from tests.iam.conftest import ACCOUNT, client_for, code, policy_arn, user_arn
from tests.iam_helpers import allow, make_user

SELF = f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}"


def statements(*items: dict) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(items)})


def denied(call, *args, **kwargs) -> ClientError:
    with pytest.raises(ClientError) as err:
        call(*args, **kwargs)
    assert code(err) == "AccessDenied", err.value.response["Error"]
    assert err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    return err.value


def test_root_may_do_everything_and_others_nothing_by_default(gw, iam) -> None:
    keys = make_user(iam, "z-nobody")
    err = denied(client_for(gw, keys).list_users)
    assert err.response["Error"]["Message"] == (
        f"User: {user_arn('z-nobody')} is not authorized to perform: iam:ListUsers on "
        "resource: * because no identity-based policy allows the iam:ListUsers action"
    )


def test_keys_only_for_itself(gw, iam) -> None:
    keys = make_user(
        iam, "z-self", inline=allow(["iam:CreateAccessKey", "iam:ListAccessKeys"], SELF)
    )
    iam.create_user(UserName="z-victim")
    me = client_for(gw, keys)
    created = me.create_access_key()["AccessKey"]  # no UserName: the caller itself
    assert created["UserName"] == "z-self"
    denied(me.create_access_key, UserName="z-victim")
    denied(me.list_access_keys, UserName="z-victim")
    assert iam.list_access_keys(UserName="z-victim")["AccessKeyMetadata"] == []


def test_no_new_version_or_default_of_an_attached_policy(gw, iam) -> None:
    arn = iam.create_policy(
        PolicyName="z-mine",
        PolicyDocument=statements(
            {
                "Effect": "Allow",
                "Action": ["iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions"],
                "Resource": "*",
            }
        ),
    )["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=allow("*"), SetAsDefault=False)
    keys = make_user(iam, "z-versioner", managed=[arn])
    me = client_for(gw, keys)
    assert [v["VersionId"] for v in me.list_policy_versions(PolicyArn=arn)["Versions"]] == [
        "v2",
        "v1",
    ]
    denied(me.create_policy_version, PolicyArn=arn, PolicyDocument=allow("*"), SetAsDefault=True)
    denied(me.set_default_policy_version, PolicyArn=arn, VersionId="v2")
    denied(me.list_users)  # still without the permissive version
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v1"
    assert len(iam.list_policy_versions(PolicyArn=arn)["Versions"]) == 2
    # Allowed on another policy only: still not on its own.
    iam.put_user_policy(
        UserName="z-versioner",
        PolicyName="other",
        PolicyDocument=allow(
            ["iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion"], policy_arn("z-other")
        ),
    )
    denied(me.set_default_policy_version, PolicyArn=arn, VersionId="v2")


def test_no_boundary_removal_unless_allowed(gw, iam) -> None:
    boundary = iam.create_policy(
        PolicyName="z-boundary", PolicyDocument=allow(["iam:GetUser", "s3:GetObject"])
    )["Policy"]["Arn"]
    keys = make_user(iam, "z-bounded", inline=allow("iam:*", SELF), boundary=boundary)
    me = client_for(gw, keys)
    assert me.get_user()["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    # Its own policies allow iam:* on itself, but the boundary does not.
    denied(me.delete_user_permissions_boundary, UserName="z-bounded")
    denied(
        me.put_user_permissions_boundary,
        UserName="z-bounded",
        PermissionsBoundary=policy_arn("readwrite"),
    )
    denied(me.put_user_policy, UserName="z-bounded", PolicyName="more", PolicyDocument=allow("*"))
    assert (
        iam.get_user(UserName="z-bounded")["User"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
        == boundary
    )
    # An explicit deny holds even where the boundary allows.
    iam.create_policy_version(PolicyArn=boundary, SetAsDefault=True, PolicyDocument=allow("iam:*"))
    iam.put_user_policy(
        UserName="z-bounded",
        PolicyName="deny",
        PolicyDocument=statements(
            {"Effect": "Deny", "Action": "iam:DeleteUserPermissionsBoundary", "Resource": "*"}
        ),
    )
    denied(me.delete_user_permissions_boundary, UserName="z-bounded")
    iam.delete_user_policy(UserName="z-bounded", PolicyName="deny")
    me.delete_user_permissions_boundary(UserName="z-bounded")  # now allowed by both
    assert "PermissionsBoundary" not in iam.get_user(UserName="z-bounded")["User"]


def test_no_joining_a_group_it_may_not_manage(gw, iam) -> None:
    iam.create_group(GroupName="z-admins")
    iam.attach_group_policy(GroupName="z-admins", PolicyArn=policy_arn("consoleAdmin"))
    iam.create_group(GroupName="z-team-a")
    keys = make_user(
        iam,
        "z-joiner",
        inline=allow(
            ["iam:AddUserToGroup", "iam:RemoveUserFromGroup"],
            f"arn:aws:iam::{ACCOUNT}:group/z-team-*",
        ),
    )
    me = client_for(gw, keys)
    denied(me.add_user_to_group, GroupName="z-admins", UserName="z-joiner")
    assert iam.list_groups_for_user(UserName="z-joiner")["Groups"] == []
    me.add_user_to_group(GroupName="z-team-a", UserName="z-joiner")
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="z-joiner")["Groups"]] == [
        "z-team-a"
    ]


def test_delegation_held_to_a_boundary(gw, iam) -> None:
    """The AWS pattern: an administrator may create users and give them policies only
    under a given boundary (iam:PermissionsBoundary), and only some policies (iam:PolicyARN)."""
    boundary = policy_arn("readonly")
    cond = {"StringEquals": {"iam:PermissionsBoundary": boundary}}
    keys = make_user(
        iam,
        "z-delegate",
        inline=statements(
            {
                "Effect": "Allow",
                "Action": [
                    "iam:CreateUser",
                    "iam:PutUserPermissionsBoundary",
                    "iam:AttachUserPolicy",
                ],
                "Resource": f"arn:aws:iam::{ACCOUNT}:user/*",
                "Condition": cond,
            },
            {
                "Effect": "Deny",
                "Action": "iam:AttachUserPolicy",
                "Resource": "*",
                "Condition": {"ArnNotEquals": {"iam:PolicyARN": policy_arn("readwrite")}},
            },
        ),
    )
    me = client_for(gw, keys)
    denied(me.create_user, UserName="z-free")
    denied(me.create_user, UserName="z-free", PermissionsBoundary=policy_arn("readwrite"))
    with pytest.raises(ClientError) as err:
        iam.get_user(UserName="z-free")
    assert code(err) == "NoSuchEntity"
    me.create_user(UserName="z-held", PermissionsBoundary=boundary)
    me.attach_user_policy(UserName="z-held", PolicyArn=policy_arn("readwrite"))
    denied(me.attach_user_policy, UserName="z-held", PolicyArn=policy_arn("consoleAdmin"))
    denied(
        me.put_user_permissions_boundary,
        UserName="z-held",
        PermissionsBoundary=policy_arn("readwrite"),
    )
    iam.create_user(UserName="z-unbounded")
    denied(me.attach_user_policy, UserName="z-unbounded", PolicyArn=policy_arn("readwrite"))
    denied(me.attach_user_policy, UserName="z-delegate", PolicyArn=policy_arn("readwrite"))
    assert iam.list_attached_user_policies(UserName="z-unbounded")["AttachedPolicies"] == []


def test_policy_changes_take_effect_on_the_next_call(gw, iam) -> None:
    keys = make_user(iam, "z-later")
    me = client_for(gw, keys)
    denied(me.list_roles)
    arn = iam.create_policy(PolicyName="z-list-roles", PolicyDocument=allow("iam:ListRoles"))[
        "Policy"
    ]["Arn"]
    iam.attach_user_policy(UserName="z-later", PolicyArn=arn)
    me.list_roles()
    iam.detach_user_policy(UserName="z-later", PolicyArn=arn)
    denied(me.list_roles)
    # A key made inactive stops working on the next request.
    iam.attach_user_policy(UserName="z-later", PolicyArn=arn)
    iam.update_access_key(UserName="z-later", AccessKeyId=keys.key, Status="Inactive")
    with pytest.raises(ClientError) as err:
        me.list_roles()
    assert code(err) == "InvalidClientTokenId"


def test_paths_and_request_tags_scope_a_delegate(gw, iam) -> None:
    keys = make_user(
        iam,
        "z-pathadmin",
        inline=statements(
            {
                "Effect": "Allow",
                "Action": ["iam:CreateUser", "iam:TagUser", "iam:DeleteUser"],
                "Resource": f"arn:aws:iam::{ACCOUNT}:user/eng/*",
                "Condition": {"StringEqualsIfExists": {"aws:RequestTag/team": "eng"}},
            }
        ),
    )
    me = client_for(gw, keys)
    me.create_user(UserName="z-engineer", Path="/eng/", Tags=[{"Key": "team", "Value": "eng"}])
    denied(me.create_user, UserName="z-operator", Path="/ops/")
    denied(me.create_user, UserName="z-other", Path="/eng/", Tags=[{"Key": "team", "Value": "ops"}])
    denied(me.tag_user, UserName="z-engineer", Tags=[{"Key": "team", "Value": "ops"}])
    iam.create_user(UserName="z-ops", Path="/ops/")
    denied(me.delete_user, UserName="z-ops")
    me.delete_user(UserName="z-engineer")
    names = {u["UserName"] for u in iam.list_users()["Users"]}
    assert "z-ops" in names and not {"z-engineer", "z-operator", "z-other"} & names
