"""AssumeRole: temporary credentials of a role for a signed IAM principal.

https://docs.aws.amazon.com/STS/latest/APIReference/API_AssumeRole.html
With RoleArn the role's trust policy (and, unless it names the caller itself, the
caller's own policies) must allow sts:AssumeRole, plus sts:TagSession when tags are
passed and sts:SetSourceIdentity when a source identity is set. Without RoleArn the
session inherits the caller's own policies (MinIO's AssumeRole). Temporary
credentials may assume a role again ("role chaining"), for one hour at most; their
transitive tags and source identity carry over and cannot be changed.
"""

from __future__ import annotations

import re
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from iamgw.errors import AccessDenied, ValidationError
from iamgw.gateway import gateway_of
from iamgw.identity import Identity, IdentityKind, SessionClaims

from .caller import signed_caller
from .errors import InvalidParameterValue
from .response import answer
from .roles import RoleInfo, find_role, trust_allows
from .session import (
    CHAIN_MAX_SECONDS,
    SECONDS,
    Grant,
    SessionPolicies,
    duration,
    issue,
    packed_percent,
    request_tags,
    session_name,
    session_policies,
)

ACTION = "AssumeRole"
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}")
SOURCE_IDENTITY = re.compile(r"[\w+=,.@-]{2,64}")


async def handle(request: Request, params: dict[str, str]) -> Response:
    gateway = gateway_of(request)
    caller = await signed_caller(request)
    if caller.is_root:
        raise AccessDenied("Roles may not be assumed by root accounts.")
    if caller.kind not in (IdentityKind.USER, IdentityKind.SESSION) or caller.arn is None:
        raise AccessDenied("Only IAM users and sessions may call AssumeRole.")
    parent = caller.session
    # IAM User Guide, "Role chaining": a role's session assuming a role; credentials of
    # GetSessionToken (a user's session) are not chained.
    chained = parent is not None and parent.typ == "AssumedRole"
    tags, transitive = request_tags(params)
    inherited = _inherited_tags(parent, tags)
    policies = await session_policies(params, gateway.repo)
    source = _source_identity(params, parent)
    sts = gateway.settings.sts
    highest = sts.max_duration_seconds
    role_arn = params.get("RoleArn", "")
    role = await find_role(gateway.repo, role_arn) if role_arn else None
    if role_arn and role is None:
        raise AccessDenied(
            f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: "
            f"{role_arn}"
        )
    if role is not None:
        name = session_name(params)
        await _check_trust(request, caller, role, name, tags, transitive, params, source)
        highest = min(highest, role.max_session_duration)
        grant = Grant(
            arn=role.session_arn(caller.account_id, name),
            typ="AssumedRole",
            src=role.arn,
            uid=f"{role.role_id}:{name}",
            pol=role.policies,
            bnd=role.boundary,
            tags={**role.tags, **inherited, **tags},
            ttk=tuple(dict.fromkeys((*inherited, *transitive))),
            idp=_source_key(source),
            chain=chained,
        )
    else:
        grant, policies = _inherit(caller, parent, tags, transitive, policies, source)
    if chained:
        highest = _chained_limit(params, highest)
    seconds = duration(params, sts.min_duration_seconds, sts.default_duration_seconds, highest)
    packed = None
    if policies.document or policies.arns or tags or inherited:
        packed = packed_percent(policies, {**inherited, **tags})
    issued = issue(gateway.tokens, grant, seconds, policies)
    result: dict[str, Any] = {
        "Credentials": issued.credentials(),
        "AssumedRoleUser": {"Arn": grant.arn, "AssumedRoleId": grant.uid},
        "PackedPolicySize": packed,
        "SourceIdentity": source or None,
    }
    return answer(request, ACTION, result)


def _inherited_tags(parent: SessionClaims | None, tags: dict[str, str]) -> dict[str, str]:
    """The calling session's transitive tags, which the new tags may not set again."""
    inherited = {k: v for k, v in parent.tags.items() if k in parent.ttk} if parent else {}
    clash = {k.lower() for k in inherited} & {k.lower() for k in tags}
    if clash:
        raise InvalidParameterValue(
            f"Tag keys {sorted(clash)} were set as transitive by the calling session."
        )
    return inherited


