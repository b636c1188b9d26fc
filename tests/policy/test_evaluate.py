"""How policy types combine, from the IAM User Guide's "Policy evaluation logic",
"Cross-account policy evaluation logic", "Permissions boundaries" and "Session
policies" pages, and the Organizations guide's SCP and RCP pages."""

from __future__ import annotations

from typing import Any

import pytest

from iamgw.policy import Decision, Outcome, PolicyKind, PolicyType, Request, evaluate
from tests.policy.policy_helpers import ACCOUNT, ALICE, OBJECT, OTHER, ROLE, SESSION, policy, stmt

A, N, E = Outcome.ALLOWED, Outcome.IMPLICITLY_DENIED, Outcome.EXPLICITLY_DENIED  # N: no allow


def identity(*statements: dict[str, Any]):
    return policy(*statements, name="id")


def resource(principal: Any, effect: str = "Allow", **kw: Any):
    return policy(stmt(effect, Principal=principal, **kw), kind=PolicyKind.RESOURCE, name="bp")


def limit(kind: PolicyKind, *statements: dict[str, Any]):
    return policy(*statements, kind=kind, name=str(kind))


ALLOW_ID = identity(stmt())
DENY_ID = identity(stmt("Deny"))
ALLOW_EC2 = stmt(action="ec2:*")


def decide(principal: str | None = ALICE, account: str = ACCOUNT, **kw: Any) -> Decision:
    req = Request("s3:GetObject", OBJECT, principal, {}, resource_account=account)
    return evaluate(req, **kw)


def test_implicit_deny_by_default() -> None:
    d = decide()
    assert d.outcome is N
    assert d.explain() == "ImplicitlyDenied (no statement matched)"


def test_identity_allow_names_its_statement() -> None:
    d = decide(identity=[identity(stmt(Sid="Read"))])
    assert (d.outcome, d.policy_type, d.policy, d.statement) == (
        A,
        PolicyType.IDENTITY,
        "id",
        "Read",
    )
    assert d.explain() == "Allowed by identity policy 'id' statement Read"
    assert d and d.allowed


def test_explicit_deny_wins_over_allow() -> None:
    p = identity(stmt(), stmt("Deny", Sid="NoGet"))
    d = decide(identity=[p])
    assert (d.outcome, d.statement) == (E, "NoGet")
    assert d.explain() == "ExplicitlyDenied by identity policy 'id' statement NoGet"


