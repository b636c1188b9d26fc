"""AssumeRoleWithWebIdentity with real ID tokens of the OpenID provider peer, and the
credentials used through boto3 S3 against the SeaweedFS peer."""

from __future__ import annotations

import botocore.exceptions
import httpx
import jwt
import pytest

from tests.iam_helpers import allow, web_identity_trust
from tests.sts.conftest import (
    ACCOUNT,
    error_code,
    forge,
    id_token,
    raw_call,
    raw_code,
    s3_with,
    sts_from,
    web_identity,
)

HOME = allow(["s3:GetObject", "s3:PutObject"], "arn:aws:s3:::sts/home/${jwt:preferred_username}/*")


# -- claim mode -------------------------------------------------------------------------


def test_alice_readwrite_puts_and_gets(gateway, oidc_provider, root_s3) -> None:
    token = id_token(oidc_provider, "alice")
    answer = web_identity(gateway, token, RoleSessionName="alice-laptop")
    claims = jwt.decode(token, options={"verify_signature": False})
    assert answer["SubjectFromWebIdentityToken"] == claims["sub"]
    assert answer["Audience"] == "iamgw"
    assert answer["Provider"] == oidc_provider.issuer
    assert answer["AssumedRoleUser"]["Arn"] == (
        f"arn:aws:sts::{ACCOUNT}:assumed-role/keycloak/alice-laptop"
    )
    credentials = answer["Credentials"]
    assert credentials["AccessKeyId"].startswith("ASIA")
    s3 = s3_with(gateway, credentials)
    s3.put_object(Bucket="sts", Key="by-alice", Body=b"written by alice")
    assert s3.get_object(Bucket="sts", Key="by-alice")["Body"].read() == b"written by alice"


def test_bob_readonly_cannot_put(gateway, oidc_provider, root_s3) -> None:
    s3 = s3_with(gateway, web_identity(gateway, id_token(oidc_provider, "bob"))["Credentials"])
    assert s3.get_object(Bucket="sts", Key="hello")["Body"].read() == b"hello"
    assert error_code(s3.put_object, Bucket="sts", Key="by-bob", Body=b"x") == "AccessDenied"


def test_carol_without_policy_gets_no_credentials(gateway, oidc_provider) -> None:
    token = id_token(oidc_provider, "carol")
    assert error_code(web_identity, gateway, token) == "AccessDenied"


def test_caller_identity_of_temporary_credentials(gateway, oidc_provider) -> None:
    answer = web_identity(gateway, id_token(oidc_provider, "alice"), RoleSessionName="who")
    credentials = answer["Credentials"]
    me = sts_from(gateway, credentials).get_caller_identity()
    assert me["Arn"] == answer["AssumedRoleUser"]["Arn"]
    assert me["Account"] == ACCOUNT
    assert me["UserId"] == answer["AssumedRoleUser"]["AssumedRoleId"]


def test_session_policy_narrows_and_cannot_widen(gateway, oidc_provider, root_s3) -> None:
    get_only, everything = allow("s3:GetObject"), allow("*")
    alice = web_identity(gateway, id_token(oidc_provider, "alice"), Policy=get_only)
    assert 0 < alice["PackedPolicySize"] <= 100
    s3 = s3_with(gateway, alice["Credentials"])
    assert s3.get_object(Bucket="sts", Key="hello")["Body"].read() == b"hello"
    assert error_code(s3.put_object, Bucket="sts", Key="narrowed", Body=b"x") == "AccessDenied"
    bob = web_identity(gateway, id_token(oidc_provider, "bob"), Policy=everything)
    s3 = s3_with(gateway, bob["Credentials"])
    assert error_code(s3.put_object, Bucket="sts", Key="widened", Body=b"x") == "AccessDenied"
    assert error_code(s3.delete_object, Bucket="sts", Key="hello") == "AccessDenied"


def test_policy_arns_narrow(gateway, oidc_provider, root_s3) -> None:
    readonly = f"arn:aws:iam::{ACCOUNT}:policy/readonly"
    alice = web_identity(gateway, id_token(oidc_provider, "alice"), PolicyArns=[{"arn": readonly}])
    s3 = s3_with(gateway, alice["Credentials"])
    assert s3.get_object(Bucket="sts", Key="hello")["Body"].read() == b"hello"
    assert error_code(s3.put_object, Bucket="sts", Key="arns", Body=b"x") == "AccessDenied"


def test_malformed_and_oversized_session_policies(gateway, oidc_provider) -> None:
    token = id_token(oidc_provider, "alice")
    assert error_code(web_identity, gateway, token, Policy="{not json") == (
        "MalformedPolicyDocument"
    )
    # 2,000 characters that do not compress: over the packed limit.
    import secrets

    noisy = allow("s3:GetObject", [f"arn:aws:s3:::{secrets.token_hex(40)}" for _ in range(20)])
    assert len(noisy) <= 2048
    assert error_code(web_identity, gateway, token, Policy=noisy) == "PackedPolicyTooLarge"


