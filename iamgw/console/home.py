"""The console's first page: who you are, what you may do, and your credentials."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from iamgw.gateway import gateway_of
from iamgw.identity import origin

from .pages import render
from .signed import Signed


async def home(request: Request, signed: Signed) -> Response:
    return render(request, "home.html", **await context(request, signed))


ROUTES = {("GET", "/iamgw/"): home}
NAV = [("Overview", "/iamgw/")]


async def context(request: Request, signed: Signed) -> dict[str, Any]:
    """What every signed-in page shows in its header, and the home page's content."""
    gateway = gateway_of(request)
    identity = signed.identity
    claims = identity.session
    assert claims is not None
    found = await run_in_threadpool(gateway.access.documents, list(identity.policies))
    documents = [(_label(name), _pretty(document)) for name, document in found]
    if claims.sp:
        documents.append(("session policy", _pretty(claims.sp)))
    endpoint = origin(request)
    console = gateway.console
    assert console is not None
    return {
        "arn": identity.arn,
        "provider": signed.session.provider,
        "groups": _groups(gateway.settings, signed),
        "policies": documents,
        "expires": datetime.fromtimestamp(claims.exp, UTC),
        "expires_epoch": claims.exp,
        "access_key": claims.ak,
        "secret_key": claims.sk,
        "session_token": signed.session.token,
        "endpoint": endpoint,
        "region": gateway.settings.server.region,
        "csrf": console.cookies.csrf_token(signed.session),
    }


def _label(name: str) -> str:
    """A policy's name as people read it: `readwrite`, `audit (inline)`."""
    if name.startswith("inline:"):
        return name.rsplit("/", 1)[-1] + " (inline)"
    return name.rsplit("/", 1)[-1]


def _pretty(document: str) -> str:
    try:
        return json.dumps(json.loads(document), indent=2)
    except ValueError:
        return document


def _groups(settings: Any, signed: Signed) -> list[str]:
    claims = signed.identity.claims
    if signed.session.provider == "ldap":
        return list(claims.get("ldap:groups", ()))
    entry = next((o for o in settings.oidc if o.name == signed.session.provider), None)
    key = f"jwt:{entry.groups_claim}" if entry is not None and entry.groups_claim else "jwt:groups"
    value = claims.get(key, ())
    return [value] if isinstance(value, str) else [str(v) for v in value]
