"""Condition operators, qualifiers and IfExists, from the IAM User Guide's "Condition
operators", "Multivalued context keys" and "Condition element" pages."""

from __future__ import annotations

from typing import Any

import pytest

from iamgw.policy import MalformedPolicyDocument, Outcome, Request, evaluate
from iamgw.policy.condition import OPERATORS, find_operator
from tests.policy.policy_helpers import ALICE, policy, stmt

MISSING = object()


def holds(operator: str, policy_value: Any, context_value: Any, key: str = "k:key") -> bool:
    p = policy(stmt(action="s3:ListBucket", Condition={operator: {key: policy_value}}))
    ctx = {} if context_value is MISSING else {key: context_value}
    decision = evaluate(Request("s3:ListBucket", "arn:aws:s3:::b", ALICE, ctx), [p])
    return decision.outcome is Outcome.ALLOWED


CASES = [
    # String
    ("StringEquals", "abc", "abc", True),
    ("StringEquals", "abc", "ABC", False),
    ("StringEquals", ["x", "abc"], "abc", True),
    ("StringEquals", "abc", MISSING, False),
    ("StringEquals", "a*", "abc", False),  # no wildcards
    ("StringNotEquals", "abc", "abd", True),
    ("StringNotEquals", "abc", "abc", False),
    ("StringNotEquals", ["x", "abc"], "abc", False),
    ("StringNotEquals", "abc", MISSING, True),  # negated: a missing key matches
    ("StringEqualsIgnoreCase", "ABC", "abc", True),
    ("StringEqualsIgnoreCase", "ABC", "abd", False),
    ("StringNotEqualsIgnoreCase", "ABC", "abc", False),
    ("StringNotEqualsIgnoreCase", "ABC", "xyz", True),
    ("StringLike", "home/*", "home/alice/x", True),
    ("StringLike", "home/?", "home/a", True),
    ("StringLike", "home/?", "home/ab", False),
    ("StringLike", "Home/*", "home/a", False),  # case-sensitive
    ("StringLike", "home/*", MISSING, False),
    ("StringNotLike", "home/*", "tmp/x", True),
    ("StringNotLike", "home/*", "home/x", False),
    ("StringNotLike", "home/*", MISSING, True),
    # Numeric
    ("NumericEquals", "10", "10", True),
    ("NumericEquals", "10", "10.0", True),
    ("NumericEquals", 10, "11", False),
    ("NumericNotEquals", "10", "11", True),
    ("NumericNotEquals", "10", "10", False),
    ("NumericLessThan", "10", "9", True),
    ("NumericLessThan", "10", "10", False),
    ("NumericLessThanEquals", "10", "10", True),
    ("NumericLessThanEquals", "10", "11", False),
    ("NumericGreaterThan", "10", "11", True),
    ("NumericGreaterThan", "10", "10", False),
    ("NumericGreaterThanEquals", "10", "10", True),
    ("NumericGreaterThanEquals", "10", "9.5", False),
    ("NumericEquals", "10", "ten", False),
    ("NumericLessThan", "10", MISSING, False),
    # Date: ISO 8601 or epoch seconds
    ("DateEquals", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", True),
    ("DateEquals", "2024-01-01T00:00:00Z", "1704067200", True),
    ("DateEquals", "1704067200", "2024-01-01T01:00:00+01:00", True),
    ("DateNotEquals", "2024-01-01T00:00:00Z", "2024-01-02T00:00:00Z", True),
    ("DateLessThan", "2024-01-01T00:00:00Z", "2023-12-31T23:59:59Z", True),
    ("DateLessThan", "2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z", False),
    ("DateLessThanEquals", "2024-01-01", "2024-01-01T00:00:00Z", True),
    ("DateGreaterThan", "2024-01-01T00:00:00Z", "2024-06-01T00:00:00Z", True),
    ("DateGreaterThan", "2024-01-01T00:00:00Z", "not a date", False),
    ("DateGreaterThanEquals", "2024-01-01T00:00:00Z", "1704067200", True),
    # Bool
    ("Bool", "true", "true", True),
    ("Bool", "true", "TRUE", True),
    ("Bool", True, "true", True),
    ("Bool", "true", "false", False),
    ("Bool", "false", MISSING, False),
    # Binary: base64, compared as bytes
    ("BinaryEquals", "QmluYXJ5VmFsdWU=", "QmluYXJ5VmFsdWU=", True),
    ("BinaryEquals", "QmluYXJ5VmFsdWU=", "T3RoZXI=", False),
    # IP addresses, IPv4 and IPv6
    ("IpAddress", "10.0.0.0/8", "10.1.2.3", True),
    ("IpAddress", "10.0.0.0/8", "11.1.2.3", False),
    ("IpAddress", "203.0.113.7", "203.0.113.7", True),
    ("IpAddress", ["192.0.2.0/24", "2001:db8::/32"], "2001:db8:1::5", True),
    ("IpAddress", "2001:db8::/32", "2001:db9::1", False),
    ("IpAddress", "10.0.0.0/8", "::ffff:10.1.2.3", False),  # families do not mix
    ("IpAddress", "10.0.0.0/8", "not-an-ip", False),
    ("IpAddress", "10.0.0.0/8", MISSING, False),
    ("NotIpAddress", "10.0.0.0/8", "11.1.2.3", True),
    ("NotIpAddress", "10.0.0.0/8", "10.1.2.3", False),
    ("NotIpAddress", "2001:db8::/32", "2001:db8::1", False),
    # ARN: part by part, with wildcards
    ("ArnEquals", "arn:aws:iam::123456789012:role/r", "arn:aws:iam::123456789012:role/r", True),
    ("ArnLike", "arn:aws:iam::*:role/*", "arn:aws:iam::123456789012:role/r", True),
    ("ArnLike", "arn:aws:iam::*:role/*", "arn:aws:iam::123456789012:user/u", False),
    ("ArnLike", "arn:aws:sns:*:123456789012:t", "arn:aws:sns:us-east-1:123456789012:t", True),
    ("ArnNotEquals", "arn:aws:iam::1:role/r", "arn:aws:iam::1:role/x", True),
    ("ArnNotLike", "arn:aws:iam::*:role/*", "arn:aws:iam::1:role/x", False),
    ("ArnNotLike", "arn:aws:iam::*:role/*", MISSING, True),
    # Null: "true" = absent, "false" = present
    ("Null", "true", MISSING, True),
    ("Null", "true", "x", False),
    ("Null", "false", "x", True),
    ("Null", "false", MISSING, False),
    ("Null", False, "x", True),
    # ...IfExists: a missing key is true
    ("StringEqualsIfExists", "abc", MISSING, True),
    ("StringEqualsIfExists", "abc", "abd", False),
    ("StringNotEqualsIfExists", "abc", "abc", False),
    ("NumericLessThanIfExists", "10", MISSING, True),
    ("IpAddressIfExists", "10.0.0.0/8", "11.0.0.1", False),
    ("BoolIfExists", "true", MISSING, True),
    ("ArnLikeIfExists", "arn:aws:iam::*:role/*", MISSING, True),
    ("DateLessThanIfExists", "2024-01-01T00:00:00Z", MISSING, True),
    # Single-valued operators on multi-valued keys: any value
    ("StringEquals", "b", ["a", "b"], True),
    ("StringNotEquals", "b", ["a", "b"], False),
]


@pytest.mark.parametrize(("operator", "policy_value", "context_value", "expected"), CASES)
def test_operator(operator: str, policy_value: Any, context_value: Any, expected: bool) -> None:
    assert holds(operator, policy_value, context_value) is expected


def test_every_operator_has_a_case() -> None:
    covered = {find_operator(op)[0].name for op, *_ in CASES}  # type: ignore[index]
    assert covered == {op.name for op in OPERATORS.values()}


# ForAllValues / ForAnyValue, with AWS's empty-set and negation rules.
SET_CASES = [
    ("ForAllValues:StringEquals", ["a", "b"], ["a"], True),
    ("ForAllValues:StringEquals", ["a", "b"], ["a", "b"], True),
    ("ForAllValues:StringEquals", ["a", "b"], ["a", "c"], False),
    ("ForAllValues:StringEquals", ["a", "b"], [], True),  # empty set: true
    ("ForAllValues:StringEquals", ["a", "b"], MISSING, True),  # missing: true
    ("ForAnyValue:StringEquals", ["a", "b"], ["c", "b"], True),
    ("ForAnyValue:StringEquals", ["a", "b"], ["c", "d"], False),
    ("ForAnyValue:StringEquals", ["a", "b"], [], False),
    ("ForAnyValue:StringEquals", ["a", "b"], MISSING, False),
    # negated: each request value against the policy values
    ("ForAllValues:StringNotEquals", ["a", "b"], ["c", "d"], True),
    ("ForAllValues:StringNotEquals", ["a", "b"], ["c", "a"], False),
    ("ForAllValues:StringNotEquals", ["a"], MISSING, True),
    ("ForAnyValue:StringNotEquals", ["a", "b"], ["a", "c"], True),
    ("ForAnyValue:StringNotEquals", ["a", "b"], ["a", "b"], False),
    ("ForAnyValue:StringNotEquals", ["a"], MISSING, False),
    ("ForAllValues:StringLike", ["team-*"], ["team-a", "team-b"], True),
    ("ForAnyValue:StringLike", ["team-*"], ["x", "team-b"], True),
    ("ForAnyValue:StringEqualsIfExists", ["a"], MISSING, True),
    ("ForAllValues:NumericLessThan", "10", ["1", "2"], True),
    ("ForAnyValue:IpAddress", "10.0.0.0/8", ["192.0.2.1", "10.0.0.1"], True),
    # a single-valued key used with ForAllValues (iam-simulate's forAllValuesMisused)
    ("ForAllValues:StringEquals", ["o-1", "o-2"], "o-1", True),
    ("ForAllValues:StringEquals", ["o-1", "o-2"], "o-3", False),
]


@pytest.mark.parametrize(("operator", "policy_value", "context_value", "expected"), SET_CASES)
def test_set_operator(operator: str, policy_value: Any, context_value: Any, expected: bool) -> None:
    assert holds(operator, policy_value, context_value) is expected


def test_condition_keys_are_case_insensitive() -> None:
    p = policy(stmt(action="s3:ListBucket", Condition={"StringEquals": {"AWS:SourceVPC": "v"}}))
    req = Request("s3:ListBucket", "arn:aws:s3:::b", ALICE, {"aws:sourcevpc": "v"})
    assert evaluate(req, [p]).allowed


def test_values_are_case_sensitive() -> None:
    assert not holds("StringEquals", "Value", "value")


def test_all_operators_and_keys_must_hold() -> None:
    cond = {
        "StringEquals": {"k:a": "1", "k:b": "2"},
        "NumericLessThan": {"k:n": "5"},
    }
    p = policy(stmt(action="s3:ListBucket", Condition=cond))

    def allowed(ctx: dict[str, str]) -> bool:
        return evaluate(Request("s3:ListBucket", "arn:aws:s3:::b", ALICE, ctx), [p]).allowed

    assert allowed({"k:a": "1", "k:b": "2", "k:n": "4"})
    assert not allowed({"k:a": "1", "k:b": "2", "k:n": "6"})
    assert not allowed({"k:a": "1", "k:n": "4"})


@pytest.mark.parametrize(
    "name",
    ["StringEqualz", "ForSomeValues:StringEquals", "NullIfExists", "IfExists", "Stringequals:x"],
)
def test_unknown_operator_is_rejected(name: str) -> None:
    with pytest.raises(MalformedPolicyDocument) as err:
        policy(stmt(Condition={name: {"k:a": "1"}}))
    assert err.value.path == f"Statement[0].Condition.{name}"


def test_operator_names_ignore_case() -> None:
    assert find_operator("stringequals") is not None
    assert find_operator("forallvalues:STRINGLIKEIFEXISTS") is not None
