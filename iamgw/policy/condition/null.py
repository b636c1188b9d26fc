"""The Null condition operator: whether a key is absent ("true") or present ("false").

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Null
"""

from __future__ import annotations

from .operator import Operator


def _prepare(value: str) -> bool | None:
    v = value.strip().lower()
    return True if v == "true" else False if v == "false" else None


def _test(absent: str, policy: bool) -> bool:
    # Called by the clause with "true"/"false" for the key's absence.
    return (absent == "true") is policy


NULL = Operator("Null", _prepare, _test)
OPERATORS = (NULL,)
