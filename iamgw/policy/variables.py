"""Policy variables: ``${aws:username}``, ``${jwt:sub}``, ``${key, 'default'}``, ``${*}``.

IAM substitutes a variable with the request's value of the context key of the
same name (any key: ``aws:``, ``s3:``, ``jwt:``, ``ldap:`` ...), matched without
regard to case. The substituted text is literal: a ``*`` in a user name is not a
wildcard. A variable without a value and without a default makes that policy
value match nothing. Only ``Version: 2012-10-17`` has variables.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_variables.html
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

_VARIABLE = re.compile(r"\$\{([^}]*)\}")
# ${key, 'default'}: IAM quotes the default with single quotes.
_WITH_DEFAULT = re.compile(r"^\s*([^,\s]+)\s*,\s*'([^']*)'\s*$")
_SPECIAL = {"*": "*", "?": "?", "$": "$"}


@dataclass(frozen=True, slots=True)
class Variable:
    key: str  # lower-cased context key
    default: str | None = None


# A template: literal text (wildcards active) and variables, in order.
Piece = str | Variable
# A resolved template: (text, literal) pairs; literal text never holds wildcards.
Resolved = tuple[tuple[str, bool], ...]

Context = Mapping[str, tuple[str, ...]]


def parse_template(text: str) -> tuple[Piece, ...] | None:
    """The pieces of `text`, or None when it holds no variable (the common case)."""
    if "${" not in text:
        return None
    pieces: list[Piece] = []
    pos = 0
    for m in _VARIABLE.finditer(text):
        if m.start() > pos:
            pieces.append(text[pos : m.start()])
        inner = m.group(1)
        if inner in _SPECIAL:
            pieces.append(Variable("", _SPECIAL[inner]))
        else:
            d = _WITH_DEFAULT.match(inner)
            if d:
                pieces.append(Variable(d.group(1).lower(), d.group(2)))
            else:
                pieces.append(Variable(inner.strip().lower()))
        pos = m.end()
    if pos < len(text):
        pieces.append(text[pos:])
    return tuple(pieces)


def lookup(variable: Variable, context: Context) -> str | None:
    if variable.key:
        values = context.get(variable.key)
        # A multi-valued key has no single value to substitute.
        if values is not None and len(values) == 1:
            return values[0]
    return variable.default


def resolve(pieces: tuple[Piece, ...], context: Context) -> Resolved | None:
    """The template with every variable replaced, or None when one has no value."""
    out: list[tuple[str, bool]] = []
    for piece in pieces:
        if isinstance(piece, str):
            out.append((piece, False))
        else:
            value = lookup(piece, context)
            if value is None:
                return None
            out.append((value, True))
    return tuple(out)


def resolve_text(pieces: tuple[Piece, ...], context: Context) -> str | None:
    resolved = resolve(pieces, context)
    return None if resolved is None else "".join(text for text, _ in resolved)


def resolved_glob_regex(resolved: Resolved) -> str:
    """Regex source of a resolved template: wildcards of literal pieces only."""
    from .wildcard import glob_regex

    return "".join(re.escape(text) if literal else glob_regex(text) for text, literal in resolved)
