"""The Bool condition operator ("true"/"false", any case).

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Boolean
"""

from __future__ import annotations

from .operator import Operator


def _prepare(value: str) -> str:
    return value.strip().lower()


def _test(value: str, policy: str) -> bool:
    return value.strip().lower() == policy


OPERATORS = (Operator("Bool", _prepare, _test),)