SAME_ACCOUNT = [
    # (what, principal, identity, resource policy principal, effect, expected)
    ("identity alone", ALICE, True, None, "Allow", A),
    ("resource policy naming the user alone", ALICE, False, {"AWS": ALICE}, "Allow", A),
    (
        "resource policy naming the account: needs identity",
        ALICE,
        False,
        {"AWS": ACCOUNT},
        "Allow",
        N,
    ),
    (
        "account root, with identity",
        ALICE,
        True,
        {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Allow",
        A,
    ),
    (
        "resource policy for someone else",
        ALICE,
        False,
        {"AWS": f"arn:aws:iam::{ACCOUNT}:user/bob"},
        "Allow",
        N,
    ),
    ("resource policy for everyone", ALICE, False, "*", "Allow", A),
    (
        "resource policy naming the role, from its session",
        SESSION,
        False,
        {"AWS": ROLE},
        "Allow",
        A,
    ),
    ("resource deny beats identity allow", ALICE, True, {"AWS": ALICE}, "Deny", E),
    ("resource deny for the account", ALICE, True, {"AWS": ACCOUNT}, "Deny", E),
]


@pytest.mark.parametrize(
    ("what", "principal", "ident", "rp", "effect", "expected"),
    SAME_ACCOUNT,
    ids=[c[0] for c in SAME_ACCOUNT],
)
def test_same_account(
    what: str, principal: str, ident: bool, rp: Any, effect: str, expected: Outcome
) -> None:
    kw: dict[str, Any] = {"identity": [ALLOW_ID] if ident else []}
    if rp is not None:
        kw["resource_policy"] = resource(rp, effect)
    assert decide(principal, **kw).outcome is expected


CROSS_ACCOUNT = [
    ("identity alone", True, None, N),
    ("resource policy alone", False, {"AWS": ALICE}, N),
    ("both, resource naming the user", True, {"AWS": ALICE}, A),
    ("both, resource naming the account", True, {"AWS": ACCOUNT}, A),
    ("both, resource naming another account", True, {"AWS": OTHER}, N),
]


@pytest.mark.parametrize(
    ("what", "ident", "rp", "expected"), CROSS_ACCOUNT, ids=[c[0] for c in CROSS_ACCOUNT]
)
def test_cross_account_needs_both_sides(what: str, ident: bool, rp: Any, expected: Outcome) -> None:
    kw: dict[str, Any] = {"identity": [ALLOW_ID] if ident else []}
    if rp is not None:
        kw["resource_policy"] = resource(rp)
    assert decide(account=OTHER, **kw).outcome is expected


def test_not_principal() -> None:
    deny_others = resource({"AWS": ALICE}, "Deny")
    deny_others = policy(stmt("Deny", NotPrincipal={"AWS": ALICE}), kind=PolicyKind.RESOURCE)
    assert decide(identity=[ALLOW_ID], resource_policy=deny_others).outcome is A
    bob = f"arn:aws:iam::{ACCOUNT}:user/bob"
    assert decide(bob, identity=[ALLOW_ID], resource_policy=deny_others).outcome is E
    # IAM User Guide, NotPrincipal: with a permissions boundary, NotPrincipal+Deny denies.
    boundary = limit(PolicyKind.BOUNDARY, stmt(action="*"))
    d = decide(identity=[ALLOW_ID], resource_policy=deny_others, boundaries=[boundary])
    assert d.outcome is E


BOUNDARY = [
    # (what, principal, identity allows, resource principal, boundary statements, expected)
    ("both allow", ROLE, True, None, [stmt()], A),
    ("boundary does not allow", ROLE, True, None, [ALLOW_EC2], N),
    ("boundary denies", ROLE, True, None, [stmt(action="*"), stmt("Deny")], E),
    ("boundary alone grants nothing", ROLE, False, None, [stmt()], N),
    (
        "resource policy naming the user is not limited",
        ALICE,
        False,
        {"AWS": ALICE},
        [ALLOW_EC2],
        A,
    ),
    ("resource policy naming the role is limited", ROLE, False, {"AWS": ROLE}, [ALLOW_EC2], N),
    (
        "resource policy naming the session is not limited",
        SESSION,
        False,
        {"AWS": SESSION},
        [ALLOW_EC2],
        A,
    ),
    (
        "resource policy naming the role, from a session, is limited",
        SESSION,
        False,
        {"AWS": ROLE},
        [ALLOW_EC2],
        N,
    ),
    ("boundary deny beats resource allow", ALICE, False, {"AWS": ALICE}, [stmt("Deny")], E),
]


@pytest.mark.parametrize(
    ("what", "principal", "ident", "rp", "boundary", "expected"),
    BOUNDARY,
    ids=[c[0] for c in BOUNDARY],
)
def test_permissions_boundary(
    what: str,
    principal: str,
    ident: bool,
    rp: Any,
    boundary: list[dict[str, Any]],
    expected: Outcome,
) -> None:
    kw: dict[str, Any] = {"identity": [ALLOW_ID] if ident else []}
    if rp is not None:
        kw["resource_policy"] = resource(rp)
    d = decide(principal, boundaries=[limit(PolicyKind.BOUNDARY, *boundary)], **kw)
    assert d.outcome is expected
    if expected is N and ident:
        assert d.blocked_by == (PolicyType.BOUNDARY,)


SESSION_CASES = [
    ("both allow", True, None, [stmt(action="s3:*")], A),
    ("session policy does not allow", True, None, [ALLOW_EC2], N),
    ("session policy alone grants nothing", False, None, [stmt(action="*")], N),
    ("session policy denies", True, None, [stmt(action="*"), stmt("Deny")], E),
    ("resource policy naming the role is limited", False, {"AWS": ROLE}, [ALLOW_EC2], N),
    # STS API Reference, AssumeRole: grants to the session ARN are in addition.
    ("resource policy naming the session is not limited", False, {"AWS": SESSION}, [ALLOW_EC2], A),
]


@pytest.mark.parametrize(
    ("what", "ident", "rp", "session", "expected"), SESSION_CASES, ids=[c[0] for c in SESSION_CASES]
)
def test_session_policy(
    what: str, ident: bool, rp: Any, session: list[dict[str, Any]], expected: Outcome
) -> None:
    kw: dict[str, Any] = {"identity": [ALLOW_ID] if ident else []}
    if rp is not None:
        kw["resource_policy"] = resource(rp)
    assert (
        decide(SESSION, session_policies=[limit(PolicyKind.SESSION, *session)], **kw).outcome
        is expected
    )


def test_scps_every_level_must_allow() -> None:
    allow_all = limit(PolicyKind.SCP, stmt(action="*"))
    allow_ec2 = limit(PolicyKind.SCP, ALLOW_EC2)
    assert decide(identity=[ALLOW_ID], scps=[allow_all, [allow_ec2, allow_all]]).outcome is A
    d = decide(identity=[ALLOW_ID], scps=[allow_all, allow_ec2])
    assert (d.outcome, d.blocked_by) == (N, (PolicyType.SCP,))
    assert decide(identity=[ALLOW_ID], scps=[[]]).outcome is N  # a level without policies
    deny = limit(PolicyKind.SCP, stmt(action="*"), stmt("Deny"))
    assert decide(identity=[ALLOW_ID], scps=[deny]).outcome is E
    # SCPs grant nothing by themselves
    assert decide(scps=[allow_all]).outcome is N


def test_scps_do_not_apply_to_anonymous_or_services() -> None:
    deny = limit(PolicyKind.SCP, stmt("Deny", action="*"))
    public = resource("*")
    assert decide(None, resource_policy=public, scps=[deny]).outcome is A
    svc = resource({"Service": "logs.amazonaws.com"})
    assert decide("logs.amazonaws.com", resource_policy=svc, scps=[deny]).outcome is A


def test_rcps_only_deny() -> None:
    rcp_allow_ec2 = policy(stmt(action="ec2:*", Principal="*"), kind=PolicyKind.RCP)
    rcp_deny = policy(stmt("Deny", Principal="*"), kind=PolicyKind.RCP)
    assert decide(identity=[ALLOW_ID], rcps=[rcp_allow_ec2]).outcome is A
    assert decide(identity=[ALLOW_ID], rcps=[[], rcp_deny]).outcome is E
    assert decide(None, resource_policy=resource("*"), rcps=[rcp_deny]).outcome is E


def test_endpoint_policy_must_allow() -> None:
    vpce_ec2 = limit(PolicyKind.ENDPOINT, ALLOW_EC2)
    vpce_all = limit(PolicyKind.ENDPOINT, stmt(action="*"))
    assert decide(identity=[ALLOW_ID], endpoint_policies=[vpce_all]).outcome is A
    d = decide(identity=[ALLOW_ID], endpoint_policies=[vpce_ec2])
    assert d.blocked_by == (PolicyType.ENDPOINT,)


def test_anonymous() -> None:
    assert decide(None, identity=[ALLOW_ID]).outcome is N
    assert decide(None, resource_policy=resource("*")).outcome is A
    assert decide(None, resource_policy=resource({"AWS": "*"})).outcome is A
    assert decide(None, resource_policy=resource({"AWS": ACCOUNT})).outcome is N


def test_resource_policy_statement_without_principal_grants_nothing() -> None:
    # Strict parsing refuses it (see test_document); a lenient one grants nothing.
    p = policy(stmt(), kind=PolicyKind.RESOURCE, strict=False)
    assert decide(resource_policy=p).outcome is N


def test_get_caller_identity_needs_no_permission() -> None:
    deny_all = identity(stmt("Deny", action="*"))
    req = Request("sts:GetCallerIdentity", "*", ALICE)
    assert evaluate(req, [deny_all]).allowed


@pytest.mark.parametrize(
    ("resource_arn", "action", "rp", "expected"),
    [
        # KMS: the key policy must allow, even within the account
        (f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k1", "kms:Decrypt", None, N),
        (f"arn:aws:kms:us-east-1:{ACCOUNT}:key/k1", "kms:Decrypt", {"AWS": ACCOUNT}, A),
        # a role's trust policy must allow assuming it
        (f"arn:aws:iam::{ACCOUNT}:role/r", "sts:AssumeRole", None, N),
        (f"arn:aws:iam::{ACCOUNT}:role/r", "sts:AssumeRole", {"AWS": ALICE}, A),
    ],
)
def test_resource_policy_required(
    resource_arn: str, action: str, rp: Any, expected: Outcome
) -> None:
    ident = identity(stmt(action=action))
    rps = [policy(stmt(action=action, Principal=rp), kind=PolicyKind.TRUST)] if rp else None
    req = Request(action, resource_arn, ALICE)
    assert evaluate(req, [ident], rps).outcome is expected


def test_resource_policy_without_resource_element_applies_to_its_resource() -> None:
    trust = policy(
        {"Effect": "Allow", "Action": "sts:AssumeRole", "Principal": {"AWS": ALICE}},
        kind=PolicyKind.TRUST,
    )
    req = Request("sts:AssumeRole", f"arn:aws:iam::{ACCOUNT}:role/r", ALICE)
    assert evaluate(req, [], trust).allowed


def test_multiple_identity_policies() -> None:
    d = decide(identity=[identity(ALLOW_EC2), identity(stmt(Sid="S3"))])
    assert (d.outcome, d.statement) == (A, "S3")


def test_evaluation_never_raises() -> None:
    class Broken:
        kind = PolicyKind.IDENTITY

        def __getattr__(self, name: str) -> Any:
            raise RuntimeError("boom")

    d = evaluate(Request("s3:GetObject", OBJECT, ALICE), [Broken()])  # type: ignore[list-item]
    assert d.outcome is N
    assert "evaluation failed" in d.reason


def test_resource_pattern_requests() -> None:
    # A request for a set of resources (simulation): allows may overlap, denies must cover.
    allow = identity(
        stmt(resource="arn:aws:s3:::bucket/*"),
        stmt("Deny", resource="arn:aws:s3:::bucket/private/*"),
    )
    req = Request("s3:GetObject", "arn:aws:s3:::bucket/*", ALICE, resource_is_pattern=True)
    assert evaluate(req, [allow]).allowed
    req = Request("s3:GetObject", "arn:aws:s3:::bucket/private/*", ALICE, resource_is_pattern=True)
    assert evaluate(req, [allow]).outcome is E
