"""The Condition element: operators (one module per family, registered in `OPERATORS`),
set qualifiers ``ForAllValues:``/``ForAnyValue:``, the ``IfExists`` suffix.

Semantics (IAM User Guide, "Condition operators" and "Multivalued context keys"):
keys are compared without regard to case; within a block, every operator and every
key must be true (AND), any policy value may match (OR). A missing key makes a
positive operator false and a negated one true; ``...IfExists`` makes a missing key
true. ``ForAllValues`` is true for a missing or empty key, ``ForAnyValue`` false.
A negated operator is the negation of its positive twin for each request value.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition.html
"""

from __future__ import annotations

from typing import Any

from ..variables import Context, Piece, parse_template, resolve
from . import arn, binary, date, ipaddr, null, numeric, string
from . import bool as boolean
from .operator import Operator

OPERATORS: dict[str, Operator] = {
    op.name.lower(): op
    for family in (string, numeric, date, boolean, binary, ipaddr, arn, null)
    for op in family.OPERATORS
}

ANY_VALUE = "any"
ALL_VALUES = "all"
_QUALIFIERS = {"forallvalues": ALL_VALUES, "foranyvalue": ANY_VALUE}


def find_operator(name: str) -> tuple[Operator, str | None, bool] | None:
    """(operator, qualifier, if_exists) for an operator name as written, or None."""
    qualifier = None
    base = name
    prefix, colon, rest = name.partition(":")
    if colon:
        qualifier = _QUALIFIERS.get(prefix.lower())
        if qualifier is None:
            return None
        base = rest
    lower = base.lower()
    if_exists = False
    if lower.endswith("ifexists") and lower != "ifexists":
        if_exists = True
        lower = lower[: -len("ifexists")]
        if lower == "null":  # NullIfExists does not exist
            return None
    op = OPERATORS.get(lower)
    return None if op is None else (op, qualifier, if_exists)


class Clause:
    """One operator applied to one context key with its policy values."""

    __slots__ = ("operator", "key", "qualifier", "if_exists", "prepared", "templates", "is_null")

    def __init__(
        self,
        operator: Operator,
        key: str,
        values: tuple[str, ...],
        qualifier: str | None = None,
        if_exists: bool = False,
        variables: bool = True,
    ) -> None:
        self.operator = operator
        self.key = key.lower()
        self.qualifier = qualifier
        self.if_exists = if_exists
        self.is_null = operator is null.NULL
        prepared: list[Any] = []
        templates: list[tuple[Piece, ...]] = []
        for value in values:
            template = parse_template(value) if variables and operator.variables else None
            if template is not None:
                templates.append(template)
                continue
            p = operator.prepare(value)
            if p is not None:
                prepared.append(p)
        self.prepared = tuple(prepared)
        self.templates = tuple(templates)

    def _policy_values(self, context: Context) -> tuple[Any, ...]:
        if not self.templates:
            return self.prepared
        out = list(self.prepared)
        for template in self.templates:
            resolved = resolve(template, context)
            if resolved is not None:  # unresolved: the value matches nothing
                p = self.operator.prepare_substituted(resolved)
                if p is not None:
                    out.append(p)
        return tuple(out)

    def evaluate(self, context: Context) -> bool:
        values = context.get(self.key)
        if self.is_null:
            absent = "true" if not values else "false"
            return any(p is (absent == "true") for p in self.prepared)
        if not values:
            if self.qualifier == ALL_VALUES or self.if_exists:
                return True
            if self.qualifier == ANY_VALUE:
                return False
            return self.operator.negated
        test = self.operator.test
        negated = self.operator.negated
        if self.qualifier is None and len(values) == 1 and not self.templates:
            # The common case: one request value, no variables.
            value = values[0]
            for p in self.prepared:
                if test(value, p):
                    return not negated
            return negated
        policy = self._policy_values(context)

        def hit(value: str) -> bool:
            return any(test(value, p) for p in policy)

        if self.qualifier == ALL_VALUES:
            return all(hit(v) != negated for v in values)
        if self.qualifier == ANY_VALUE:
            return any(hit(v) != negated for v in values)
        return any(hit(v) for v in values) != negated

    def __repr__(self) -> str:
        return f"Clause({self.operator.name}, {self.key!r})"


def evaluate_all(clauses: tuple[Clause, ...], context: Context) -> bool:
    return all(c.evaluate(context) for c in clauses)


__all__ = ["OPERATORS", "Clause", "Operator", "evaluate_all", "find_operator"]
