"""What every condition operator is made of; the families register theirs in `__init__`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..variables import Resolved

Prepare = Callable[[str], Any]
Test = Callable[[str, Any], bool]


def _join(resolved: Resolved) -> str:
    return "".join(text for text, _ in resolved)


@dataclass(frozen=True, slots=True)
class Operator:
    """A condition operator without its ``ForAllValues:``/``ForAnyValue:``/``IfExists``.

    `prepare` turns a policy value into what `test` compares a request value with
    (None: a value that can never match, e.g. "abc" for a number). `test` gives the
    positive sense; `negated` operators are the negation of it. `variables` tells
    whether policy values may hold policy variables (string and ARN operators);
    `prepare_resolved` prepares a value after substitution (default: join the text).
    """

    name: str
    prepare: Prepare
    test: Test
    negated: bool = False
    variables: bool = False
    prepare_resolved: Callable[[Resolved], Any] | None = None

    def prepare_substituted(self, resolved: Resolved) -> Any:
        if self.prepare_resolved is not None:
            return self.prepare_resolved(resolved)
        return self.prepare(_join(resolved))
