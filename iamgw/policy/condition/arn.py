"""ARN condition operators: ARN patterns compared part by part (as Resource is).

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_ARN
"""

from __future__ import annotations

from ..resource import compile_arn, compile_arn_text
from ..wildcard import Matcher
from .operator import Operator


def _test(value: str, policy: Matcher) -> bool:
    return policy(value)


OPERATORS = (
    Operator("ArnEquals", compile_arn_text, _test, variables=True, prepare_resolved=compile_arn),
    Operator("ArnLike", compile_arn_text, _test, variables=True, prepare_resolved=compile_arn),
    Operator(
        "ArnNotEquals",
        compile_arn_text,
        _test,
        negated=True,
        variables=True,
        prepare_resolved=compile_arn,
    ),
    Operator(
        "ArnNotLike",
        compile_arn_text,
        _test,
        negated=True,
        variables=True,
        prepare_resolved=compile_arn,
    ),
)
