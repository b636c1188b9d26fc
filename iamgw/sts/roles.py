"""Roles as STS sees them: found by ARN, their trust policy decides, their policies go
into the session (IAM User Guide, "Roles terms and concepts", "Role chaining").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from iamgw.identity import Access, Identity
from iamgw.ops import note_decision
from iamgw.policy import (
    Decision,
    MalformedPolicyDocument,
    PolicyKind,
    Request,
    evaluate,
    parse_policy,
)
from iamgw.store import NoSuchEntity, Repository

log = logging.getLogger("iamgw.sts")


@dataclass(frozen=True)
class RoleInfo:
    """What a session of the role needs, read once from the store."""

    name: str
    arn: str
    role_id: str
    trust_policy: str
    max_session_duration: int
    policies: tuple[str, ...]
    boundary: str
    tags: dict[str, str]

    def session_arn(self, account_id: str, session: str) -> str:
        # AWS drops the role's path from session ARNs.
        return f"arn:aws:sts::{account_id}:assumed-role/{self.name}/{session}"


def parse_role_arn(arn: str, account_id: str) -> tuple[str, str] | None:
    """(path, name) of a role ARN of this account; None for anything else."""
    prefix = f"arn:aws:iam::{account_id}:role/"
    if not arn.startswith(prefix):
        return None
    rest = arn[len(prefix) :]
    path, _, name = rest.rpartition("/")
    if not name:
        return None
    return ("/" + path + "/" if path else "/"), name


async def find_role(repo: Repository, arn: str) -> RoleInfo | None:
    """The role named by `arn`, or None when the ARN names no role of this account."""
    parsed = parse_role_arn(arn, repo.account_id)
    if parsed is None:
        return None
    return await run_in_threadpool(_load, repo, *parsed)


def _load(repo: Repository, path: str, name: str) -> RoleInfo | None:
    try:
        role = repo.get_role(name)
        if role.path != path:
            return None
        attached = repo.attached_policies("role", role.name)
        inline = [f"inline:role/{role.name}/{p}" for p in repo.inline_policies("role", role.name)]
    except NoSuchEntity:
        return None
    return RoleInfo(
        name=role.name,
        arn=f"arn:aws:iam::{repo.account_id}:role{role.path}{role.name}",
        role_id=role.role_id,
        trust_policy=role.trust_policy,
        max_session_duration=role.max_session_duration,
        policies=tuple(attached) + tuple(inline),
        boundary=role.permissions_boundary or "",
        tags=dict(role.tags or {}),
    )


def trust_allows(
    role: RoleInfo,
    action: str,
    principal: str,
    context: Mapping[str, Any],
    access: Access | None = None,
    caller: Identity | None = None,
) -> Decision | None:
    """The decision on `action` (sts:AssumeRole*, sts:TagSession, ...) against the role's
    trust policy, with the caller's own policies when the caller is an IAM principal.
    None when the stored trust policy is not valid any more (nothing is trusted)."""
    try:
        trust = parse_policy(role.trust_policy, PolicyKind.TRUST, name=f"trust:{role.name}")
    except MalformedPolicyDocument as exc:
        log.error("trust policy of role %s is not valid and trusts nobody: %s", role.name, exc)
        note_decision(action, role.arn, None)
        return None
    request = Request(action, role.arn, principal, context)
    if access is None or caller is None:
        decision = evaluate(request, [], resource_policy=trust)
    else:
        decision = access.engine.evaluate(
            request,
            caller.policies,
            trust,
            boundary=caller.boundary,
            session_policy=caller.session_policies or None,
        )
    note_decision(action, role.arn, decision)  # the request's audit record
    return decision
