"""Reading a policy's JSON strictly: what Python's `json` accepts and IAM does not.

Duplicate keys, NaN/Infinity, numbers that overflow to Infinity and lone UTF-16
surrogates are refused as `MalformedPolicyDocument` with IAM's message (and the JSON
path where there is one); anything else that is not a JSON object is a syntax error.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping
from typing import Any

from .errors import MalformedPolicyDocument

_SURROGATE = re.compile("[\ud800-\udfff]")


def _fail(message: str, path: str = "") -> MalformedPolicyDocument:
    return MalformedPolicyDocument(message, path)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _fail(f"Duplicate field {key}")
        out[key] = value
    return out


def _no_constant(name: str) -> Any:
    # Python's json reads NaN, Infinity and -Infinity; JSON (RFC 8259 §6) and IAM do not.
    raise _fail(f"Syntax errors in policy: {name} is not a JSON number.")


def _finite(text: str) -> float:
    # 1e999 is JSON, but as a float it is Infinity: written out again it would not be JSON.
    value = float(text)
    if math.isinf(value):
        raise _fail(f"Syntax errors in policy: the number {text[:32]} is out of range.")
    return value


def _surrogate_at(value: Any, path: str) -> str | None:
    """The JSON path of the first string (key or value) holding a lone UTF-16 surrogate:
    JSON's `\\ud800` escape decodes to one, which is no character and cannot be
    encoded again (to store, compare or answer the document)."""
    if isinstance(value, str):
        return path if _SURROGATE.search(value) else None
    if isinstance(value, Mapping):
        for key, item in value.items():
            here = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and _SURROGATE.search(key):
                return path
            found = _surrogate_at(item, here)
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            found = _surrogate_at(item, f"{path}[{i}]")
            if found is not None:
                return found
    return None


def load(document: str | bytes | Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    """The document as a JSON object and as text (what its size and charset are counted on)."""
    parsed, text = _decode(document)
    try:
        where = _surrogate_at(parsed, "")
    except RecursionError as exc:  # nested deeper than the checks can follow
        raise _fail("Syntax errors in policy.") from exc
    if where is not None:
        raise _fail(
            "Syntax errors in policy: a string holds a lone UTF-16 surrogate "
            "(\\ud800-\\udfff), which is not a character.",
            where,
        )
    return parsed, text


def _decode(document: str | bytes | Mapping[str, Any]) -> tuple[Mapping[str, Any], str]:
    if isinstance(document, Mapping):
        try:
            text = json.dumps(document, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
        except (TypeError, ValueError, RecursionError) as exc:
            raise _fail("Syntax errors in policy.") from exc
        return document, text
    if isinstance(document, bytes | bytearray):
        try:
            document = bytes(document).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _fail("Syntax errors in policy.") from exc
    if not isinstance(document, str):
        raise _fail("Syntax errors in policy.")
    try:
        parsed = json.loads(
            document,
            object_pairs_hook=_no_duplicate_keys,
            parse_constant=_no_constant,
            parse_float=_finite,
        )
    except MalformedPolicyDocument:
        raise
    except (ValueError, RecursionError) as exc:
        raise _fail("Syntax errors in policy.") from exc
    if not isinstance(parsed, dict):
        raise _fail("Syntax errors in policy.")
    return parsed, document
