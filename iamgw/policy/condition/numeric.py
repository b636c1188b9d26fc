"""Numeric condition operators.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Numeric
"""

from __future__ import annotations

import math
import operator as op
from collections.abc import Callable

from .operator import Operator


def number(value: str) -> float | None:
    try:
        n = float(value.strip())
    except ValueError:
        return None
    return None if math.isnan(n) else n


def _tester(compare: Callable[[float, float], bool]) -> Callable[[str, float], bool]:
    def test(value: str, policy: float) -> bool:
        n = number(value)
        return n is not None and compare(n, policy)

    return test


OPERATORS = (
    Operator("NumericEquals", number, _tester(op.eq)),
    Operator("NumericNotEquals", number, _tester(op.eq), negated=True),
    Operator("NumericLessThan", number, _tester(op.lt)),
    Operator("NumericLessThanEquals", number, _tester(op.le)),
    Operator("NumericGreaterThan", number, _tester(op.gt)),
    Operator("NumericGreaterThanEquals", number, _tester(op.ge)),
)
