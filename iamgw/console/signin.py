"""Sign-in and sign-out: OpenID Connect through authlib, LDAP through a form.

OpenID Connect Core 1.0 §3.1 (authorization code flow) with PKCE (RFC 7636, S256),
`state` and `nonce`, done by authlib's Starlette client; its state data lives in the
sealed login cookie, not in a process. The ID token it returns is then handed to the
STS code path (`AssumeRoleWithWebIdentity`'s `assume`), which validates it as for any
STS caller, applies the provider's claim / role_policy mapping and mints the
credentials; the LDAP form goes through `AssumeRoleWithLDAPIdentity`'s `assume`. A
callback's `state` is marked used in the store, so no replica takes it twice.
"""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx2
from authlib.common.errors import AuthlibBaseError
from authlib.integrations.starlette_client import OAuth
from joserfc.errors import JoseError
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from iamgw.config import OidcSettings, Settings
from iamgw.errors import AccessDenied, AWSError
from iamgw.gateway import gateway_of
from iamgw.identity import TokenError
from iamgw.sts import assume_ldap_identity, assume_web_identity

from . import forms
from .pages import render
from .session import LOGIN_SECONDS, ConsoleSession

log = logging.getLogger("iamgw.console")
_HTTP_TIMEOUT = 10.0
# What talking to a provider may raise (authlib's HTTP client is httpx2's): converted to
# a page that says the provider is unavailable or refused, never a 500.
_UNREACHABLE = (httpx2.HTTPError, OSError, ValueError, RuntimeError)
NO_POLICY = (
    "You signed in, but no policy of this gateway applies to you, so there is nothing you "
    "may do here. Ask an administrator to give you access, then sign in again."
)


def oauth_registry(settings: Settings) -> OAuth:
    """One authlib client per `[[oidc]]` entry, with PKCE and the provider's discovery."""
    oauth = OAuth()
    for entry in settings.oidc:
        oauth.register(
            name=entry.name,
            client_id=entry.client_id,
            client_secret=entry.client_secret or None,
            server_metadata_url=entry.issuer.rstrip("/") + "/.well-known/openid-configuration",
            client_kwargs={
                "scope": " ".join(entry.scopes),
                "code_challenge_method": "S256",
                "timeout": _HTTP_TIMEOUT,
                **({} if entry.client_secret else {"token_endpoint_auth_method": "none"}),
            },
        )
    return oauth


def _entry(settings: Settings, name: str) -> OidcSettings | None:
    return next((o for o in settings.oidc if o.name == name), None)


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


async def start(request: Request, name: str) -> Response:
    """`/iamgw/login?provider=NAME`: off to the provider, the login's state sealed in a cookie."""
    gateway = gateway_of(request)
    console = gateway.console
    assert console is not None
    entry = _entry(gateway.settings, name)
    if entry is None:
        return render(
            request,
            "message.html",
            404,
            title="Unknown provider",
            message=f"No identity provider is called {name!r} here.",
            back=True,
        )
    if _origin(str(request.url)) != _origin(entry.redirect_uri):
        # The callback comes back to redirect_uri's host: start there, so that the login
        # cookie set now is the one the browser sends with the callback.
        scheme, netloc = _origin(entry.redirect_uri)
        here = urlsplit(str(request.url))
        return RedirectResponse(urlunsplit((scheme, netloc, here.path, here.query, "")), 302)
    client = console.oauth.create_client(name)
    request.scope["session"] = console.cookies.login_state(request)
    try:
        redirect = await client.authorize_redirect(request, entry.redirect_uri)
    except (AuthlibBaseError, *_UNREACHABLE) as exc:
        log.warning("OpenID provider %s unavailable for a console sign-in: %s", name, exc)
        return _unavailable(request, name)
    data = dict(request.session)
    data["provider"] = name
    console.cookies.set_login_state(redirect, request, data)
    return redirect


async def callback(request: Request) -> Response:
    """`/iamgw/callback`: check state and nonce, exchange the code, mint the session."""
    gateway = gateway_of(request)
    console = gateway.console
    assert console is not None
    state_data = console.cookies.login_state(request)
    name = state_data.get("provider")
    state = request.query_params.get("state", "")
    if not isinstance(name, str) or _entry(gateway.settings, name) is None or not state:
        return _refused(request, "This sign-in link is not valid, or it has expired.")
    if f"_state_{name}_{state}" not in state_data:
        return _refused(request, "This sign-in does not belong to this browser, or it has expired.")
    expires = datetime.fromtimestamp(time.time() + LOGIN_SECONDS, UTC)
    if not await run_in_threadpool(gateway.repo.use_once, "login-state", state, expires):
        return _refused(request, "This sign-in has already been used.")
    request.scope["session"] = state_data
    client = console.oauth.create_client(name)
    try:
        token = await client.authorize_access_token(request)
    except (AuthlibBaseError, JoseError) as exc:  # the provider's error, a bad nonce or token
        log.info("console sign-in through %s refused: %s", name, type(exc).__name__)
        return _refused(request, "The identity provider did not confirm this sign-in.")
    except _UNREACHABLE as exc:
        log.warning("OpenID provider %s unreachable during a console sign-in: %s", name, exc)
        return _unavailable(request, name)
    id_token = token.get("id_token")
    if not isinstance(id_token, str):
        return _refused(request, "The identity provider sent no ID token.")
    params = {"WebIdentityToken": id_token}
    try:
        done = await assume_web_identity(
            request, params, "WebIdentityToken", "sts:AssumeRoleWithWebIdentity"
        )
    except AccessDenied:
        return _refused(request, NO_POLICY)
    except AWSError as exc:
        return _refused(request, f"The gateway refused this sign-in: {exc.message}")
    session = ConsoleSession(done.issued.claims.ak, done.issued.token, name, id_token)
    return signed_in(request, session, done.issued.claims.exp)


