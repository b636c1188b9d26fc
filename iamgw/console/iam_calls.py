"""The IAM API as the console's IAM pages call it: each call is `iamgw.iam.run_action`
with the signed-in session's identity, so the same `iam:<Action>` policies decide
what a page may show as decide an aws cli call of the same credentials. A refused
call becomes a `Refusal` the page shows in words, never an error page of its own.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from iamgw.errors import AWSError
from iamgw.iam import run_action

from .home import context
from .pages import NAV, render
from .signed import Signed

ALL = "1000"  # IAM's largest MaxItems: the lists inside one entity's page, in one call


@dataclass(frozen=True)
class Refusal:
    """An IAM call the gateway refused: its action and IAM's error."""

    action: str
    code: str
    status: int
    message: str

    @property
    def denied(self) -> bool:
        return self.code == "AccessDenied"

    @property
    def headline(self) -> str:
        if self.denied:
            return f"Access denied: iam:{self.action}"
        return f"iam:{self.action} failed: {self.code}"


class Refused(Exception):
    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.headline)
        self.refusal = refusal


async def call(
    request: Request, signed: Signed, action: str, params: dict[str, str] | None = None
) -> dict[str, Any]:
    """The result of one IAM action for the signed-in identity; `Refused` if IAM refuses."""
    try:
        result = await run_action(request, signed.identity, action, dict(params or {}))
    except AWSError as exc:
        wire = exc.wire("iam")
        raise Refused(Refusal(action, wire.code, wire.status, wire.message)) from exc
    return result or {}


async def attempt(
    request: Request, signed: Signed, action: str, params: dict[str, str] | None = None
) -> tuple[dict[str, Any], Refusal | None]:
    """As `call`, for a part of a page: (result, None) or ({}, why it was refused)."""
    try:
        return await call(request, signed, action, params), None
    except Refused as refused:
        return {}, refused.refusal


async def page(
    request: Request, signed: Signed, template: str, status: int = 200, **values: Any
) -> Response:
    """A signed-in IAM page: the header's context and the page's own values."""
    header = await context(request, signed)
    clash = header.keys() & values.keys()
    if clash:  # a page's value would hide what the header shows
        raise ValueError(f"{template}: values named as the header's: {sorted(clash)}")
    return render(request, template, status, **header, **values)


async def refused_page(request: Request, signed: Signed, refusal: Refusal) -> Response:
    """The page of a call that decides the whole page (ListUsers, GetRole...), with a way
    back to the list from one entity's page."""
    back = ("the overview", "/iamgw/")
    if request.query_params:
        path = request.url.path
        back = next(((label, p) for label, p in NAV if p == path), back)
    return await page(
        request, signed, "iam_refused.html", refusal.status, refusal=refusal, back_to=back
    )


def document(encoded: str | None) -> str:
    """A policy document as IAM answers it (URL-encoded), decoded and pretty-printed."""
    if not encoded:
        return ""
    return pretty(unquote(encoded))


def pretty(text: str) -> str:
    try:
        return json.dumps(json.loads(text), indent=2)
    except ValueError:
        return text
