"""Who is asking: root, an IAM user (long-term key), a session (temporary key), or nobody.

Resolution turns the access key of a signed request into an `Identity` that
carries the secret to verify the signature with and everything a decision
needs: policies, boundary, session policy, tags and identity-provider claims.
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from iamgw.identity.credentials import SessionClaims
from iamgw.store import NoSuchEntity, Repository


class IdentityKind(StrEnum):
    ROOT = "root"
    USER = "user"
    SESSION = "session"
    ANONYMOUS = "anonymous"


@dataclass(frozen=True)
class Identity:
    kind: IdentityKind
    account_id: str
    arn: str | None = None
    access_key: str = ""
    secret_key: str = field(default="", repr=False)
    principal_type: str = "Anonymous"  # aws:PrincipalType
    username: str = ""  # aws:username
    userid: str = ""  # aws:userid
    policies: tuple[str, ...] = ()  # engine names of the identity policies
    boundary: str | None = None
    session_policies: tuple[str, ...] = ()  # engine names; each must allow
    tags: Mapping[str, str] = field(default_factory=dict)
    claims: Mapping[str, Any] = field(default_factory=dict)  # jwt:*, ldap:* keys
    session: SessionClaims | None = None

    @property
    def is_root(self) -> bool:
        return self.kind is IdentityKind.ROOT

    def context(self) -> dict[str, Any]:
        """The condition keys this identity contributes to every request."""
        ctx: dict[str, Any] = {}
        if self.arn:
            ctx["aws:PrincipalArn"] = self.arn
            ctx["aws:PrincipalAccount"] = self.account_id
        ctx["aws:PrincipalType"] = self.principal_type
        if self.username:
            ctx["aws:username"] = self.username
        if self.userid:
            ctx["aws:userid"] = self.userid
        for key, value in self.tags.items():
            ctx[f"aws:PrincipalTag/{key}"] = value
        ctx.update(self.claims)
        return ctx


def anonymous(account_id: str) -> Identity:
    return Identity(IdentityKind.ANONYMOUS, account_id)


def root_identity(account_id: str, access_key: str, secret_key: str) -> Identity:
    return Identity(
        IdentityKind.ROOT,
        account_id,
        arn=f"arn:aws:iam::{account_id}:root",
        access_key=access_key,
        secret_key=secret_key,
        principal_type="Account",
        userid=account_id,
    )


def is_root_key(access_key: str, root_access_key: str) -> bool:
    return hmac.compare_digest(access_key.encode(), root_access_key.encode())


def inline_name(ptype: str, principal: str, policy: str) -> str:
    """The engine name of an inline policy: unique, and never a valid policy ARN."""
    return f"inline:{ptype}/{principal}/{policy}"


def user_identity(repo: Repository, access_key: str, secret_key: str, user_name: str) -> Identity:
    """An IAM user's identity with the policies of the user and of its groups."""
    user = repo.get_user(user_name)
    policies: list[str] = list(repo.attached_policies("user", user.name))
    policies += [inline_name("user", user.name, p) for p in repo.inline_policies("user", user.name)]
    for group in repo.groups_for_user(user.name):
        policies += repo.attached_policies("group", group.name)
        policies += [
            inline_name("group", group.name, p) for p in repo.inline_policies("group", group.name)
        ]
    account = repo.account_id
    return Identity(
        IdentityKind.USER,
        account,
        arn=f"arn:aws:iam::{account}:user{user.path}{user.name}",
        access_key=access_key,
        secret_key=secret_key,
        principal_type="User",
        username=user.name,
        userid=user.user_id,
        policies=tuple(dict.fromkeys(policies)),
        boundary=user.permissions_boundary,
        tags=dict(user.tags),
    )


def session_identity(
    account_id: str, claims: SessionClaims, session_policy_name: str | None
) -> Identity:
    session_policies = tuple(claims.spa) + ((session_policy_name,) if session_policy_name else ())
    return Identity(
        IdentityKind.SESSION,
        account_id,
        arn=claims.arn,
        access_key=claims.ak,
        secret_key=claims.sk,
        principal_type=claims.typ,
        username=claims.un,
        userid=claims.uid,
        policies=claims.pol,
        boundary=claims.bnd or None,
        session_policies=session_policies,
        tags=dict(claims.tags),
        claims=dict(claims.idp),
        session=claims,
    )


# The path of the roles iamgw makes up for OIDC providers in claim and role_policy
# mode: not stored roles, so their sessions keep the policies named in the token.
FEDERATED_ROLE_PATH = "/iamgw-oidc/"


def current_grant(
    repo: Repository, claims: SessionClaims | None
) -> tuple[tuple[str, ...], str | None] | None:
    """The identity policies and boundary that the session's role or IAM user has now;
    nothing at all once it is deleted. None for a session of a federated (made-up) role,
    whose token carries its policies."""
    if claims is None:
        return None
    prefix = f"arn:aws:iam::{repo.account_id}:"
    if not claims.src.startswith(prefix):
        return None
    kind, _, rest = claims.src[len(prefix) :].partition("/")
    path, _, name = ("/" + rest).rpartition("/")
    path += "/"
    try:
        if kind == "role":
            if path == FEDERATED_ROLE_PATH:
                return None
            role = repo.get_role(name)
            if role.path != path:
                return (), None
            policies = list(repo.attached_policies("role", role.name))
            policies += [
                inline_name("role", role.name, p) for p in repo.inline_policies("role", role.name)
            ]
            return tuple(policies), role.permissions_boundary
        if kind == "user":
            user = user_identity(repo, claims.ak, "", name)
            return user.policies, user.boundary
    except NoSuchEntity:
        return (), None
    return None
