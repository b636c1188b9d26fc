"""boto3's IAM client drives every action against a running gateway, on SQLite and
PostgreSQL, and reads back what AWS would answer."""

from __future__ import annotations

import json

import httpx
import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from botocore.exceptions import ClientError

from tests.iam.conftest import ACCOUNT, code, policy_arn, user_arn
from tests.iam_helpers import allow, trust

TRUST = trust(
    {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/idp.example"},
    "sts:AssumeRoleWithWebIdentity",
)


def test_users_paths_tags_and_pagination(iam) -> None:
    created = iam.create_user(
        UserName="u-alice", Path="/eng/", Tags=[{"Key": "team", "Value": "a"}]
    )
    user = created["User"]
    assert user["Arn"] == user_arn("u-alice", "/eng/") and user["UserId"].startswith("AIDA")
    assert user["Tags"] == [{"Key": "team", "Value": "a"}]
    for i in range(5):
        iam.create_user(UserName=f"u-page{i}")
    got = iam.get_user(UserName="U-ALICE")["User"]  # names compare without regard to case
    assert got["UserName"] == "u-alice" and got["Path"] == "/eng/"
    assert [u["UserName"] for u in iam.list_users(PathPrefix="/eng/")["Users"]] == ["u-alice"]
    # Marker/MaxItems, as the paginator uses them.
    first = iam.list_users(MaxItems=2)
    assert first["IsTruncated"] and len(first["Users"]) == 2
    names = [
        u["UserName"]
        for u in iam.get_paginator("list_users")
        .paginate(PaginationConfig={"PageSize": 2})
        .build_full_result()["Users"]
    ]
    assert names == sorted(names, key=str.lower) and {"u-alice", "u-page4"} <= set(names)
    iam.tag_user(UserName="u-alice", Tags=[{"Key": "cost", "Value": "7"}])
    iam.untag_user(UserName="u-alice", TagKeys=["team"])
    assert iam.list_user_tags(UserName="u-alice")["Tags"] == [{"Key": "cost", "Value": "7"}]
    iam.update_user(UserName="u-alice", NewUserName="u-alicia", NewPath="/ops/")
    assert iam.get_user(UserName="u-alicia")["User"]["Arn"] == user_arn("u-alicia", "/ops/")
    with pytest.raises(ClientError) as err:
        iam.get_user(UserName="u-alice")
    assert (
        code(err) == "NoSuchEntity"
        and err.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404
    )
    with pytest.raises(ClientError) as err:
        iam.create_user(UserName="u-ALICIA")
    assert code(err) == "EntityAlreadyExists"
    iam.delete_user(UserName="u-alicia")
    assert iam.get_user()["User"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"


def test_access_keys(iam) -> None:
    iam.create_user(UserName="k-bob")
    first = iam.create_access_key(UserName="k-bob")["AccessKey"]
    assert first["AccessKeyId"].startswith("AKIA") and len(first["SecretAccessKey"]) == 40
    assert first["Status"] == "Active"
    second = iam.create_access_key(UserName="k-bob")["AccessKey"]
    with pytest.raises(ClientError) as err:
        iam.create_access_key(UserName="k-bob")
    assert code(err) == "LimitExceeded"
    listed = iam.list_access_keys(UserName="k-bob")["AccessKeyMetadata"]
    assert {k["AccessKeyId"] for k in listed} == {first["AccessKeyId"], second["AccessKeyId"]}
    assert all("SecretAccessKey" not in k for k in listed)
    iam.update_access_key(UserName="k-bob", AccessKeyId=first["AccessKeyId"], Status="Inactive")
    statuses = {
        k["AccessKeyId"]: k["Status"]
        for k in iam.list_access_keys(UserName="k-bob")["AccessKeyMetadata"]
    }
    assert statuses[first["AccessKeyId"]] == "Inactive"
    used = iam.get_access_key_last_used(AccessKeyId=second["AccessKeyId"])
    assert used["UserName"] == "k-bob" and used["AccessKeyLastUsed"]["ServiceName"] == "N/A"
    with pytest.raises(ClientError) as err:
        iam.delete_user(UserName="k-bob")
    assert code(err) == "DeleteConflict"
    for key in (first, second):
        iam.delete_access_key(UserName="k-bob", AccessKeyId=key["AccessKeyId"])
    with pytest.raises(ClientError) as err:
        iam.delete_access_key(UserName="k-bob", AccessKeyId=first["AccessKeyId"])
    assert code(err) == "NoSuchEntity"
    iam.delete_user(UserName="k-bob")


def test_key_last_used_after_a_call(gw, iam) -> None:
    iam.create_user(UserName="k-carl")
    iam.put_user_policy(
        UserName="k-carl",
        PolicyName="self",
        PolicyDocument=allow("iam:GetUser", user_arn("k-carl")),
    )
    key = iam.create_access_key(UserName="k-carl")["AccessKey"]
    gw.client("iam", key["AccessKeyId"], key["SecretAccessKey"]).get_user()
    used = iam.get_access_key_last_used(AccessKeyId=key["AccessKeyId"])["AccessKeyLastUsed"]
    assert used["ServiceName"] == "iam" and used["Region"] == "us-east-1" and used["LastUsedDate"]


def test_groups(iam) -> None:
    group = iam.create_group(GroupName="g-devs", Path="/teams/")["Group"]
    assert group["Arn"] == f"arn:aws:iam::{ACCOUNT}:group/teams/g-devs"
    assert group["GroupId"].startswith("AGPA")
    iam.create_user(UserName="g-dora")
    iam.add_user_to_group(GroupName="g-devs", UserName="g-dora")
    got = iam.get_group(GroupName="g-devs")
    assert [u["UserName"] for u in got["Users"]] == ["g-dora"]
    assert [g["GroupName"] for g in iam.list_groups(PathPrefix="/teams/")["Groups"]] == ["g-devs"]
    assert [g["GroupName"] for g in iam.list_groups_for_user(UserName="g-dora")["Groups"]] == [
        "g-devs"
    ]
    with pytest.raises(ClientError) as err:
        iam.delete_group(GroupName="g-devs")
    assert code(err) == "DeleteConflict"
    with pytest.raises(ClientError) as err:
        iam.delete_user(UserName="g-dora")
    assert code(err) == "DeleteConflict"
    iam.remove_user_from_group(GroupName="g-devs", UserName="g-dora")
    with pytest.raises(ClientError) as err:
        iam.remove_user_from_group(GroupName="g-devs", UserName="g-dora")
    assert code(err) == "NoSuchEntity"
    iam.delete_group(GroupName="g-devs")
    iam.delete_user(UserName="g-dora")


def test_managed_policies_and_versions(iam) -> None:
    doc = allow("s3:GetObject", "arn:aws:s3:::b/*")
    policy = iam.create_policy(
        PolicyName="p-read", Path="/app/", PolicyDocument=doc, Description="read b"
    )["Policy"]
    arn = policy["Arn"]
    assert arn == policy_arn("p-read", "/app/") and policy["DefaultVersionId"] == "v1"
    got = iam.get_policy(PolicyArn=arn)["Policy"]
    assert got["Description"] == "read b" and got["AttachmentCount"] == 0
    version = iam.get_policy_version(PolicyArn=arn, VersionId="v1")["PolicyVersion"]
    assert version["Document"] == json.loads(doc) and version["IsDefaultVersion"]
    for i in range(2, 6):
        created = iam.create_policy_version(
            PolicyArn=arn, PolicyDocument=allow(f"s3:Get{i}"), SetAsDefault=i == 3
        )["PolicyVersion"]
        assert created["VersionId"] == f"v{i}" and created["IsDefaultVersion"] is (i == 3)
    with pytest.raises(ClientError) as err:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=doc)
    assert code(err) == "LimitExceeded"
    versions = iam.list_policy_versions(PolicyArn=arn)["Versions"]
    assert [v["VersionId"] for v in versions] == ["v5", "v4", "v3", "v2", "v1"]
    assert [v["VersionId"] for v in versions if v["IsDefaultVersion"]] == ["v3"]
    with pytest.raises(ClientError) as err:
        iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    assert code(err) == "DeleteConflict"
    iam.set_default_policy_version(PolicyArn=arn, VersionId="v5")
    iam.delete_policy_version(PolicyArn=arn, VersionId="v3")
    assert iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"] == "v5"
    with pytest.raises(ClientError) as err:
        iam.get_policy_version(PolicyArn=arn, VersionId="v3")
    assert code(err) == "NoSuchEntity"
    # Scope: the canned policies of policies/ are iamgw's AWS-managed policies.
    aws = {p["PolicyName"] for p in iam.list_policies(Scope="AWS")["Policies"]}
    local = {p["PolicyName"] for p in iam.list_policies(Scope="Local", MaxItems=1000)["Policies"]}
    assert {"readonly", "readwrite", "writeonly"} <= aws and "p-read" in local and not aws & local
    iam.create_user(UserName="p-erin")
    iam.attach_user_policy(UserName="p-erin", PolicyArn=arn)
    attached = iam.list_policies(OnlyAttached=True, Scope="Local")["Policies"]
    assert [
        (p["PolicyName"], p["AttachmentCount"]) for p in attached if p["PolicyName"] == "p-read"
    ] == [("p-read", 1)]
    with pytest.raises(ClientError) as err:
        iam.delete_policy(PolicyArn=arn)
    assert code(err) == "DeleteConflict"
    iam.detach_user_policy(UserName="p-erin", PolicyArn=arn)
    with pytest.raises(ClientError) as err:
        iam.delete_policy(PolicyArn=arn)
    assert code(err) == "DeleteConflict"  # IAM: the non-default versions go first
    for version in ("v1", "v2", "v4"):
        iam.delete_policy_version(PolicyArn=arn, VersionId=version)
    iam.delete_policy(PolicyArn=arn)
    with pytest.raises(ClientError) as err:
        iam.get_policy(PolicyArn=arn)
    assert code(err) == "NoSuchEntity"


@pytest.mark.parametrize("kind", ["user", "group", "role"])
def test_attachments_and_inline_policies(iam, kind: str) -> None:
    noun, param, name = kind.capitalize(), f"{kind.capitalize()}Name", f"a-{kind}"
    if kind == "role":
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    else:
        getattr(iam, f"create_{kind}")(**{param: name})
    readonly = policy_arn("readonly")
    getattr(iam, f"attach_{kind}_policy")(**{param: name, "PolicyArn": readonly})
    getattr(iam, f"attach_{kind}_policy")(**{param: name, "PolicyArn": readonly})  # idempotent
    listed = getattr(iam, f"list_attached_{kind}_policies")(**{param: name})["AttachedPolicies"]
    assert listed == [{"PolicyName": "readonly", "PolicyArn": readonly}]
    doc = allow("s3:ListBucket", "arn:aws:s3:::x")
    getattr(iam, f"put_{kind}_policy")(**{param: name, "PolicyName": "in1", "PolicyDocument": doc})
    got = getattr(iam, f"get_{kind}_policy")(**{param: name, "PolicyName": "in1"})
    assert got["PolicyDocument"] == json.loads(doc) and got[param] == name
    assert getattr(iam, f"list_{kind}_policies")(**{param: name})["PolicyNames"] == ["in1"]
    with pytest.raises(ClientError) as err:
        getattr(iam, f"delete_{kind}")(**{param: name})
    assert code(err) == "DeleteConflict"
    getattr(iam, f"delete_{kind}_policy")(**{param: name, "PolicyName": "in1"})
    with pytest.raises(ClientError) as err:
        getattr(iam, f"get_{kind}_policy")(**{param: name, "PolicyName": "in1"})
    assert code(err) == "NoSuchEntity"
    getattr(iam, f"detach_{kind}_policy")(**{param: name, "PolicyArn": readonly})
    with pytest.raises(ClientError) as err:
        getattr(iam, f"detach_{kind}_policy")(**{param: name, "PolicyArn": readonly})
    assert code(err) == "NoSuchEntity"
    with pytest.raises(ClientError) as err:
        getattr(iam, f"attach_{kind}_policy")(**{param: name, "PolicyArn": policy_arn("nope")})
    assert code(err) == "NoSuchEntity"
    getattr(iam, f"delete_{kind}")(**{param: name})
    assert noun


def test_roles(iam) -> None:
    role = iam.create_role(
        RoleName="r-web",
        Path="/svc/",
        AssumeRolePolicyDocument=TRUST,
        Description="web",
        MaxSessionDuration=7200,
        Tags=[{"Key": "env", "Value": "dev"}],
    )["Role"]
    assert role["Arn"] == f"arn:aws:iam::{ACCOUNT}:role/svc/r-web" and role["RoleId"].startswith(
        "AROA"
    )
    assert role["AssumeRolePolicyDocument"] == json.loads(TRUST)
    got = iam.get_role(RoleName="r-web")["Role"]
    assert got["MaxSessionDuration"] == 7200 and got["Description"] == "web"
    assert got["Tags"] == [{"Key": "env", "Value": "dev"}]
    iam.update_role(RoleName="r-web", MaxSessionDuration=43200, Description="web2")
    got = iam.get_role(RoleName="r-web")["Role"]
    assert got["MaxSessionDuration"] == 43200 and got["Description"] == "web2"
    with pytest.raises(ClientError) as err:
        iam.update_role(RoleName="r-web", MaxSessionDuration=43201)
    assert code(err) == "ValidationError"
    trust2 = json.loads(TRUST)
    trust2["Statement"][0]["Condition"] = {"StringEquals": {"idp.example:aud": "app"}}
    iam.update_assume_role_policy(RoleName="r-web", PolicyDocument=json.dumps(trust2))
    assert iam.get_role(RoleName="r-web")["Role"]["AssumeRolePolicyDocument"] == trust2
    iam.tag_role(RoleName="r-web", Tags=[{"Key": "tier", "Value": "1"}])
    iam.untag_role(RoleName="r-web", TagKeys=["env"])
    assert iam.list_role_tags(RoleName="r-web")["Tags"] == [{"Key": "tier", "Value": "1"}]
    assert "r-web" in [r["RoleName"] for r in iam.list_roles(PathPrefix="/svc/")["Roles"]]
    iam.delete_role(RoleName="r-web")
    with pytest.raises(ClientError) as err:
        iam.get_role(RoleName="r-web")
    assert code(err) == "NoSuchEntity"


def test_permissions_boundaries(iam) -> None:
    boundary = policy_arn("readonly")
    user = iam.create_user(UserName="b-fay", PermissionsBoundary=boundary)["User"]
    assert user["PermissionsBoundary"]["PermissionsBoundaryArn"] == boundary
    iam.delete_user_permissions_boundary(UserName="b-fay")
    assert "PermissionsBoundary" not in iam.get_user(UserName="b-fay")["User"]
    iam.put_user_permissions_boundary(UserName="b-fay", PermissionsBoundary=boundary)
    got = iam.get_user(UserName="b-fay")["User"]["PermissionsBoundary"]
    assert got == {
        "PermissionsBoundaryType": "PermissionsBoundaryPolicy",
        "PermissionsBoundaryArn": boundary,
    }
    assert iam.get_policy(PolicyArn=boundary)["Policy"]["PermissionsBoundaryUsageCount"] >= 1
    iam.create_role(RoleName="b-role", AssumeRolePolicyDocument=TRUST)
    iam.put_role_permissions_boundary(RoleName="b-role", PermissionsBoundary=boundary)
    assert (
        iam.get_role(RoleName="b-role")["Role"]["PermissionsBoundary"]["PermissionsBoundaryArn"]
        == boundary
    )
    iam.delete_role_permissions_boundary(RoleName="b-role")
    assert "PermissionsBoundary" not in iam.get_role(RoleName="b-role")["Role"]
    with pytest.raises(ClientError) as err:
        iam.put_user_permissions_boundary(UserName="b-fay", PermissionsBoundary=policy_arn("nope"))
    assert code(err) == "NoSuchEntity"


def test_openid_connect_providers(iam) -> None:
    arn = iam.create_open_id_connect_provider(
        Url="https://idp.example.com/realms/storage",
        ClientIDList=["iamgw"],
        ThumbprintList=["a" * 40],
    )["OpenIDConnectProviderArn"]
    assert arn == f"arn:aws:iam::{ACCOUNT}:oidc-provider/idp.example.com/realms/storage"
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["Url"] == "idp.example.com/realms/storage" and got["ClientIDList"] == ["iamgw"]
    assert got["ThumbprintList"] == ["a" * 40]
    listed = iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]
    assert {"Arn": arn} in listed
    with pytest.raises(ClientError) as err:
        iam.create_open_id_connect_provider(
            Url="https://idp.example.com/realms/storage", ClientIDList=["x"]
        )
    assert code(err) == "EntityAlreadyExists"
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    with pytest.raises(ClientError) as err:
        iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert code(err) == "NoSuchEntity"


