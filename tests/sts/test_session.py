"""Session minting and the claim rules, without a gateway."""

from __future__ import annotations

import asyncio
import json

import pytest

from iamgw.config import load_settings
from iamgw.identity import SessionTokens
from iamgw.identity.oidc import Provider
from iamgw.store import MasterKey
from iamgw.sts import errors, startup_lines
from iamgw.sts.federation import claim_policies, claim_tags, federate, jwt_variables
from iamgw.sts.session import (
    Grant,
    SessionPolicies,
    issue,
    members,
    packed_percent,
    request_tags,
)

ACCOUNT = "000000000000"


def realistic_policy(size: int = 2048) -> str:
    """A session policy as people write them: home prefixes of several buckets."""
    statements = []
    i = 0
    while True:
        statements.append({
            "Sid": f"Home{i}",
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:PutObject", "s3:DeleteObject"],
            "Resource": [f"arn:aws:s3:::team-bucket-{i}/home/${{aws:username}}/*"],
        })  # fmt: skip
        text = json.dumps({"Version": "2012-10-17", "Statement": statements})
        if len(text) > size:
            statements.pop()
            return json.dumps({"Version": "2012-10-17", "Statement": statements})
        i += 1


def test_token_under_2_kib_with_a_2_kib_session_policy(tmp_path) -> None:
    tokens = SessionTokens(MasterKey.load_or_create(tmp_path / "master.key"))
    policy = realistic_policy()
    assert 1900 < len(policy) <= 2048
    grant = Grant(
        arn=f"arn:aws:sts::{ACCOUNT}:assumed-role/keycloak/alice-laptop",
        typ="AssumedRole",
        src=f"arn:aws:iam::{ACCOUNT}:role/iamgw-oidc/keycloak",
        uid="AROA0123456789ABCDEF0:alice-laptop",
        pol=("readwrite", f"arn:aws:iam::{ACCOUNT}:policy/team-data"),
        tags={"team": "blue", "cost-center": "1234"},
        idp={"jwt:sub": "621b55f2-ddfa-51d4-a3f7-b34eacf4d62b", "jwt:preferred_username": "alice",
             "jwt:email": "alice@example.org", "jwt:aud": "iamgw",
             "jwt:iss": "http://127.0.0.1:8080/realms/storage", "jwt:groups": ["s3-writers"]},
    )  # fmt: skip
    policies = SessionPolicies(json.dumps(json.loads(policy), separators=(",", ":")))
    assert packed_percent(policies, grant.tags) <= 100
    issued = issue(tokens, grant, 3600, policies)
    assert len(issued.token) < 2048, len(issued.token)
    opened = tokens.open(issued.token, issued.claims.ak)
    assert opened.sp == policies.document and opened.pol == grant.pol


def test_packed_percent_grows_and_stops() -> None:
    small = packed_percent(SessionPolicies(realistic_policy(300)), {})
    large = packed_percent(SessionPolicies(realistic_policy(2048)), {"k": "v"})
    assert 0 < small < large <= 100
    noise = SessionPolicies("".join(f"{i:x}" for i in range(10**6, 10**6 + 600)))
    with pytest.raises(errors.PackedPolicyTooLarge):
        packed_percent(noise, {})


PROVIDER = Provider("kc", "http://idp/realms/r", ("iamgw",), ACCOUNT, claim_name="policy")


@pytest.mark.parametrize(
    ("provider", "claims", "names"),
    [
        (PROVIDER, {"policy": "readwrite"}, ["readwrite"]),
        (PROVIDER, {"policy": "readonly, diagnostics"}, ["readonly", "diagnostics"]),
        (PROVIDER, {"policy": ["readonly", "readonly", " "]}, ["readonly"]),
        (PROVIDER, {"policy": 5}, []),
        (PROVIDER, {}, []),
        (
            Provider("kc", "i", ("a",), ACCOUNT, claim_name="realm_access.roles"),
            {"realm_access": {"roles": ["readwrite", "offline_access"]}},
            ["readwrite", "offline_access"],
        ),
        (
            Provider(
                "kc",
                "i",
                ("a",),
                ACCOUNT,
                claim_name="policy",
                claim_prefix="https://iamgw.example.org/",
            ),
            {"https://iamgw.example.org/policy": "readonly", "policy": "readwrite"},
            ["readonly"],
        ),  # fmt: skip
    ],
)
def test_claim_policies(provider, claims, names) -> None:
    assert claim_policies(provider, claims) == names