async def ldap_form(request: Request) -> Response:
    """`POST /iamgw/login/ldap`: the directory's user name and password."""
    gateway = gateway_of(request)
    if gateway.ldap is None:
        return render(
            request,
            "message.html",
            404,
            title="No directory",
            message="This gateway has no LDAP directory.",
            back=True,
        )
    fields = await forms.form(request)
    login = gateway.console.cookies.login_state(request) if gateway.console else {}
    if not fields.get("csrf") or fields.get("csrf") != login.get("csrf"):
        return _refused(request, "This form has expired; open the sign-in page again.")
    params = {
        "LDAPUsername": fields.get("username", ""),
        "LDAPPassword": fields.get("password", ""),
    }
    try:
        done = await assume_ldap_identity(request, params)
    except AccessDenied:
        return render(
            request,
            "login.html",
            403,
            **login_page_context(request),
            error="The user name or password is wrong, or no policy applies to you.",
        )
    except AWSError as exc:
        return render(
            request, "login.html", exc.status, **login_page_context(request), error=exc.message
        )
    session = ConsoleSession(done.issued.claims.ak, done.issued.token, "ldap")
    return signed_in(request, session, done.issued.claims.exp)


def signed_in(request: Request, session: ConsoleSession, expires: float) -> Response:
    gateway = gateway_of(request)
    console = gateway.console
    assert console is not None
    method = "ConsoleLDAP" if session.provider == "ldap" else "ConsoleWebIdentity"
    gateway.metrics.sts_issued.labels(method).inc()
    response = RedirectResponse("/iamgw/", 303)
    console.cookies.clear(response, request, "iamgw_login")
    console.cookies.set_session(response, request, session, expires)
    return response


def login_page_context(request: Request) -> dict[str, Any]:
    settings = gateway_of(request).settings
    return {
        "providers": [o.name for o in settings.oidc],
        "ldap": bool(settings.ldap.url),
        "csrf": request.scope.get("iamgw.login_csrf", ""),
    }


def _refused(request: Request, message: str) -> Response:
    response = render(
        request, "message.html", 403, title="Not signed in", message=message, back=True
    )
    console = gateway_of(request).console
    if console is not None:
        console.cookies.clear(response, request, "iamgw_login")
    return response


def _unavailable(request: Request, name: str) -> Response:
    return render(
        request,
        "message.html",
        503,
        title="Provider unavailable",
        message=f"The identity provider {name} cannot be reached; try again later.",
        back=True,
    )


async def logout(request: Request, session: ConsoleSession | None) -> Response:
    """End the session: its credentials revoked, the cookie cleared, and the browser sent
    to the provider's end_session_endpoint when it has one."""
    gateway = gateway_of(request)
    console = gateway.console
    assert console is not None
    target = "/iamgw/login"
    if session is not None:
        try:
            claims = gateway.tokens.open(session.token, session.access_key)
        except TokenError:  # expired meanwhile: nothing to revoke
            claims = None
        if claims is not None:
            await run_in_threadpool(gateway.repo.revoke, "session", claims.sid)
        entry = _entry(gateway.settings, session.provider)
        if entry is not None:
            target = await _end_session_url(request, entry, session) or target
    response = RedirectResponse(target, 303)
    console.cookies.clear(response, request, "iamgw_session")
    return response


async def _end_session_url(
    request: Request, entry: OidcSettings, session: ConsoleSession
) -> str | None:
    console = gateway_of(request).console
    assert console is not None
    client = console.oauth.create_client(entry.name)
    try:
        metadata = await client.load_server_metadata()
    except (AuthlibBaseError, *_UNREACHABLE) as exc:
        log.info("no end_session_endpoint for %s: %s", entry.name, exc)
        return None
    if not metadata.get("end_session_endpoint"):
        return None
    scheme, netloc = _origin(entry.redirect_uri)
    back = urlunsplit((scheme, netloc, "/iamgw/", "", ""))
    result = await client.create_logout_url(
        post_logout_redirect_uri=back,
        id_token_hint=session.id_token or None,
        client_id=entry.client_id,
    )
    url: str = result["url"]
    return url
