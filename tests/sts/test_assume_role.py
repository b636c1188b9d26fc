"""AssumeRole, GetSessionToken and GetCallerIdentity for IAM users (SigV4-signed), role
chaining, and AssumeRoleWithClientGrants with a real client-credentials token."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.iam_helpers import Keys, allow, make_user, trust
from tests.sts.conftest import (
    ACCOUNT,
    error_code,
    raw_call,
    raw_code,
    s3_with,
    sts_client,
    sts_from,
)

READONLY = f"arn:aws:iam::{ACCOUNT}:policy/readonly"
READWRITE = f"arn:aws:iam::{ACCOUNT}:policy/readwrite"


def sts_of(gateway, keys: Keys):
    return sts_client(gateway, key=keys.key, secret=keys.secret)


@pytest.fixture(scope="module")
def dev(gateway) -> Keys:
    return make_user(gateway, "dev")


@pytest.fixture(scope="module")
def deployer(gateway, dev) -> str:
    gateway.repo.create_role(
        "deployer",
        trust(dev.arn, ("sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity")),
        max_session_duration=7200,
    )
    gateway.repo.attach_policy("role", "deployer", READWRITE)
    return f"arn:aws:iam::{ACCOUNT}:role/deployer"


def test_assume_role_by_a_trusted_user(gateway, dev, deployer, root_s3) -> None:
    answer = sts_of(gateway, dev).assume_role(RoleArn=deployer, RoleSessionName="ci")
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/ci"
    s3 = s3_with(gateway, answer["Credentials"])
    s3.put_object(Bucket="sts", Key="deployed", Body=b"v1")
    me = sts_from(gateway, answer["Credentials"]).get_caller_identity()
    assert me["Arn"] == answer["AssumedRoleUser"]["Arn"]
    assert me["UserId"] == answer["AssumedRoleUser"]["AssumedRoleId"]


def test_caller_identity_of_a_user_and_of_root(gateway, dev) -> None:
    me = sts_of(gateway, dev).get_caller_identity()
    assert me["Arn"] == dev.arn and me["Account"] == ACCOUNT and me["UserId"].startswith("AIDA")
    root = sts_client(gateway, key=gateway.root_key, secret=gateway.root_secret)
    assert root.get_caller_identity()["Arn"] == f"arn:aws:iam::{ACCOUNT}:root"


def test_untrusted_user(gateway, deployer) -> None:
    other = make_user(gateway, "outsider", managed=[READWRITE])
    call = sts_of(gateway, other).assume_role
    assert error_code(call, RoleArn=deployer, RoleSessionName="xx") == "AccessDenied"


def test_no_such_role_and_root(gateway, dev) -> None:
    arn = f"arn:aws:iam::{ACCOUNT}:role/missing"
    assert error_code(sts_of(gateway, dev).assume_role, RoleArn=arn, RoleSessionName="xx") == (
        "AccessDenied"
    )
    root = sts_client(gateway, key=gateway.root_key, secret=gateway.root_secret)
    assert error_code(root.assume_role, RoleArn=arn, RoleSessionName="xx") == "AccessDenied"


def test_unsigned_assume_role(gateway, deployer) -> None:
    r = raw_call(gateway, "AssumeRole", RoleArn=deployer, RoleSessionName="xx")
    assert r.status_code == 403 and raw_code(r) == "MissingAuthenticationToken"


def test_account_trust_needs_the_callers_own_permission(gateway) -> None:
    gateway.repo.create_role("by-account", trust(f"arn:aws:iam::{ACCOUNT}:root"))
    gateway.repo.attach_policy("role", "by-account", READONLY)
    arn = f"arn:aws:iam::{ACCOUNT}:role/by-account"
    plain = make_user(gateway, "plain")
    assert error_code(sts_of(gateway, plain).assume_role, RoleArn=arn, RoleSessionName="xx") == (
        "AccessDenied"
    )
    granted = make_user(gateway, "granted", inline=allow("sts:AssumeRole", arn))
    answer = sts_of(gateway, granted).assume_role(RoleArn=arn, RoleSessionName="xx")
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/by-account/xx"


def test_external_id_condition(gateway, dev) -> None:
    condition = {"StringEquals": {"sts:ExternalId": "s3cr3t-id"}}
    gateway.repo.create_role("partner", trust(dev.arn, condition=condition))
    arn = f"arn:aws:iam::{ACCOUNT}:role/partner"
    call = sts_of(gateway, dev).assume_role
    assert error_code(call, RoleArn=arn, RoleSessionName="xx") == "AccessDenied"
    assert error_code(call, RoleArn=arn, RoleSessionName="xx", ExternalId="wrong-id") == (
        "AccessDenied"
    )
    answer = call(RoleArn=arn, RoleSessionName="xx", ExternalId="s3cr3t-id")
    assert answer["AssumedRoleUser"]["Arn"] == f"arn:aws:sts::{ACCOUNT}:assumed-role/partner/xx"


def test_tags_need_tag_session(gateway, dev, deployer) -> None:
    gateway.repo.create_role("untagged", trust(dev.arn))
    arn = f"arn:aws:iam::{ACCOUNT}:role/untagged"
    tags = [{"Key": "team", "Value": "blue"}]
    call = sts_of(gateway, dev).assume_role
    assert error_code(call, RoleArn=arn, RoleSessionName="xx", Tags=tags) == "AccessDenied"
    answer = call(RoleArn=deployer, RoleSessionName="xx", Tags=tags, TransitiveTagKeys=["team"])
    assert 0 < answer["PackedPolicySize"] <= 100


def test_principal_tags_reach_policies(gateway, dev, root_s3) -> None:
    gateway.repo.create_role("teams", trust(dev.arn, ("sts:AssumeRole", "sts:TagSession")))
    team = allow(
        ["s3:PutObject", "s3:GetObject"], "arn:aws:s3:::sts/teams/${aws:PrincipalTag/team}/*"
    )
    gateway.repo.put_inline_policy("role", "teams", "team", team)
    arn = f"arn:aws:iam::{ACCOUNT}:role/teams"
    answer = sts_of(gateway, dev).assume_role(
        RoleArn=arn, RoleSessionName="xx", Tags=[{"Key": "team", "Value": "blue"}]
    )
    s3 = s3_with(gateway, answer["Credentials"])
    s3.put_object(Bucket="sts", Key="teams/blue/plan", Body=b"b")
    assert error_code(s3.put_object, Bucket="sts", Key="teams/red/plan", Body=b"r") == (
        "AccessDenied"
    )


def test_source_identity(gateway, dev, deployer) -> None:
    answer = sts_of(gateway, dev).assume_role(
        RoleArn=deployer, RoleSessionName="xx", SourceIdentity="dev-laptop"
    )
    assert answer["SourceIdentity"] == "dev-laptop"
    gateway.repo.create_role("no-source", trust(dev.arn))
    arn = f"arn:aws:iam::{ACCOUNT}:role/no-source"
    call = sts_of(gateway, dev).assume_role
    assert error_code(call, RoleArn=arn, RoleSessionName="xx", SourceIdentity="dev-laptop") == (
        "AccessDenied"
    )


def test_role_chaining_is_limited_to_one_hour(gateway, dev, deployer) -> None:
    first = sts_of(gateway, dev).assume_role(
        RoleArn=deployer, RoleSessionName="first", DurationSeconds=7200
    )
    chained_trust = trust(f"arn:aws:iam::{ACCOUNT}:role/deployer")
    gateway.repo.create_role("second", chained_trust, max_session_duration=7200)
    gateway.repo.attach_policy("role", "second", READONLY)
    arn = f"arn:aws:iam::{ACCOUNT}:role/second"
    sts = sts_from(gateway, first["Credentials"])
    code = error_code(sts.assume_role, RoleArn=arn, RoleSessionName="second", DurationSeconds=7200)
    assert code == "ValidationError"
    answer = sts.assume_role(RoleArn=arn, RoleSessionName="second")
    left = answer["Credentials"]["Expiration"] - dt.datetime.now(dt.UTC)
    assert left.total_seconds() <= 3601
    assert answer["AssumedRoleUser"]["Arn"].endswith(":assumed-role/second/second")


def test_role_duration_bounds(gateway, dev, deployer) -> None:
    call = sts_of(gateway, dev).assume_role
    assert error_code(call, RoleArn=deployer, RoleSessionName="xx", DurationSeconds=7201) == (
        "ValidationError"
    )
    answer = call(RoleArn=deployer, RoleSessionName="xx", DurationSeconds=7200)
    left = answer["Credentials"]["Expiration"] - dt.datetime.now(dt.UTC)
    assert 7100 < left.total_seconds() <= 7201


def test_without_role_the_session_inherits_the_users_policies(gateway, root_s3) -> None:
    reader = make_user(gateway, "reader", managed=[READONLY])
    signed = raw_signed(gateway, reader, "AssumeRole")
    assert signed.status_code == 200, signed.text
    credentials = parse_credentials(signed.text)
    s3 = s3_with(gateway, credentials)
    assert s3.get_object(Bucket="sts", Key="hello")["Body"].read() == b"hello"
    assert error_code(s3.put_object, Bucket="sts", Key="reader", Body=b"x") == "AccessDenied"
    assert sts_from(gateway, credentials).get_caller_identity()["Arn"] == reader.arn


def test_get_session_token(gateway, root_s3) -> None:
    writer = make_user(gateway, "writer", managed=[READWRITE])
    answer = sts_of(gateway, writer).get_session_token(DurationSeconds=900)
    credentials = answer["Credentials"]
    s3 = s3_with(gateway, credentials)
    s3.put_object(Bucket="sts", Key="by-session", Body=b"s")
    sts = sts_from(gateway, credentials)
    assert sts.get_caller_identity()["Arn"] == writer.arn
    assert error_code(sts.get_session_token) == "AccessDenied"
    root = sts_client(gateway, key=gateway.root_key, secret=gateway.root_secret)
    assert error_code(root.get_session_token) == "AccessDenied"


def test_client_grants_with_a_client_credentials_token(gateway, oidc_provider, root_s3) -> None:
    token = oidc_provider.client_credentials_token()["access_token"]
    r = raw_call(gateway, "AssumeRoleWithClientGrants", Token=token, DurationSeconds="900")
    assert r.status_code == 200, r.text
    assert "<SubjectFromToken>iamgw</SubjectFromToken>" in r.text
    credentials = parse_credentials(r.text)
    s3 = s3_with(gateway, credentials)
    s3.put_object(Bucket="sts", Key="by-service", Body=b"svc")  # service account: readwrite
    r = raw_call(gateway, "AssumeRoleWithClientGrants", Token=token[:-3] + "abc")
    assert r.status_code == 400 and raw_code(r) == "InvalidIdentityToken"


# -- helpers for what boto3 does not send --------------------------------------------------


def raw_signed(gateway, keys: Keys, action: str, **params: str):
    """A SigV4-signed STS call without RoleArn (MinIO's AssumeRole), signed by botocore."""
    import botocore.auth
    import httpx
    from botocore.awsrequest import AWSRequest
    from botocore.credentials import Credentials

    body = "&".join(
        f"{k}={v}" for k, v in {"Action": action, "Version": "2011-06-15", **params}.items()
    )
    request = AWSRequest(
        method="POST",
        url=gateway.url + "/",
        data=body,
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    botocore.auth.SigV4Auth(Credentials(keys.key, keys.secret), "sts", "us-east-1").add_auth(
        request
    )
    return httpx.post(request.url, headers=dict(request.headers.items()), content=body)


def parse_credentials(text: str) -> dict:
    def element(name: str) -> str:
        return text.split(f"<{name}>", 1)[1].split(f"</{name}>", 1)[0]

    return {
        "AccessKeyId": element("AccessKeyId"),
        "SecretAccessKey": element("SecretAccessKey"),
        "SessionToken": element("SessionToken"),
    }


def test_session_token_credentials_assume_a_role_without_chaining(gateway, dev, deployer):
    """GetSessionToken credentials are the user's: AssumeRole with them is not chaining."""
    credentials = sts_of(gateway, dev).get_session_token()["Credentials"]
    answer = sts_from(gateway, credentials).assume_role(
        RoleArn=deployer, RoleSessionName="xx", DurationSeconds=7200
    )
    left = answer["Credentials"]["Expiration"] - dt.datetime.now(dt.UTC)
    assert left.total_seconds() > 7100


def test_without_role_no_session_tags(gateway, root_s3) -> None:
    """Review finding: with no RoleArn there is no trust policy, so request tags would let
    any user rewrite its own aws:PrincipalTag and defeat tag-based (ABAC) policies."""
    bluey = make_user(gateway, "bluey")
    gateway.repo.set_user_tags("bluey", {"team": "blue"})
    tagged = raw_signed(
        gateway,
        bluey,
        "AssumeRole",
        RoleSessionName="xx",
        **{"Tags.member.1.Key": "team", "Tags.member.1.Value": "red"},
    )
    assert tagged.status_code == 400 and raw_code(tagged) == "InvalidParameterValue"
    plain = raw_signed(gateway, bluey, "AssumeRole", RoleSessionName="xx")
    assert plain.status_code == 200, plain.text  # without tags: allowed, its own tags kept