def test_session_tags_from_the_aws_claim() -> None:
    claims = {
        "https://aws.amazon.com/tags": {
            "principal_tags": {"team": ["blue"], "site": ["paris"]},
            "transitive_tag_keys": ["team"],
        }
    }
    assert claim_tags(claims) == ({"team": "blue", "site": "paris"}, ("team",))
    with pytest.raises(errors.InvalidIdentityToken):
        claim_tags({"https://aws.amazon.com/tags": {"principal_tags": {"t": ["a", "b"]}}})
    with pytest.raises(errors.InvalidIdentityToken):
        claim_tags({"https://aws.amazon.com/tags": {"principal_tags": {},
                                                     "transitive_tag_keys": ["x"]}})  # fmt: skip


def test_jwt_variables_keep_usable_claims_only() -> None:
    variables = jwt_variables({"sub": "s", "preferred_username": "alice", "exp": 1, "nonce": "n",
                               "address": {"city": "x"}, "groups": ["a", "b"], "n": 3})  # fmt: skip
    assert variables == {"jwt:sub": "s", "jwt:preferred_username": "alice",
                         "jwt:groups": ["a", "b"], "jwt:n": 3}  # fmt: skip


def test_role_policy_mode_and_its_startup_line() -> None:
    settings = load_settings(None, environ={
        "IAMGW_OIDC_0_NAME": "corp", "IAMGW_OIDC_0_ISSUER": "https://idp.example.org/r",
        "IAMGW_OIDC_0_CLIENT_ID": "iamgw", "IAMGW_OIDC_0_ROLE_POLICY": "readonly,diagnostics",
    })  # fmt: skip
    provider = Provider("corp", "https://idp.example.org/r", ("iamgw",), ACCOUNT,
                        claim_name="policy", role_policy="readonly,diagnostics")  # fmt: skip
    done = asyncio.run(
        federate(
            "sts:AssumeRoleWithWebIdentity",
            settings,
            None,
            provider,  # type: ignore[arg-type]
            {"sub": "s", "policy": "readwrite"},
            "",
            "alice",
        )  # fmt: skip
    )
    assert done.grant.pol == ("readonly", "diagnostics")  # the claim does not matter
    assert done.grant.arn == f"arn:aws:sts::{ACCOUNT}:assumed-role/corp/alice"
    assert startup_lines(settings) == [
        "OIDC provider corp: role_policy 'readonly,diagnostics', "
        f"RoleArn arn:aws:iam::{ACCOUNT}:role/iamgw-oidc/corp"
    ]


def test_query_list_parameters() -> None:
    params = {"Tags.member.2.Key": "b", "Tags.member.2.Value": "2", "Tags.member.1.Key": "a",
              "Tags.member.1.Value": "1", "TransitiveTagKeys.member.1": "a"}  # fmt: skip
    assert members(params, "Tags") == [{"Key": "a", "Value": "1"}, {"Key": "b", "Value": "2"}]
    assert request_tags(params) == ({"a": "1", "b": "2"}, ("a",))
    with pytest.raises(errors.InvalidParameterValue):
        request_tags({"Tags.member.1.Key": "aws:x", "Tags.member.1.Value": "1"})
    with pytest.raises(errors.InvalidParameterValue):
        request_tags({"Tags.member.1.Key": "a", "Tags.member.1.Value": "1",
                      "Tags.member.2.Key": "A", "Tags.member.2.Value": "2"})  # fmt: skip
    with pytest.raises(errors.InvalidParameterValue):
        request_tags({"TransitiveTagKeys.member.1": "missing"})
