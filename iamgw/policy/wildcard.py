"""IAM's wildcards: `*` (any run of characters, empty included) and `?` (one character).

Matching compiles each pattern once into the cheapest test that is exact for it:
equality, prefix, or an anchored regular expression. `intersects` and `covers`
compare two patterns, for requests that name a set of resources (simulation).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from functools import cache, lru_cache

Matcher = Callable[[str], bool]

WILDCARDS = frozenset("*?")


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


def glob_regex(pattern: str, star: str = ".*", one: str = ".") -> str:
    """The regular expression (unanchored source) of a glob pattern."""
    out: list[str] = []
    for ch in pattern:
        if ch == "*":
            out.append(star)
        elif ch == "?":
            out.append(one)
        else:
            out.append(re.escape(ch))
    return "".join(out)


@lru_cache(maxsize=4096)
def compile_regex(source: str, ignore_case: bool = False) -> re.Pattern[str]:
    return re.compile(source, re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _always(_: str) -> bool:
    return True


def compile_glob(pattern: str, ignore_case: bool = False) -> Matcher:
    """A predicate telling whether a value matches `pattern`.

    With `ignore_case`, the caller passes values already lower-cased (the
    pattern is lower-cased here), which keeps the hot path to one comparison.
    """
    if ignore_case:
        pattern = pattern.lower()
    if pattern == "*":
        return _always
    if not has_wildcard(pattern):
        return pattern.__eq__
    body = pattern[:-1]
    if pattern.endswith("*") and not has_wildcard(body):
        return lambda value: value.startswith(body)
    return compile_regex(glob_regex(pattern)).fullmatch  # type: ignore[return-value]


def glob_match(pattern: str, value: str, ignore_case: bool = False) -> bool:
    if ignore_case:
        value = value.lower()
    return compile_glob(pattern, ignore_case)(value)


def any_match(matchers: Iterable[Matcher], value: str) -> bool:
    return any(m(value) for m in matchers)


def intersects(a: str, b: str) -> bool:
    """Whether some string matches both glob patterns."""

    @cache
    def step(i: int, j: int) -> bool:
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*":
            return step(i + 1, j) or (j < len(b) and step(i, j + 1))
        if j < len(b) and b[j] == "*":
            return step(i, j + 1) or (i < len(a) and step(i + 1, j))
        if i < len(a) and j < len(b) and (a[i] == b[j] or a[i] == "?" or b[j] == "?"):
            return step(i + 1, j + 1)
        return False

    return step(0, 0)


def covers(outer: str, inner: str) -> bool:
    """Whether every string matching `inner` also matches `outer` (sound, not complete:
    a wildcard of `inner` is only covered by a wildcard of `outer`)."""

    @cache
    def step(i: int, j: int) -> bool:
        if j == len(outer):
            return i == len(inner)
        if outer[j] == "*":
            return step(i, j + 1) or (i < len(inner) and step(i + 1, j))
        if i == len(inner):
            return False
        if outer[j] == "?":
            return inner[i] != "*" and step(i + 1, j + 1)
        return inner[i] == outer[j] and inner[i] not in WILDCARDS and step(i + 1, j + 1)

    return step(0, 0)
