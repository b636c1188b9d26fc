"""AssumeRoleWithWebIdentity: temporary credentials for an OpenID Connect ID token.

https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRoleWithWebIdentity.html
The call is not signed: the token is the proof. Modes: see `iamgw.sts.federation`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from iamgw.errors import ValidationError
from iamgw.gateway import gateway_of
from iamgw.identity import Provider
from iamgw.ops import audit_fields

from .federation import (
    Catalog,
    Federated,
    audience,
    federate,
    find_provider,
    session_default,
    verify,
)
from .response import answer
from .session import (
    Issued,
    duration,
    issue,
    packed_percent,
    require,
    session_name,
    session_policies,
)

ACTION = "AssumeRoleWithWebIdentity"


@dataclass
class FederatedSession:
    issued: Issued
    federated: Federated
    provider: Provider
    claims: dict[str, Any]
    packed: int | None


async def assume(
    request: Request, params: dict[str, str], token_param: str, action: str
) -> FederatedSession:
    """Verify the token of `token_param` and issue the session (shared with ClientGrants)."""
    gateway = gateway_of(request)
    token = require(params, token_param)
    if not 4 <= len(token) <= 20000:
        raise ValidationError(f"{token_param} must be 4 to 20000 characters long.")
    policies = await session_policies(params, gateway.repo)
    catalog = await Catalog.current(request, gateway.repo)
    provider = await find_provider(gateway.settings, catalog, token)
    claims = await verify(request, provider, token)
    name = session_name(params, default=session_default(claims))
    federated = await federate(
        action,
        gateway.settings,
        gateway.repo,
        provider,
        claims,
        params.get("RoleArn", ""),
        name,
        catalog,
    )
    sts = gateway.settings.sts
    highest = min(sts.max_duration_seconds, federated.max_duration)
    seconds = duration(params, sts.min_duration_seconds, sts.default_duration_seconds, highest)
    if provider.limit_to_token_expiry:
        # The operator asked that a session never outlive the token that opened it.
        seconds = min(seconds, max(1, int(claims["exp"] - time.time())))
    packed = None
    if policies.document or policies.arns or federated.grant.tags:
        packed = packed_percent(policies, federated.grant.tags)
    issued = issue(gateway.tokens, federated.grant, seconds, policies)
    audit_fields(request).update(
        principal=federated.grant.arn, access_key=issued.claims.ak, principal_kind="oidc"
    )
    return FederatedSession(issued, federated, provider, claims, packed)


async def federated_answer(
    request: Request, params: dict[str, str], action: str, token_param: str, subject: str
) -> Response:
    """Issue a federated session and answer it as `action` does (shared with
    AssumeRoleWithClientGrants, which differs only in these names)."""
    done = await assume(request, params, token_param, f"sts:{action}")
    result = {
        "Credentials": done.issued.credentials(),
        subject: done.claims["sub"],
        "AssumedRoleUser": {
            "Arn": done.federated.grant.arn,
            "AssumedRoleId": done.federated.assumed_role_id,
        },
        "PackedPolicySize": done.packed,
        "Provider": done.provider.issuer,
        "Audience": audience(done.claims, done.provider),
    }
    return answer(request, action, result)


async def handle(request: Request, params: dict[str, str]) -> Response:
    return await federated_answer(
        request, params, ACTION, "WebIdentityToken", "SubjectFromWebIdentityToken"
    )
