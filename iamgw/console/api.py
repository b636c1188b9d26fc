"""The console's JSON: the session's credentials for `credential_process`, and the
providers `iamgw login` may use."""

from __future__ import annotations

from datetime import UTC, datetime

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from iamgw.gateway import gateway_of

from .signed import current, same_origin

_NO_STORE = {"cache-control": "no-store"}


async def credentials(request: Request) -> Response:
    """AWS `credential_process` JSON; a plain 401 when signed out (or asked cross-site)."""
    signed = await current(request) if same_origin(request) else None
    if signed is None or signed.identity.session is None:
        return Response("Not signed in.\n", 401, media_type="text/plain", headers=_NO_STORE)
    claims = signed.identity.session
    body = {
        "Version": 1,
        "AccessKeyId": claims.ak,
        "SecretAccessKey": claims.sk,
        "SessionToken": signed.session.token,
        "Expiration": datetime.fromtimestamp(claims.exp, UTC).isoformat(),
    }
    return JSONResponse(body, headers=_NO_STORE)


async def providers(request: Request) -> Response:
    """The `[[oidc]]` entries with a public client for `iamgw login`, and whether the
    gateway takes LDAP logins. Nothing secret: what a login page shows anyway."""
    settings = gateway_of(request).settings
    listed = [
        {"name": o.name, "issuer": o.issuer, "client_id": o.cli_client_id, "scopes": o.scopes}
        for o in settings.oidc
        if o.cli_client_id
    ]
    return JSONResponse({"providers": listed, "ldap": bool(settings.ldap.url)})
