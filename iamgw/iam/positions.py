"""Where each statement sits in a policy document's text, for the simulator's
MatchedStatements (StartPosition/EndPosition: line and column, from 1).

A small scanner over JSON text that the policy parser has already accepted; on
anything unexpected it gives no positions rather than failing the simulation.
"""

from __future__ import annotations

import json

Position = dict[str, int]
_WS = " \t\r\n"


def statement_positions(text: str) -> list[tuple[Position, Position]]:
    """(start, end) of each statement of `Statement`, in document order."""
    try:
        return [(_position(text, a), _position(text, b - 1)) for a, b in _spans(text)]
    except (IndexError, ValueError):
        return []


def _position(text: str, offset: int) -> Position:
    line_start = text.rfind("\n", 0, offset) + 1
    return {"Line": text.count("\n", 0, offset) + 1, "Column": offset - line_start + 1}


def _spans(t: str) -> list[tuple[int, int]]:
    i = _ws(t, 0)
    if t[i] != "{":
        raise ValueError("not an object")
    i += 1
    while True:
        i = _ws(t, i)
        if t[i] == "}":
            return []
        key_end = _string_end(t, i)
        key = json.loads(t[i:key_end])
        i = _ws(t, _ws(t, key_end) + 1)  # past the colon
        value_end = _value_end(t, i)
        if key == "Statement":
            if t[i] == "{":
                return [(i, value_end)]
            spans, j = [], i + 1
            while True:
                j = _ws(t, j)
                if t[j] == "]":
                    return spans
                end = _value_end(t, j)
                spans.append((j, end))
                j = _ws(t, end)
                if t[j] == ",":
                    j += 1
        i = _ws(t, value_end)
        if t[i] == ",":
            i += 1


def _ws(t: str, i: int) -> int:
    while t[i] in _WS:
        i += 1
    return i


def _string_end(t: str, i: int) -> int:
    j = i + 1
    while t[j] != '"':
        j += 2 if t[j] == "\\" else 1
    return j + 1


def _value_end(t: str, i: int) -> int:
    if t[i] == '"':
        return _string_end(t, i)
    if t[i] in "{[":
        depth, j = 0, i
        while True:
            c = t[j]
            if c == '"':
                j = _string_end(t, j)
                continue
            if c in "{[":
                depth += 1
            elif c in "}]":
                depth -= 1
                if depth == 0:
                    return j + 1
            j += 1
    j = i
    while j < len(t) and t[j] not in ",}] \t\r\n":
        j += 1
    return j
