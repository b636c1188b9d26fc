"""One IAM call: who asks, its parameters, the store, and its authorisation.

Every IAM action is itself decided by policy, as in AWS: `iam:<Action>` on the
ARN of the entity it acts on (Service Authorization Reference, "Actions defined
by AWS Identity and Access Management"), with the IAM condition keys the action
supports (`iam:PolicyARN`, `iam:PermissionsBoundary`, `aws:RequestTag/...`,
`aws:TagKeys`). Root may do everything. Handlers run in a worker thread; the
decision itself runs on the event loop, where the gateway's engine lives.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import anyio.from_thread

from iamgw.errors import AccessDenied, ValidationError
from iamgw.identity import Access, Identity, IdentityKind
from iamgw.ops import note_decision
from iamgw.policy import Decision, Outcome
from iamgw.store import NoSuchEntity, Repository

from .params import Params


@dataclass
class Call:
    action: str
    params: Params
    identity: Identity
    repo: Repository
    access: Access
    # Names of the gateway's own federated roles (`ldap`, each `[[oidc]]` entry): their
    # sessions are `assumed-role/NAME/...`, which a stored role of that name would share.
    federated_roles: frozenset[str] = frozenset()

    @property
    def account(self) -> str:
        return self.repo.account_id

    # -- ARNs (IAM User Guide, "IAM identifiers": the path is part of the ARN) ---

    def arn(self, kind: str, name: str, path: str = "/") -> str:
        return f"arn:aws:iam::{self.account}:{kind}{path}{name}"

    def user_arn(self, name: str) -> str:
        return self._entity_arn("user", self.repo.get_user, name)

    def group_arn(self, name: str) -> str:
        return self._entity_arn("group", lambda n: self.repo.get_group(n)[0], name)

    def role_arn(self, name: str) -> str:
        return self._entity_arn("role", self.repo.get_role, name)

    def _entity_arn(self, kind: str, get: Any, name: str) -> str:
        """The ARN of the entity the store will act on: its own name and path. Names are
        case-insensitive in IAM, so the ARN is never built from the name as given: a
        Deny on `user/admin` must hold for `UserName=ADMIN`. An entity that does not
        exist is authorised under the name given and the root path: the caller then
        learns NoSuchEntity only if it may act on that name."""
        try:
            row = get(name)
        except NoSuchEntity:
            return self.arn(kind, name)
        return self.arn(kind, str(row.name), str(row.path))

    def policy_arn(self, value: str) -> str:
        """A policy ARN as the store names the policy (its name's case and path); as given
        when it names no policy of the account (AWS managed ARNs, or one that does not
        exist), so that decisions and conditions (`iam:PolicyARN`,
        `iam:PermissionsBoundary`) see the policy that will be acted on."""
        try:
            return self.repo.policy_arn(self.repo.get_policy(value))
        except NoSuchEntity:
            return value

    def caller_user(self, name: str | None) -> str:
        """The user an action names, or the calling user when it names none (as IAM does)."""
        if name:
            return name
        if self.identity.kind is IdentityKind.USER and self.identity.username:
            return self.identity.username
        raise ValidationError("Must specify userName when calling with non-User credentials")

    def boundary_of(self, kind: str, name: str) -> str | None:
        try:
            row = self.repo.get_user(name) if kind == "user" else self.repo.get_role(name)
        except NoSuchEntity:
            return None
        return row.permissions_boundary

    # -- authorisation ----------------------------------------------------------

    def authorize(self, resource: str, context: dict[str, Any] | None = None) -> None:
        """Raise AccessDenied unless the caller may do this call's action on `resource`."""
        action = f"iam:{self.action}"
        if self.identity.is_root:
            note_decision(action, resource, None, outcome="Allowed (root)")
            return
        ctx = {k: v for k, v in (context or {}).items() if v is not None}
        decision: Decision = anyio.from_thread.run(
            self.access.decide, self.identity, action, resource, ctx
        )
        note_decision(action, resource, decision)  # the audit record's (this thread's request)
        if decision.allowed:
            return
        who = self.identity.arn or "anonymous"
        if decision.outcome is Outcome.EXPLICITLY_DENIED:
            why = f"with an explicit deny in a {_kind(decision)} policy"
        elif decision.blocked_by:
            why = f"because no {_kind(decision)} policy allows the {action} action"
        else:
            why = f"because no identity-based policy allows the {action} action"
        raise AccessDenied(
            f"User: {who} is not authorized to perform: {action} on resource: {resource} {why}"
        )


def _kind(decision: Decision) -> str:
    ptype = decision.policy_type or (decision.blocked_by[0] if decision.blocked_by else None)
    return {
        "identity": "identity-based",
        "boundary": "permissions boundary",
        "session": "session",
        "resource": "resource-based",
    }.get(str(ptype), "identity-based")
