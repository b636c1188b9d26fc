"""AWS Identity and Access Management, Query API version 2010-05-08.

https://docs.aws.amazon.com/IAM/latest/APIReference/welcome.html

`handle` answers one IAM call: SigV4 (service `iam`) identifies the caller,
the action's handler checks its parameters as IAM does, authorises
`iam:<Action>` on the entity's ARN by policy, and makes its change in one
store transaction; the answer is AWS's XML. `run_action` is the same call
after authentication, for a caller identified otherwise (the web console's
signed-in session), with the result as a dict. Actions: users, access keys,
groups, managed policies and versions, attachments, inline policies,
permissions boundaries, roles, OpenID Connect providers and the policy
simulator (see docs/iam.md).
"""

from __future__ import annotations

from typing import Any

import anyio
import anyio.to_thread
from starlette.requests import Request
from starlette.responses import Response

from iamgw.errors import InvalidAction, MissingAuthenticationToken, xml_text
from iamgw.gateway import gateway_of
from iamgw.identity import Identity, IdentityKind
from iamgw.queryapi import authenticate, xml_element, xml_response
from iamgw.store import StoreError, StoreUnavailable

from . import account, attachments, groups, keys, oidc, policies, roles, simulate, users  # noqa: F401
from .call import Call
from .canned import load_canned_policies
from .errors import IAM_NS, from_store
from .params import Params
from .registry import ACTIONS, SummaryMap

__all__ = ["ACTIONS", "IAM_NS", "handle", "load_canned_policies", "run_action"]


async def handle(request: Request, params: dict[str, str]) -> Response:
    """Answer one IAM action (the app routes `Version=2010-05-08` here)."""
    identity = await authenticate(request, "iam")
    if identity is None:
        raise MissingAuthenticationToken()
    name = params.get("Action", "")
    result = await run_action(request, identity, name, params)
    request_id = request.scope.get("iamgw.request_id", "")
    return _respond(name, request_id, result)


async def run_action(
    request: Request, identity: Identity, name: str, params: dict[str, str]
) -> dict[str, Any] | None:
    """Run IAM action `name` for an identity already verified (the console's signed-in
    session): the same handler, the same `iam:<Action>` decision by policy and the same
    errors (raised as `AWSError`s) as a signed call; the result as a dict of the
    action's result shape (documents URL-encoded, as IAM answers them)."""
    handler = ACTIONS.get(name)
    if handler is None:
        raise InvalidAction(f"Could not find operation {name} for version 2010-05-08")
    gateway = gateway_of(request)
    settings = gateway.settings
    federated = frozenset(n.lower() for n in ["ldap", *(o.name for o in settings.oidc)])
    call = Call(name, Params(params), identity, gateway.repo, gateway.access, federated)
    region = settings.server.region
    result: dict[str, Any] | None = await anyio.to_thread.run_sync(
        _run, handler, call, region, limiter=_limiter(request)
    )
    return result


def _limiter(request: Request) -> anyio.CapacityLimiter:
    # IAM handlers wait in their thread for decisions made on the event loop, which may
    # themselves need a worker thread (to load policies): the handlers get threads of
    # their own (per app, as the limiter belongs to its event loop), so that they can
    # never take every thread the decisions need.
    return gateway_of(request).iam_threads


def _respond(name: str, request_id: str, result: dict[str, Any] | None) -> Response:
    if not result or not any(isinstance(v, SummaryMap) for v in result.values()):
        return xml_response(name, IAM_NS, request_id, result)
    # A map (GetAccountSummary): `<entry><key/><value/></entry>` items, which
    # `xml_element` (lists as `<member>`) does not write.
    inner = "".join(
        f"<{key}>{_entries(value)}</{key}>"
        if isinstance(value, SummaryMap)
        else xml_element(key, value)
        for key, value in result.items()
    )
    body = (
        f'<{name}Response xmlns="{IAM_NS}"><{name}Result>{inner}</{name}Result>'
        f"<ResponseMetadata><RequestId>{request_id}</RequestId></ResponseMetadata>"
        f"</{name}Response>"
    )
    return Response(body, media_type="text/xml")


def _entries(value: SummaryMap) -> str:
    return "".join(
        f"<entry><key>{xml_text(k)}</key><value>{int(v)}</value></entry>" for k, v in value.items()
    )


def _run(handler: Any, call: Call, region: str) -> dict[str, Any] | None:
    _record_use(call.identity, call, region)
    try:
        result: dict[str, Any] | None = handler(call)
    except StoreUnavailable:
        raise
    except StoreError as exc:
        raise from_store(exc) from exc
    return result


def _record_use(identity: Identity, call: Call, region: str) -> None:
    # GetAccessKeyLastUsed: IAM calls signed with a user's long-term key.
    if identity.kind is IdentityKind.USER and identity.access_key:
        call.repo.record_key_use(identity.access_key, "iam", region)
