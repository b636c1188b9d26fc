"""Properties that hold for every input (hypothesis; modest example counts)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from iamgw.policy import (
    Outcome,
    PolicyKind,
    Request,
    evaluate,
    parse_policy,
)
from tests.policy.policy_helpers import STATEMENT_ELEMENTS, parse_or_malformed

SETTINGS = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
ELEMENTS = [
    "Version",
    "Id",
    "Statement",
    *STATEMENT_ELEMENTS,
    "StringEquals",
    "AWS",
    "ForAllValues:StringLike",
    "Allow",
    "Deny",
    "2012-10-17",
    "*",
    "s3:*",
]
keys = st.sampled_from(ELEMENTS) | st.text(max_size=6)
policy_like = st.recursive(
    st.sampled_from(ELEMENTS) | json_values,
    lambda children: st.lists(children, max_size=3) | st.dictionaries(keys, children, max_size=5),
    max_leaves=25,
)


@SETTINGS
@given(doc=policy_like, kind=st.sampled_from(list(PolicyKind)), as_text=st.booleans())
def test_parsing_never_crashes(doc: Any, kind: PolicyKind, as_text: bool) -> None:
    parse_or_malformed(json.dumps(doc) if as_text else doc, kind)


@SETTINGS
@given(text=st.text(max_size=60))
def test_parsing_arbitrary_text_never_crashes(text: str) -> None:
    parse_or_malformed(text)


SERVICES = ["s3", "ec2", "iam"]
ACTIONS = ["s3:GetObject", "s3:PutObject", "ec2:RunInstances", "iam:GetUser"]
RESOURCES = ["arn:aws:s3:::b/k", "arn:aws:s3:::b/p/k", "arn:aws:s3:::c/k", "*"]
action_patterns = st.sampled_from(
    ACTIONS + ["*", "s3:*", "s3:Get*", "ec2:*", "s3:*Object", "iam:?et*"]
)
resource_patterns = st.sampled_from(
    ["*", "arn:aws:s3:::b/*", "arn:aws:s3:::b/p/*", "arn:aws:s3:::*/k", "arn:aws:s3:::c/k"]
)
conditions = st.sampled_from(
    [
        None,
        {"StringEquals": {"aws:PrincipalTag/team": "blue"}},
        {"StringNotEquals": {"aws:PrincipalTag/team": "blue"}},
        {"Bool": {"aws:SecureTransport": "true"}},
        {"IpAddressIfExists": {"aws:SourceIp": "10.0.0.0/8"}},
        {"ForAllValues:StringLike": {"aws:TagKeys": "t*"}},
    ]
)


@st.composite
def statements(draw: st.DrawFn, effect: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"Effect": effect or draw(st.sampled_from(["Allow", "Deny"]))}
    out["NotAction" if draw(st.booleans()) and draw(st.booleans()) else "Action"] = draw(
        st.lists(action_patterns, min_size=1, max_size=3)
    )
    out["NotResource" if draw(st.booleans()) and draw(st.booleans()) else "Resource"] = draw(
        st.lists(resource_patterns, min_size=1, max_size=2)
    )
    cond = draw(conditions)
    if cond:
        out["Condition"] = cond
    return out


def doc(stmts: list[dict[str, Any]]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": stmts}


contexts = st.fixed_dictionaries(
    {},
    optional={
        "aws:PrincipalTag/team": st.sampled_from(["blue", "red"]),
        "aws:SecureTransport": st.sampled_from(["true", "false"]),
        "aws:SourceIp": st.sampled_from(["10.1.1.1", "192.0.2.1"]),
        "aws:TagKeys": st.lists(st.sampled_from(["team", "cost", "x"]), max_size=2),
    },
)
requests = st.builds(
    lambda action, resource, principal, ctx: Request(action, resource, principal, ctx),
    st.sampled_from(ACTIONS),
    st.sampled_from(RESOURCES),
    st.sampled_from(
        ["arn:aws:iam::111111111111:user/u", "arn:aws:sts::111111111111:assumed-role/r/s"]
    ),
    contexts,
)


@SETTINGS
@given(
    identity=st.lists(statements(), min_size=1, max_size=4),
    extra_deny=statements(effect="Deny"),
    request=requests,
)
def test_adding_a_deny_never_allows_more(
    identity: list[dict[str, Any]], extra_deny: dict[str, Any], request: Request
) -> None:
    before = evaluate(request, [parse_policy(doc(identity))])
    after = evaluate(request, [parse_policy(doc(identity + [extra_deny]))])
    if not before.allowed:
        assert not after.allowed
    if before.outcome is Outcome.EXPLICITLY_DENIED:
        assert after.outcome is Outcome.EXPLICITLY_DENIED


@SETTINGS
@given(
    identity=st.lists(statements(), min_size=1, max_size=4),
    session=st.lists(statements(), min_size=0, max_size=3),
    request=requests,
)
def test_a_session_policy_never_widens_the_identity_allow(
    identity: list[dict[str, Any]], session: list[dict[str, Any]], request: Request
) -> None:
    policies = [parse_policy(doc(identity))]
    without = evaluate(request, policies)
    with_session = evaluate(
        request, policies, session_policies=[parse_policy(doc(session), PolicyKind.SESSION)]
    )
    if with_session.allowed:
        assert without.allowed


@SETTINGS
@given(identity=st.lists(statements(), min_size=1, max_size=4), request=requests)
def test_casbin_generic_path_agrees(identity: list[dict[str, Any]], request: Request) -> None:
    from iamgw.policy._casbin import CasbinEnforcer
    from iamgw.policy.evaluate import first_match

    p = parse_policy(doc(identity))
    enforcer = CasbinEnforcer()
    enforcer.add("identity", "p", p)
    allow = first_match(p, request, deny=False) is not None
    deny = first_match(p, request, deny=True) is not None
    assert enforcer.enforce(request, "identity")[0] == enforcer.final_effect(allow, deny)
    assert evaluate(request, [p]).allowed == (allow and not deny)
