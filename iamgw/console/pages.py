"""Server-rendered pages (Jinja2, autoescaped) and the console's own assets.

Every page is answered with headers that keep it in this origin: a Content Security
Policy allowing only the gateway's own scripts and styles (no inline script, no CDN:
sites run offline), no framing, no referrer to another site (a callback URL carries a
code; within the site browsers then send `Origin`, which the forms' checks read), and
no caching (pages show credentials).
"""

from __future__ import annotations

import mimetypes
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response

STATIC = Path(__file__).parent / "static"
_ASSETS = {p.name: p for p in STATIC.iterdir() if p.is_file()} if STATIC.is_dir() else {}
SECURITY_HEADERS = {
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
    ),
    "x-frame-options": "DENY",
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "cache-control": "no-store",
}

# The signed-in pages' navigation: (label, path), each page module's `NAV` in turn.
NAV: list[tuple[str, str]] = []

_env = Environment(
    loader=PackageLoader("iamgw.console", "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)


def render(request: Request, template: str, status: int = 200, **context: Any) -> Response:
    body = _env.get_template(template).render(request=request, nav=NAV, **context)
    return HTMLResponse(body, status_code=status, headers=SECURITY_HEADERS)


def asset(name: str) -> Response:
    """A file of `static/` by its exact name (no paths), cached for an hour."""
    path = _ASSETS.get(name)
    if path is None:
        return Response("not found", 404, media_type="text/plain")
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    headers = {"cache-control": "public, max-age=3600", "x-content-type-options": "nosniff"}
    return Response(path.read_bytes(), media_type=media_type, headers=headers)
