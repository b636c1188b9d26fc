"""The web console: SSO browser sign-in (OpenID Connect Core 1.0, PKCE RFC 7636, LDAP),
the signed-in pages, and the JSON `iamgw login` and `credential_process` read.

https://openid.net/specs/openid-connect-core-1_0.html,
https://openid.net/specs/openid-connect-rpinitiated-1_0.html.
Routes (DESIGN.md §4): `/iamgw/login`, `/iamgw/login/ldap`, `/iamgw/callback`,
`/iamgw/logout`, `/iamgw/` and `/iamgw/api/...`. No state in a process: everything
between requests is in sealed cookies (`session`) or the store.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response

from iamgw.config import Settings
from iamgw.errors import AWSError
from iamgw.gateway import gateway_of
from iamgw.store import MasterKey

from . import api, browse, forms, home, iam_pages, signin
from .pages import NAV, asset, render
from .session import Cookies
from .signed import Signed, csrf_ok, current, same_origin

__all__ = ["Console", "Signed", "csrf_ok", "current", "handle"]

PREFIX = "/iamgw"


class Console:
    """The console's per-process parts: cookie keys and one OpenID client per provider."""

    def __init__(self, settings: Settings, master_key: MasterKey) -> None:
        self.cookies = Cookies(master_key)
        self.oauth = signin.oauth_registry(settings)


Page = Callable[[Request, Signed], Awaitable[Response]]
# The signed-in pages and calls by (method, path): each part's `ROUTES`, its `NAV` entries
# in the header. Signed out, a page redirects to the sign-in page, a call under
# /iamgw/api/ answers 401.
SIGNED: dict[tuple[str, str], Page] = {}
for _part in (home, browse, iam_pages):
    SIGNED.update(_part.ROUTES)
    NAV.extend(_part.NAV)


async def handle(request: Request) -> Response:
    """Answer one request under /iamgw: a page, or for /iamgw/api/ JSON; an AWS error
    (a body too large, a bad form, the store unavailable...) in the same form."""
    try:
        return await _route(request)
    except AWSError as exc:
        if request.url.path.startswith("/iamgw/api/"):
            body = {"error": exc.code, "message": exc.message}
            return JSONResponse(body, exc.status, headers={"cache-control": "no-store"})
        return render(request, "message.html", exc.status, title="Refused",
                      message=exc.message, back=True)  # fmt: skip


async def _route(request: Request) -> Response:
    path, method = request.url.path, request.method
    if path == PREFIX:
        return RedirectResponse("/iamgw/", 302)
    if path.startswith("/iamgw/static/") and method in ("GET", "HEAD"):
        return asset(path[len("/iamgw/static/") :])
    if path == "/iamgw/login" and method == "GET":
        return await _login(request)
    if path == "/iamgw/login/ldap" and method == "POST":
        if not same_origin(request):
            return _forbidden(request)
        return await signin.ldap_form(request)
    if path == "/iamgw/callback" and method == "GET":
        return await signin.callback(request)
    if path == "/iamgw/logout":
        return await _logout(request)
    if path == "/iamgw/api/credentials" and method == "GET":
        return await api.credentials(request)
    if path == "/iamgw/api/providers" and method == "GET":
        return await api.providers(request)
    page = SIGNED.get(("GET" if method == "HEAD" else method, path))
    if page is not None:
        signed = await current(request)
        if signed is None and path.startswith("/iamgw/api/"):
            return Response("Not signed in.\n", 401, media_type="text/plain")
        if signed is None:
            return RedirectResponse("/iamgw/login", 303)
        return await page(request, signed)
    return render(
        request, "message.html", 404, title="Not found", message="There is no such page.", back=True
    )


async def _login(request: Request) -> Response:
    provider = request.query_params.get("provider")
    if provider is not None:
        return await signin.start(request, provider)
    if await current(request) is not None:
        return RedirectResponse("/iamgw/", 303)
    console = gateway_of(request).console
    assert console is not None
    token = secrets.token_urlsafe(24)
    request.scope["iamgw.login_csrf"] = token
    response = render(request, "login.html", **signin.login_page_context(request))
    console.cookies.set_login_state(response, request, {"csrf": token})
    return response


async def _logout(request: Request) -> Response:
    signed = await current(request)
    if request.method == "POST":
        token = (await forms.form(request)).get("csrf")
        if signed is not None and not csrf_ok(request, signed, token):
            return _forbidden(request)
        return await signin.logout(request, signed.session if signed else None)
    if request.method != "GET":
        return render(
            request,
            "message.html",
            405,
            title="Not allowed",
            message="Sign out with the button of the console.",
            back=True,
        )
    if signed is None:
        return await signin.logout(request, None)
    return render(request, "logout.html", **await home.context(request, signed))


def _forbidden(request: Request) -> Response:
    return render(
        request,
        "message.html",
        403,
        title="Refused",
        message="This request did not come from this console's own page.",
        back=True,
    )