def _chained_limit(params: dict[str, str], highest: int) -> int:
    """IAM User Guide, "Role chaining": a chained session lasts an hour at most, and
    asking for more is an error rather than a shorter session."""
    requested = params.get("DurationSeconds", "")
    if SECONDS.fullmatch(requested) and int(requested) > CHAIN_MAX_SECONDS:
        raise ValidationError(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles "
            "assumed by role chaining."
        )
    return min(highest, CHAIN_MAX_SECONDS)


def _source_key(source: str) -> dict[str, str]:
    return {"aws:SourceIdentity": source} if source else {}


def _source_identity(params: dict[str, str], parent: SessionClaims | None) -> str:
    wanted = params.get("SourceIdentity", "")
    if wanted and not SOURCE_IDENTITY.fullmatch(wanted):
        raise ValidationError("SourceIdentity must be 2-64 characters of [\\w+=,.@-].")
    if wanted.lower().startswith("aws:"):
        raise ValidationError("SourceIdentity must not begin with aws:.")
    before = str(parent.idp.get("aws:SourceIdentity", "")) if parent else ""
    if before and wanted and wanted != before:
        raise AccessDenied("The source identity of a session cannot be changed by role chaining.")
    return wanted or before


async def _check_trust(
    request: Request,
    caller: Identity,
    role: RoleInfo,
    name: str,
    tags: dict[str, str],
    transitive: tuple[str, ...],
    params: dict[str, str],
    source: str,
) -> None:
    access = gateway_of(request).access
    external_id = params.get("ExternalId", "")
    if external_id and not EXTERNAL_ID.fullmatch(external_id):
        raise ValidationError("ExternalId must be 2-1224 characters of [\\w+=,.@:/-].")
    context: dict[str, Any] = {
        "sts:RoleSessionName": name,
        "sts:ExternalId": external_id or None,
        "sts:SourceIdentity": source or None,
        **{f"aws:RequestTag/{k}": v for k, v in tags.items()},
    }
    if tags:
        context["aws:TagKeys"] = list(tags)
    if transitive:
        context["sts:TransitiveTagKeys"] = list(transitive)
    # Loads the caller's policies into the engine (the decision itself is not enough:
    # the role's trust policy is the resource policy of this request).
    await access.decide(caller, "sts:AssumeRole", role.arn, context)
    full = {**caller.context(), **context}
    actions = ["sts:AssumeRole"]
    if tags:
        actions.append("sts:TagSession")
    if params.get("SourceIdentity"):
        actions.append("sts:SetSourceIdentity")
    for action in actions:
        decision = trust_allows(role, action, caller.arn or "", full, access, caller)
        if decision is None or not decision.allowed:
            raise AccessDenied(
                f"User: {caller.arn} is not authorized to perform: {action} on resource: {role.arn}"
            )


def _inherit(
    caller: Identity,
    parent: SessionClaims | None,
    tags: dict[str, str],
    transitive: tuple[str, ...],
    policies: SessionPolicies,
    source: str,
) -> tuple[Grant, SessionPolicies]:
    """MinIO's AssumeRole without a role: the caller's own policies, narrowed further.

    No trust policy guards this path, so it must not let the caller change who it is:
    session tags would become `aws:PrincipalTag/*` and could defeat tag-based
    policies, so they are refused here (a role, whose trust policy must allow
    `sts:TagSession`, is the way to tag a session)."""
    if tags or transitive:
        raise InvalidParameterValue(
            "Tags and TransitiveTagKeys need a RoleArn whose trust policy allows sts:TagSession."
        )
    if parent is not None and parent.sp and policies.document:
        raise ValidationError(
            "The calling session already has a session policy; pass PolicyArns to narrow it."
        )
    arn = caller.arn or ""
    grant = Grant(
        arn=arn,
        typ=caller.principal_type,
        src=parent.src if parent else arn,
        uid=caller.userid,
        un=caller.username,
        pol=caller.policies,
        bnd=caller.boundary or "",
        tags=dict(caller.tags),
        ttk=tuple(parent.ttk) if parent else (),
        idp={**(parent.idp if parent else {}), **_source_key(source)},
        chain=parent is not None and parent.typ == "AssumedRole",
    )
    narrowed = SessionPolicies(
        policies.document or (parent.sp if parent else ""),
        tuple(dict.fromkeys((*(parent.spa if parent else ()), *policies.arns))),
    )
    return grant, narrowed
