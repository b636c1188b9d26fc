"""Date condition operators: ISO 8601 dates and times, or seconds since the epoch.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html#Conditions_Date
"""

from __future__ import annotations

import operator as op
from collections.abc import Callable
from datetime import UTC, datetime
from functools import lru_cache

from .numeric import number
from .operator import Operator


@lru_cache(maxsize=1024)
def timestamp(value: str) -> float | None:
    """Seconds since the epoch of an ISO 8601 date/time (UTC when no offset) or epoch."""
    value = value.strip()
    if not value:
        return None
    if value.lstrip("-").replace(".", "", 1).isdigit():
        return number(value)
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def _tester(compare: Callable[[float, float], bool]) -> Callable[[str, float], bool]:
    def test(value: str, policy: float) -> bool:
        t = timestamp(value)
        return t is not None and compare(t, policy)

    return test


OPERATORS = (
    Operator("DateEquals", timestamp, _tester(op.eq)),
    Operator("DateNotEquals", timestamp, _tester(op.eq), negated=True),
    Operator("DateLessThan", timestamp, _tester(op.lt)),
    Operator("DateLessThanEquals", timestamp, _tester(op.le)),
    Operator("DateGreaterThan", timestamp, _tester(op.gt)),
    Operator("DateGreaterThanEquals", timestamp, _tester(op.ge)),
)
