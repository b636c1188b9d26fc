"""Principals and the Principal element, from the IAM User Guide's "Principal" page."""

from __future__ import annotations

from typing import Any

import pytest

from iamgw.policy import PolicyKind, PolicyType, Principal, PrincipalKind, Request, evaluate
from iamgw.policy.principal import PrincipalSpec, Strength
from tests.policy.policy_helpers import ACCOUNT, ALICE, ROLE, SESSION, policy


@pytest.mark.parametrize(
    ("value", "kind", "account", "role"),
    [
        (None, PrincipalKind.ANONYMOUS, None, None),
        (ALICE, PrincipalKind.USER, ACCOUNT, None),
        (f"arn:aws:iam::{ACCOUNT}:user/path/bob", PrincipalKind.USER, ACCOUNT, None),
        (ROLE, PrincipalKind.ROLE, ACCOUNT, "app"),
        (f"arn:aws:iam::{ACCOUNT}:role/service/app", PrincipalKind.ROLE, ACCOUNT, "app"),
        (SESSION, PrincipalKind.SESSION, ACCOUNT, "app"),
        (f"arn:aws:iam::{ACCOUNT}:root", PrincipalKind.ROOT, ACCOUNT, None),
        (ACCOUNT, PrincipalKind.ROOT, ACCOUNT, None),
        (f"arn:aws:sts::{ACCOUNT}:federated-user/f", PrincipalKind.FEDERATED_USER, ACCOUNT, None),
        ("logs.amazonaws.com", PrincipalKind.SERVICE, None, None),
        # Identity providers are outside every account, as services are.
        ("accounts.google.com", PrincipalKind.SERVICE, None, None),
        ("ldap", PrincipalKind.SERVICE, None, None),
        ("LDAP", PrincipalKind.OTHER, None, None),  # principal names are case-sensitive
    ],
)
def test_parse(
    value: str | None, kind: PrincipalKind, account: str | None, role: str | None
) -> None:
    p = Principal.parse(value)
    assert (p.kind, p.account, p.role_name) == (kind, account, role)


BOB = f"arn:aws:iam::{ACCOUNT}:user/bob"
SPECS: list[tuple[Any, str | None, Strength]] = [
    ("*", ALICE, Strength.DIRECT),
    ("*", None, Strength.DIRECT),  # everyone includes anonymous callers
    ({"AWS": "*"}, None, Strength.DIRECT),
    ({"AWS": ALICE}, ALICE, Strength.DIRECT),
    ({"AWS": [BOB, ALICE]}, ALICE, Strength.DIRECT),
    ({"AWS": BOB}, ALICE, Strength.NONE),
    ({"AWS": ALICE}, None, Strength.NONE),
    ({"AWS": ACCOUNT}, ALICE, Strength.ACCOUNT),
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, ALICE, Strength.ACCOUNT),
    ({"AWS": "999999999999"}, ALICE, Strength.NONE),
    ({"AWS": ROLE}, ROLE, Strength.ROLE),
    ({"AWS": ROLE}, SESSION, Strength.ROLE),  # a role's sessions are the role
    ({"AWS": f"arn:aws:iam::{ACCOUNT}:role/path/app"}, SESSION, Strength.ROLE),
    ({"AWS": SESSION}, SESSION, Strength.DIRECT),
    ({"AWS": f"arn:aws:sts::{ACCOUNT}:assumed-role/app/other"}, SESSION, Strength.NONE),
    ({"Service": "logs.amazonaws.com"}, "logs.amazonaws.com", Strength.DIRECT),
    ({"Service": "logs.amazonaws.com"}, "s3.amazonaws.com", Strength.NONE),
    ({"Service": "logs.amazonaws.com"}, ALICE, Strength.NONE),
    ({"Federated": "accounts.google.com"}, "accounts.google.com", Strength.DIRECT),
    ({"Federated": "ldap"}, "ldap", Strength.DIRECT),
    ({"Federated": "ldap"}, "accounts.google.com", Strength.NONE),
    ({"Federated": "accounts.google.com"}, "ldap", Strength.NONE),
    ({"Federated": "ldap"}, ALICE, Strength.NONE),
    ({"AWS": ACCOUNT}, "ldap", Strength.NONE),  # the directory belongs to no account
    ({"Service": "ldap"}, "ldap", Strength.DIRECT),  # as AWS's: Service and Federated alike
]


@pytest.mark.parametrize(("spec", "principal", "expected"), SPECS)
def test_principal_element(spec: Any, principal: str | None, expected: Strength) -> None:
    value = (
        spec if spec == "*" else {k: (v if isinstance(v, list) else [v]) for k, v in spec.items()}
    )
    assert PrincipalSpec(value).match(Principal.parse(principal)) is expected


LDAP_TRUST = {
    "Effect": "Allow",
    "Principal": {"Federated": "ldap"},
    "Action": "sts:AssumeRoleWithLDAPIdentity",
    "Condition": {"ForAnyValue:StringEquals": {"ldap:groups": "cn=writers,dc=example,dc=org"}},
}


@pytest.mark.parametrize(
    ("principal", "groups", "allowed"),
    [
        ("ldap", ["cn=readers,dc=example,dc=org", "cn=writers,dc=example,dc=org"], True),
        ("ldap", ["cn=readers,dc=example,dc=org"], False),
        ("ldap", [], False),
        ("accounts.google.com", ["cn=writers,dc=example,dc=org"], False),
        (ALICE, ["cn=writers,dc=example,dc=org"], False),
    ],
)
def test_trust_policy_for_the_ldap_directory(
    principal: str, groups: list[str], allowed: bool
) -> None:
    """`{"Federated": "ldap"}` in a role's trust policy: the trust policy alone decides
    (the directory's users have no identity policies), with its conditions."""
    trust = policy(LDAP_TRUST, kind=PolicyKind.TRUST)
    request = Request("sts:AssumeRoleWithLDAPIdentity", ROLE, principal, {"ldap:groups": groups})
    decision = evaluate(request, [], resource_policy=trust)
    assert decision.allowed is allowed
    if allowed:
        assert decision.policy_type is PolicyType.RESOURCE


def test_request_derives_global_keys() -> None:
    ctx = Request("s3:GetObject", "arn:aws:s3:::b/k", SESSION).context
    assert ctx["aws:principalarn"] == (ROLE,)
    assert ctx["aws:principalaccount"] == (ACCOUNT,)
    assert ctx["aws:principaltype"] == ("AssumedRole",)
    user = Request("s3:GetObject", "arn:aws:s3:::b/k", ALICE, {"aws:PrincipalArn": "given"})
    assert user.context["aws:principalarn"] == ("given",)  # given values win
    assert user.context["aws:username"] == ("alice",)
    assert Request("s3:GetObject", "arn:aws:s3:::b/k").context == {}


def test_request_normalizes_the_context() -> None:
    ctx = Request(
        "s3:GetObject", "*", None, {"A:B": True, "n": 3, "l": ["x", 1], "z": None}
    ).context
    assert ctx == {"a:b": ("true",), "n": ("3",), "l": ("x", "1")}


def test_resource_account() -> None:
    assert (
        Request("kms:Decrypt", "arn:aws:kms:us-east-1:999:key/k", ALICE).resource_account == "999"
    )
    assert Request("s3:GetObject", "arn:aws:s3:::b/k", ALICE).resource_account == ACCOUNT
    assert (
        Request("s3:GetObject", "arn:aws:s3:::b/k", ALICE, resource_account="1").resource_account
        == "1"
    )