@pytest.mark.parametrize("seconds", ["899", "43201", "0", "-5", "12.5", "x"])
def test_duration_out_of_bounds(gateway, oidc_provider, seconds) -> None:
    token = id_token(oidc_provider, "alice")
    r = raw_call(gateway, "AssumeRoleWithWebIdentity", WebIdentityToken=token,
                 RoleSessionName="dur-test", DurationSeconds=seconds)  # fmt: skip
    assert r.status_code == 400 and raw_code(r) == "ValidationError", r.text


def test_duration_is_honoured(gateway, oidc_provider) -> None:
    import datetime as dt

    answer = web_identity(gateway, id_token(oidc_provider, "alice"), DurationSeconds=900)
    left = answer["Credentials"]["Expiration"] - dt.datetime.now(dt.UTC)
    assert 850 < left.total_seconds() <= 901


def test_bad_session_name(gateway, oidc_provider) -> None:
    token = id_token(oidc_provider, "alice")
    assert error_code(web_identity, gateway, token, RoleSessionName="a b") == "ValidationError"


def test_minio_style_call_without_role_and_session_name(gateway, oidc_provider) -> None:
    token = id_token(oidc_provider, "alice")
    r = httpx.post(
        gateway.url,
        data={
            "Action": "AssumeRoleWithWebIdentity",
            "Version": "2011-06-15",
            "WebIdentityToken": token,
        },  # fmt: skip
    )
    assert r.status_code == 200, r.text
    assert "<AccessKeyId>ASIA" in r.text and "assumed-role/keycloak/alice<" in r.text


# -- role mode ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def home_role(gateway, oidc_provider) -> str:
    gateway.repo.create_role(
        "home", web_identity_trust(oidc_provider, aud="iamgw"), max_session_duration=3600
    )
    gateway.repo.put_inline_policy("role", "home", "home", HOME)
    return f"arn:aws:iam::{ACCOUNT}:role/home"


def test_role_mode_home_prefix_per_user(gateway, oidc_provider, root_s3, home_role) -> None:
    alice = web_identity(gateway, id_token(oidc_provider, "alice"), RoleArn=home_role)
    arn = f"arn:aws:sts::{ACCOUNT}:assumed-role/home/test-session"
    assert alice["AssumedRoleUser"]["Arn"] == arn
    assert alice["AssumedRoleUser"]["AssumedRoleId"].startswith("AROA")
    s3 = s3_with(gateway, alice["Credentials"])
    s3.put_object(Bucket="sts", Key="home/alice/notes", Body=b"mine")
    assert s3.get_object(Bucket="sts", Key="home/alice/notes")["Body"].read() == b"mine"
    # The role's policies replace the claim's: readwrite no longer applies.
    assert error_code(s3.put_object, Bucket="sts", Key="home/bob/x", Body=b"x") == "AccessDenied"
    assert error_code(s3.get_object, Bucket="sts", Key="hello") == "AccessDenied"


def test_role_max_session_duration(gateway, oidc_provider, home_role) -> None:
    token = id_token(oidc_provider, "alice")
    code = error_code(web_identity, gateway, token, RoleArn=home_role, DurationSeconds=7200)
    assert code == "ValidationError"


def test_trust_condition_on_sub(gateway, oidc_provider, root_s3) -> None:
    alice_token = id_token(oidc_provider, "alice")
    alice_sub = jwt.decode(alice_token, options={"verify_signature": False})["sub"]
    gateway.repo.create_role(
        "alice-only", web_identity_trust(oidc_provider, sub=alice_sub, aud="iamgw")
    )
    gateway.repo.attach_policy("role", "alice-only", f"arn:aws:iam::{ACCOUNT}:policy/readonly")
    arn = f"arn:aws:iam::{ACCOUNT}:role/alice-only"
    s3 = s3_with(gateway, web_identity(gateway, alice_token, RoleArn=arn)["Credentials"])
    assert s3.get_object(Bucket="sts", Key="hello")["Body"].read() == b"hello"
    bob_token = id_token(oidc_provider, "bob")
    assert error_code(web_identity, gateway, bob_token, RoleArn=arn) == "AccessDenied"


def test_trust_condition_on_audience(gateway, oidc_provider) -> None:
    gateway.repo.create_role("other-aud", web_identity_trust(oidc_provider, aud="someone-else"))
    arn = f"arn:aws:iam::{ACCOUNT}:role/other-aud"
    token = id_token(oidc_provider, "alice")
    assert error_code(web_identity, gateway, token, RoleArn=arn) == "AccessDenied"


def test_role_trusting_another_provider(gateway, oidc_provider, spare) -> None:
    gateway.repo.create_role("spare-only", web_identity_trust(spare, aud="iamgw"))
    arn = f"arn:aws:iam::{ACCOUNT}:role/spare-only"
    token = id_token(oidc_provider, "alice")
    assert error_code(web_identity, gateway, token, RoleArn=arn) == "AccessDenied"


def test_metrics_count_issued_and_refused(gateway, oidc_provider) -> None:
    web_identity(gateway, id_token(oidc_provider, "alice"))
    assert error_code(web_identity, gateway, "not-a-jwt") == "InvalidIdentityToken"
    text = httpx.get(gateway.url + "/metrics").text
    assert 'iamgw_sts_credentials_issued_total{method="AssumeRoleWithWebIdentity"}' in text
    assert 'iamgw_sts_failures_total{reason="InvalidIdentityToken"}' in text


