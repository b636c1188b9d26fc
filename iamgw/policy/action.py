"""The Action and NotAction elements: ``service:Action`` patterns, case-insensitive.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_action.html
"""

from __future__ import annotations

from .wildcard import Matcher, compile_glob, compile_regex, glob_regex, has_wildcard


class ActionPattern:
    """One value of Action/NotAction, compiled once.

    `service` (lower case) is set when the service prefix has no wildcard, `exact`
    when the whole pattern has none: the statement index keys on them.
    """

    __slots__ = ("text", "service", "exact", "match")

    def __init__(self, text: str) -> None:
        self.text = text
        lower = text.lower()
        prefix, colon, _ = lower.partition(":")
        self.service: str | None = prefix if colon and not has_wildcard(prefix) else None
        self.exact: str | None = None if has_wildcard(lower) else lower
        # Values are compared as IAM does: whole string, no trimming. " s3:GetObject"
        # or "s3:GetObject,s3:PutObject" are accepted by IAM and match nothing.
        self.match: Matcher = compile_glob(lower, ignore_case=True)

    def __repr__(self) -> str:
        return f"ActionPattern({self.text!r})"


def service_of(action_lower: str) -> str:
    return action_lower.partition(":")[0]


def compile_action_set(patterns: tuple[ActionPattern, ...]) -> Matcher:
    """One matcher (of a lower-case action) for several patterns (any of them)."""
    if len(patterns) == 1:
        return patterns[0].match
    texts = tuple(p.text.lower() for p in patterns)
    if "*" in texts:
        return lambda _: True
    if all(p.exact is not None for p in patterns):
        return frozenset(texts).__contains__
    source = "|".join(f"(?:{glob_regex(t)})" for t in texts)
    return compile_regex(source).fullmatch  # type: ignore[return-value]
