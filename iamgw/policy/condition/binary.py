"""The BinaryEquals condition operator: base64-encoded values compared byte for byte.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_BinaryEquals
"""

from __future__ import annotations

import base64
import binascii

from .operator import Operator


def _decode(value: str) -> bytes | None:
    try:
        return base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None


def _test(value: str, policy: bytes) -> bool:
    decoded = _decode(value)
    return decoded is not None and decoded == policy


OPERATORS = (Operator("BinaryEquals", _decode, _test),)
