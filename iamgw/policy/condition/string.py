"""String condition operators.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_String
"""

from __future__ import annotations

from ..variables import Resolved, resolved_glob_regex
from ..wildcard import Matcher, compile_glob, compile_regex
from .operator import Operator


def _same(value: str) -> str:
    return value


def _equals(value: str, policy: str) -> bool:
    return value == policy


def _fold(value: str) -> str:
    return value.casefold()


def _equals_fold(value: str, policy: str) -> bool:
    return value.casefold() == policy


def _glob(value: str) -> Matcher:
    return compile_glob(value)


def _glob_resolved(resolved: Resolved) -> Matcher:
    return compile_regex(resolved_glob_regex(resolved)).fullmatch  # type: ignore[return-value]


def _like(value: str, policy: Matcher) -> bool:
    return policy(value)


OPERATORS = (
    Operator("StringEquals", _same, _equals, variables=True),
    Operator("StringNotEquals", _same, _equals, negated=True, variables=True),
    Operator("StringEqualsIgnoreCase", _fold, _equals_fold, variables=True),
    Operator("StringNotEqualsIgnoreCase", _fold, _equals_fold, negated=True, variables=True),
    Operator("StringLike", _glob, _like, variables=True, prepare_resolved=_glob_resolved),
    Operator(
        "StringNotLike", _glob, _like, negated=True, variables=True, prepare_resolved=_glob_resolved
    ),
)
