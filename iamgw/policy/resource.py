"""The Resource and NotResource elements, and ARN matching (also used by Arn* conditions).

An ARN pattern is compared part by part (``arn:partition:service:region:account:
resource``): a wildcard in the first five parts stays inside its part, a wildcard in
the resource part crosses ``/`` and ``:``. Everything is case-sensitive.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_resource.html
"""

from __future__ import annotations

import re

from .variables import Context, Piece, Resolved, parse_template, resolve
from .wildcard import Matcher, compile_regex, covers, has_wildcard, intersects

_ARN_PARTS = 6


def _always(_: str) -> bool:
    return True


def arn_regex(resolved: Resolved) -> str:
    """Regex source of an ARN pattern; literal (substituted) text has no wildcards."""
    out: list[str] = []
    colons = 0
    for text, literal in resolved:
        for ch in text:
            if ch == ":" and colons < _ARN_PARTS - 1:
                colons += 1
                out.append(":")
            elif not literal and ch == "*":
                out.append("[^:]*" if colons < _ARN_PARTS - 1 else ".*")
            elif not literal and ch == "?":
                out.append("[^:]" if colons < _ARN_PARTS - 1 else ".")
            else:
                out.append(re.escape(ch))
    return "".join(out)


def compile_arn(resolved: Resolved) -> Matcher:
    if len(resolved) == 1 and not resolved[0][1]:
        text = resolved[0][0]
        if text == "*":
            return _always
        if not has_wildcard(text):
            return text.__eq__
        head = text[:-1]
        # A trailing * in the resource part is a prefix test.
        if text.endswith("*") and not has_wildcard(head) and head.count(":") >= _ARN_PARTS - 1:
            return lambda value: value.startswith(head)
    elif all(literal for _, literal in resolved):
        return "".join(t for t, _ in resolved).__eq__
    return compile_regex(arn_regex(resolved)).fullmatch  # type: ignore[return-value]


def compile_arn_text(text: str) -> Matcher:
    return compile_arn(((text, False),))


def compile_arn_set(texts: tuple[str, ...]) -> Matcher:
    """One matcher for several patterns without variables (any of them)."""
    if "*" in texts:
        return _always
    if len(texts) == 1:
        return compile_arn_text(texts[0])
    if not any(has_wildcard(t) for t in texts):
        return frozenset(texts).__contains__
    source = "|".join(f"(?:{arn_regex(((t, False),))})" for t in texts)
    return compile_regex(source).fullmatch  # type: ignore[return-value]


class ResourcePattern:
    """One value of Resource/NotResource (or of an Arn* condition), compiled once.

    With policy variables the pattern is resolved against each request's context;
    an unresolved variable makes it match nothing.
    """

    __slots__ = ("text", "pieces", "_match")

    def __init__(self, text: str, variables: bool = True) -> None:
        self.text = text
        self.pieces: tuple[Piece, ...] | None = parse_template(text) if variables else None
        self._match: Matcher | None = None if self.pieces else compile_arn_text(text)

    @property
    def static(self) -> bool:
        """Whether the pattern has no variable (the same for every request)."""
        return self.pieces is None

    def matches(self, value: str, context: Context) -> bool:
        if self._match is not None:
            return self._match(value)
        assert self.pieces is not None
        resolved = resolve(self.pieces, context)
        if resolved is None:
            return False
        return _compile_resolved(resolved)(value)

    def pattern(self, context: Context) -> str | None:
        """The pattern text after substitution (for comparing with a request pattern)."""
        if self.pieces is None:
            return self.text
        resolved = resolve(self.pieces, context)
        return None if resolved is None else "".join(t for t, _ in resolved)

    def intersects(self, request_pattern: str, context: Context) -> bool:
        text = self.pattern(context)
        return text is not None and intersects(text, request_pattern)

    def covers(self, request_pattern: str, context: Context) -> bool:
        text = self.pattern(context)
        return text is not None and covers(text, request_pattern)

    def __repr__(self) -> str:
        return f"ResourcePattern({self.text!r})"


_resolved_cache: dict[Resolved, Matcher] = {}


def _compile_resolved(resolved: Resolved) -> Matcher:
    matcher = _resolved_cache.get(resolved)
    if matcher is None:
        if len(_resolved_cache) > 4096:
            _resolved_cache.clear()
        matcher = _resolved_cache[resolved] = compile_arn(resolved)
    return matcher


def arn_account(arn: str) -> str | None:
    """The account part of an ARN, or None (not an ARN, or no account as in S3)."""
    if not arn.startswith("arn:"):
        return None
    parts = arn.split(":", 5)
    if len(parts) < _ARN_PARTS or not parts[4]:
        return None
    return parts[4]
