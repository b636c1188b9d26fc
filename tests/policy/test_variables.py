"""Policy variables, from the IAM User Guide, "IAM policy elements: Variables and tags"."""

from __future__ import annotations

from typing import Any

import pytest

from iamgw.policy import Outcome, Request, evaluate
from tests.policy.policy_helpers import ACCOUNT, ALICE, policy, stmt

CTX = {
    "aws:username": "alice",
    "aws:userid": "AIDAEXAMPLE",
    "aws:PrincipalTag/team": "blue",
    "jwt:sub": "u-123",
    "jwt:groups": ["a", "b"],
    "ldap:username": "alice.l",
    "ldap:user": "uid=alice,ou=people,dc=example,dc=org",
    "s3:prefix": "home/alice/",
}


def decide(
    resource_pattern: str,
    resource: str,
    context: dict[str, Any] | None = None,
    version: str | None = "2012-10-17",
    principal: str = ALICE,
) -> Outcome:
    p = policy(stmt(resource=resource_pattern), version=version)
    ctx = CTX if context is None else context
    return evaluate(Request("s3:GetObject", resource, principal, ctx), [p]).outcome


ALLOWED, DENIED = Outcome.ALLOWED, Outcome.IMPLICITLY_DENIED

CASES = [
    ("arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/alice/x", ALLOWED),
    ("arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/bob/x", DENIED),
    ("arn:aws:s3:::b/${AWS:UserName}/*", "arn:aws:s3:::b/alice/x", ALLOWED),  # keys: any case
    ("arn:aws:s3:::b/${aws:userid}/*", "arn:aws:s3:::b/AIDAEXAMPLE/x", ALLOWED),
    ("arn:aws:s3:::b/${aws:PrincipalTag/team}/*", "arn:aws:s3:::b/blue/x", ALLOWED),
    ("arn:aws:s3:::b/${jwt:sub}/*", "arn:aws:s3:::b/u-123/x", ALLOWED),
    ("arn:aws:s3:::b/${ldap:username}/*", "arn:aws:s3:::b/alice.l/x", ALLOWED),
    (
        "arn:aws:s3:::b/${ldap:user}",
        "arn:aws:s3:::b/uid=alice,ou=people,dc=example,dc=org",
        ALLOWED,
    ),
    ("arn:aws:s3:::b/${s3:prefix}*", "arn:aws:s3:::b/home/alice/doc", ALLOWED),
    ("arn:aws:s3:::b/${*}", "arn:aws:s3:::b/*", ALLOWED),  # ${*} is a literal *
    ("arn:aws:s3:::b/${*}", "arn:aws:s3:::b/x", DENIED),
    ("arn:aws:s3:::b/${?}", "arn:aws:s3:::b/?", ALLOWED),
    ("arn:aws:s3:::b/${?}", "arn:aws:s3:::b/x", DENIED),
    ("arn:aws:s3:::b/${$}x", "arn:aws:s3:::b/$x", ALLOWED),
    # unresolved: matches nothing; a default fills in
    ("arn:aws:s3:::b/${aws:nope}/*", "arn:aws:s3:::b//x", DENIED),
    ("arn:aws:s3:::b/${aws:nope, 'shared'}/*", "arn:aws:s3:::b/shared/x", ALLOWED),
    ("arn:aws:s3:::b/${aws:username, 'shared'}/*", "arn:aws:s3:::b/alice/x", ALLOWED),
    # a multi-valued key has no single value to substitute
    ("arn:aws:s3:::b/${jwt:groups}/*", "arn:aws:s3:::b/a/x", DENIED),
]


@pytest.mark.parametrize(("pattern", "resource", "expected"), CASES)
def test_variable(pattern: str, resource: str, expected: Outcome) -> None:
    assert decide(pattern, resource) is expected


def test_substituted_value_is_literal() -> None:
    # A user named "*" gets the folder named "*", not every folder.
    ctx = {"aws:username": "*"}
    assert decide("arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/*/x", ctx) is ALLOWED
    assert decide("arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/bob/x", ctx) is DENIED
    ctx = {"aws:username": "a?c"}
    assert decide("arn:aws:s3:::b/${aws:username}", "arn:aws:s3:::b/abc", ctx) is DENIED


def test_username_derived_from_user_arn() -> None:
    assert decide("arn:aws:s3:::b/${aws:username}/*", "arn:aws:s3:::b/alice/x", {}) is ALLOWED


@pytest.mark.parametrize("version", ["2008-10-17", None])
def test_no_variables_before_2012(version: str | None) -> None:
    pattern = "arn:aws:s3:::b/${aws:username}/*"
    assert decide(pattern, "arn:aws:s3:::b/alice/x", version=version) is DENIED
    assert decide(pattern, "arn:aws:s3:::b/${aws:username}/x", version=version) is ALLOWED


@pytest.mark.parametrize(
    ("operator", "value", "expected"),
    [
        ("StringEquals", "${aws:username}", ALLOWED),
        ("StringLike", "${aws:username}*", ALLOWED),
        ("StringLike", "${aws:nothing}*", DENIED),
        ("StringNotEquals", "${aws:nothing}", ALLOWED),  # unresolved value matches nothing
        ("ArnLike", f"arn:aws:iam::{ACCOUNT}:user/${{aws:username}}", ALLOWED),
    ],
)
def test_variables_in_conditions(operator: str, value: str, expected: Outcome) -> None:
    key = "aws:PrincipalArn" if operator.startswith("Arn") else "s3:prefix"
    ctx = dict(CTX, **{"s3:prefix": "alice"})
    p = policy(stmt(action="s3:ListBucket", Condition={operator: {key: value}}))
    assert evaluate(Request("s3:ListBucket", "arn:aws:s3:::b", ALICE, ctx), [p]).outcome is expected
