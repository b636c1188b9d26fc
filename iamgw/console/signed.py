"""Who is signed in: the session cookie, opened and checked as any S3 request's
credentials are (expiry, revocation, current policies), and the checks every console
call that changes something makes (same origin, the session's CSRF token)."""

from __future__ import annotations

from dataclasses import dataclass

from starlette.requests import Request

from iamgw.errors import AWSError
from iamgw.gateway import gateway_of
from iamgw.identity import Identity
from iamgw.identity import origin as site_origin
from iamgw.ops import audit_fields

from .session import ConsoleSession


@dataclass(frozen=True)
class Signed:
    session: ConsoleSession
    identity: Identity

    @property
    def expires(self) -> int:
        assert self.identity.session is not None
        return self.identity.session.exp


async def current(request: Request) -> Signed | None:
    """The signed-in browser of `request`; None when signed out, expired or revoked."""
    gateway = gateway_of(request)
    console = gateway.console
    session = console.cookies.session(request) if console is not None else None
    if session is None:
        return None
    await gateway.access.refresh()
    try:
        identity = await gateway.access.resolve(session.access_key, session.token)
    except AWSError:
        return None
    if identity.session is None:
        return None
    audit_fields(request).update(principal=identity.arn, access_key=identity.access_key)
    return Signed(session, identity)


def same_origin(request: Request) -> bool:
    """False for a request a browser says came from another site (Origin, Fetch Metadata)."""
    if request.headers.get("sec-fetch-site", "same-origin") not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    return origin == site_origin(request)


def csrf_ok(request: Request, signed: Signed, token: str | None) -> bool:
    console = gateway_of(request).console
    assert console is not None
    return same_origin(request) and console.cookies.csrf_ok(signed.session, token)