def test_unknown_action(gateway) -> None:
    r = httpx.post(gateway.url, data={"Action": "Nope", "Version": "2011-06-15"})
    assert r.status_code == 400 and "<Code>InvalidAction</Code>" in r.text
    assert "<Type>Sender</Type>" in r.text


def test_boto_error_shape(gateway) -> None:
    with pytest.raises(botocore.exceptions.ClientError) as info:
        web_identity(gateway, "a.b.c")
    error = info.value.response["Error"]
    assert error["Code"] == "InvalidIdentityToken" and error["Type"] == "Sender"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


def test_policy_and_policy_arns_must_each_allow(gateway, oidc_provider, root_s3) -> None:
    put_only = allow("s3:PutObject")
    readonly = f"arn:aws:iam::{ACCOUNT}:policy/readonly"
    answer = web_identity(
        gateway, id_token(oidc_provider, "alice"), Policy=put_only, PolicyArns=[{"arn": readonly}]
    )
    s3 = s3_with(gateway, answer["Credentials"])
    assert error_code(s3.put_object, Bucket="sts", Key="both", Body=b"x") == "AccessDenied"
    assert error_code(s3.get_object, Bucket="sts", Key="hello") == "AccessDenied"


def test_session_tags_claim_in_role_mode(gateway, oidc_provider, root_s3) -> None:
    gateway.repo.create_role("tagged", web_identity_trust(oidc_provider, "sts:TagSession"))
    team = allow("s3:PutObject", "arn:aws:s3:::sts/teams/${aws:PrincipalTag/team}/*")
    gateway.repo.put_inline_policy("role", "tagged", "team", team)
    tags = {"principal_tags": {"team": ["green"]}, "transitive_tag_keys": ["team"]}
    token = forge(oidc_provider, **{"https://aws.amazon.com/tags": tags})
    answer = web_identity(gateway, token, RoleArn=f"arn:aws:iam::{ACCOUNT}:role/tagged")
    assert 0 < answer["PackedPolicySize"] <= 100
    s3 = s3_with(gateway, answer["Credentials"])
    s3.put_object(Bucket="sts", Key="teams/green/x", Body=b"g")
    assert error_code(s3.put_object, Bucket="sts", Key="teams/red/x", Body=b"r") == ("AccessDenied")
    # Without sts:TagSession in the trust policy, tags are refused.
    gateway.repo.create_role("untagged-web", web_identity_trust(oidc_provider))
    arn = f"arn:aws:iam::{ACCOUNT}:role/untagged-web"
    assert error_code(web_identity, gateway, token, RoleArn=arn) == "AccessDenied"


def test_session_token_with_a_2_kib_session_policy_stays_under_2_kib(gateway, oidc_provider):
    from tests.sts.test_session import realistic_policy

    policy = realistic_policy()
    assert len(policy) > 1900
    answer = web_identity(gateway, id_token(oidc_provider, "alice"), Policy=policy)
    assert len(answer["Credentials"]["SessionToken"]) < 2048


def test_keycloak_access_token_is_accepted_too(gateway, oidc_provider) -> None:
    token = oidc_provider.token_for("alice")["access_token"]
    assert web_identity(gateway, token)["Audience"] == "iamgw"


def test_expired_temporary_credentials(gateway, oidc_provider, monkeypatch) -> None:
    import time

    answer = web_identity(gateway, id_token(oidc_provider, "alice"), DurationSeconds=900)
    credentials = answer["Credentials"]
    sts = sts_from(gateway, credentials)
    from types import SimpleNamespace

    later = time.time() + 901  # the gateway's clock, as session tokens see it
    monkeypatch.setattr("iamgw.identity.credentials.time", SimpleNamespace(time=lambda: later))
    assert error_code(sts.get_caller_identity) == "ExpiredTokenException"  # Common Errors


def test_users_never_share_a_session_arn(gateway, oidc_provider) -> None:
    """Claim mode names the session after preferred_username: `x y` and `x-y` (and names
    past 64 characters with one prefix) once got one session ARN, which bucket
    policies and revocations name. Both are valid users of the provider."""
    arns = set()
    for name in ("x y", "x-y", "y" * 70 + "1", "y" * 70 + "2"):
        token = forge(oidc_provider, sub=f"sub-{name}", preferred_username=name)
        r = raw_call(gateway, "AssumeRoleWithWebIdentity", WebIdentityToken=token)
        assert r.status_code == 200, r.text
        arns.add(r.text.split("<Arn>", 1)[1].split("</Arn>", 1)[0])
    assert len(arns) == 4, arns
    assert all(len(arn.rsplit("/", 1)[1]) <= 64 for arn in arns)
    plain = forge(oidc_provider, sub="sub-plain", preferred_username="plain.name@example")
    r = raw_call(gateway, "AssumeRoleWithWebIdentity", WebIdentityToken=plain)
    assert "assumed-role/keycloak/plain.name@example<" in r.text  # a valid name is kept