def test_unknown_action_and_unsigned_calls(gw) -> None:
    r = httpx.post(gw.url + "/", data={"Action": "ListUsers", "Version": "2010-05-08"})
    assert r.status_code == 403 and "<Code>MissingAuthenticationToken</Code>" in r.text
    assert "https://iam.amazonaws.com/doc/2010-05-08/" in r.text
    body = "Action=CreateLoginProfile&Version=2010-05-08&UserName=x"
    request = AWSRequest(
        "POST",
        gw.url + "/",
        data=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    SigV4Auth(Credentials(gw.root_key, gw.root_secret), "iam", "us-east-1").add_auth(request)
    r = httpx.post(gw.url + "/", content=body, headers=dict(request.headers))
    assert r.status_code == 400 and "<Code>InvalidAction</Code>" in r.text
    assert "<Type>Sender</Type>" in r.text


def test_update_group_and_entities_for_policy(iam) -> None:
    iam.create_group(GroupName="e-old")
    iam.create_user(UserName="e-member")
    iam.add_user_to_group(GroupName="e-old", UserName="e-member")
    arn = iam.create_policy(PolicyName="e-pol", PolicyDocument=allow("s3:GetObject"))["Policy"][
        "Arn"
    ]
    iam.attach_group_policy(GroupName="e-old", PolicyArn=arn)
    iam.attach_user_policy(UserName="e-member", PolicyArn=arn)
    iam.put_group_policy(GroupName="e-old", PolicyName="in", PolicyDocument=allow("s3:ListBucket"))
    iam.update_group(GroupName="e-old", NewGroupName="e-new", NewPath="/moved/")
    group = iam.get_group(GroupName="e-new")
    assert group["Group"]["Arn"] == f"arn:aws:iam::{ACCOUNT}:group/moved/e-new"
    assert [u["UserName"] for u in group["Users"]] == ["e-member"]
    assert iam.list_group_policies(GroupName="e-new")["PolicyNames"] == ["in"]
    entities = iam.list_entities_for_policy(PolicyArn=arn)
    assert [g["GroupName"] for g in entities["PolicyGroups"]] == ["e-new"]
    assert [u["UserName"] for u in entities["PolicyUsers"]] == ["e-member"]
    assert entities["PolicyRoles"] == []
    only_users = iam.list_entities_for_policy(PolicyArn=arn, EntityFilter="User")
    assert only_users["PolicyGroups"] == [] and len(only_users["PolicyUsers"]) == 1
    with pytest.raises(ClientError) as err:
        iam.get_group(GroupName="e-old")
    assert code(err) == "NoSuchEntity"


def test_role_description_and_provider_updates(iam) -> None:
    iam.create_role(RoleName="d-role", AssumeRolePolicyDocument=TRUST)
    role = iam.update_role_description(RoleName="d-role", Description="described")["Role"]
    assert role["Description"] == "described"
    arn = iam.create_open_id_connect_provider(Url="https://login.example", ClientIDList=["a"])[
        "OpenIDConnectProviderArn"
    ]
    iam.add_client_id_to_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="b")
    iam.remove_client_id_from_open_id_connect_provider(OpenIDConnectProviderArn=arn, ClientID="a")
    iam.update_open_id_connect_provider_thumbprint(
        OpenIDConnectProviderArn=arn, ThumbprintList=["b" * 40]
    )
    iam.tag_open_id_connect_provider(
        OpenIDConnectProviderArn=arn, Tags=[{"Key": "k", "Value": "v"}, {"Key": "x", "Value": "y"}]
    )
    iam.untag_open_id_connect_provider(OpenIDConnectProviderArn=arn, TagKeys=["x"])
    got = iam.get_open_id_connect_provider(OpenIDConnectProviderArn=arn)
    assert got["ClientIDList"] == ["b"] and got["ThumbprintList"] == ["b" * 40]
    assert got["Tags"] == [{"Key": "k", "Value": "v"}]
    tags = iam.list_open_id_connect_provider_tags(OpenIDConnectProviderArn=arn)["Tags"]
    assert tags == [{"Key": "k", "Value": "v"}]
    iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=arn)


def test_account_summary(iam) -> None:
    iam.create_user(UserName="s-summary")
    summary = iam.get_account_summary()["SummaryMap"]
    assert summary["Users"] == len(iam.list_users(MaxItems=1000)["Users"])
    assert summary["Policies"] == len(iam.list_policies(Scope="Local", MaxItems=1000)["Policies"])
    assert summary["AccessKeysPerUserQuota"] == 2 and summary["VersionsPerPolicyQuota"] == 5


def test_policy_tags(iam) -> None:
    arn = iam.create_policy(
        PolicyName="t-tagged",
        PolicyDocument=allow("s3:GetObject"),
        Tags=[{"Key": "a", "Value": "1"}],
    )["Policy"]["Arn"]
    assert iam.get_policy(PolicyArn=arn)["Policy"]["Tags"] == [{"Key": "a", "Value": "1"}]
    iam.tag_policy(PolicyArn=arn, Tags=[{"Key": "b", "Value": "2"}])
    iam.untag_policy(PolicyArn=arn, TagKeys=["a"])
    assert iam.list_policy_tags(PolicyArn=arn)["Tags"] == [{"Key": "b", "Value": "2"}]
