"""Request bodies of the console's forms and calls: read before (or without) a session,
so bounded, UTF-8, and each field once, as the Query API's are."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request

from iamgw.errors import ValidationError
from iamgw.queryapi import read_bounded

LIMIT = 64 * 1024  # a form or call of the console: a policy document at most


async def form(request: Request, limit: int = LIMIT) -> dict[str, str]:
    """An `application/x-www-form-urlencoded` body's fields."""
    body = await read_bounded(request, limit)
    try:
        pairs = parse_qsl(body.decode(), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError:
        raise ValidationError("The form is not valid UTF-8.") from None
    fields: dict[str, str] = {}
    for name, value in pairs:
        if name in fields:
            raise ValidationError(f"The field {name[:64]} may appear only once.")
        fields[name] = value
    return fields


async def json_body(request: Request, limit: int = LIMIT) -> Any:
    body = await read_bounded(request, limit)
    try:
        return json.loads(body)
    except ValueError:  # also bad UTF-8
        raise ValidationError("The body is not JSON.") from None
