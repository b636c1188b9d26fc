"""AssumeRoleWithLDAPIdentity (MinIO): temporary credentials for an LDAP user name and password.

https://min.io/docs/minio/linux/developers/security-token-service/AssumeRoleWithLDAPIdentity.html
The call is not signed: the password is the proof. minio-py's `LdapIdentityProvider`
sends its parameters in the query string of a POST, `mc` and others in a form body.
The directory (`iamgw.identity.LdapDirectory`) looks the user up, binds as the user and
finds the user's groups, nested ones included. Two modes, as for web identity tokens:

- role mode: RoleArn names a role of this account whose trust policy allows
  `sts:AssumeRoleWithLDAPIdentity` for `{"Federated": "ldap"}`, with the condition keys
  `ldap:username`, `ldap:user` (the DN) and `ldap:groups` (every group DN);
- directory mode (MinIO): the policies mapped to the user's DN and to its groups' DNs by
  `[ldap.user_policies]`, `[ldap.group_policies]` and the store (`iamgw ldap
  attach-policy`); the session is `assumed-role/ldap/USERNAME`.

A wrong password, an unknown or locked user, an empty password, a user with no policy
and a trust policy that refuses all get the same AccessDenied: the answer never tells
which. The password goes to the directory and nowhere else (not into an error, a log
or an audit record).
"""

from __future__ import annotations

import functools
import hashlib
import logging
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from iamgw.config import LdapSettings
from iamgw.errors import AccessDenied, InvalidAction, ServiceUnavailable, ValidationError
from iamgw.gateway import Gateway, gateway_of
from iamgw.identity import (
    FEDERATED_ROLE_PATH,
    LdapDenied,
    LdapDirectory,
    LdapError,
    LdapLogin,
    LdapThrottled,
    LdapUnavailable,
    client_address,
    normalise_dn,
)
from iamgw.ops import audit_fields
from iamgw.store import LDAP_PROVIDER

from .errors import MissingParameter, Throttling
from .federation import Catalog
from .response import answer
from .roles import RoleInfo, trust_allows
from .session import (
    Grant,
    Issued,
    default_session_name,
    duration,
    issue,
    packed_percent,
    session_name,
    session_policies,
)

log = logging.getLogger("iamgw.sts")
ACTION = "AssumeRoleWithLDAPIdentity"
PRINCIPAL = "ldap"  # the trust policy's {"Federated": "ldap"}
ROLE_NAME = "ldap"  # directory mode: assumed-role/ldap/USERNAME
MAX_USERNAME = 256
MAX_PASSWORD = 1024
# Every group DN travels in the session token (`ldap:groups`): 256 keep a token of a
# few KiB, which S3 clients send in a header with every request.
MAX_SESSION_GROUPS = 256
REFUSED = (
    "Not authorized to perform sts:AssumeRoleWithLDAPIdentity: the user name or password "
    "is wrong, or no policy applies to the user."
)
UNAVAILABLE = "The LDAP directory is unavailable; try again."


@dataclass
class LdapSession:
    issued: Issued
    grant: Grant
    packed: int | None


async def handle(request: Request, params: dict[str, str]) -> Response:
    done = await assume(request, params)
    result: dict[str, Any] = {
        "Credentials": done.issued.credentials(),
        "AssumedRoleUser": {"Arn": done.grant.arn, "AssumedRoleId": done.grant.uid},
        "PackedPolicySize": done.packed,
    }
    return answer(request, ACTION, result)


async def assume(request: Request, params: dict[str, str]) -> LdapSession:
    """Log the user in and issue the session (shared with the console's LDAP form)."""
    gateway = gateway_of(request)
    directory = gateway.ldap
    if directory is None:
        raise InvalidAction(f"{ACTION} needs an [ldap] url in the gateway's configuration.")
    username = _credential(params, "LDAPUsername", MAX_USERNAME)
    password = _credential(params, "LDAPPassword", MAX_PASSWORD)
    # Everything that does not depend on the user is checked before the directory is asked.
    policies = await session_policies(params, gateway.repo)
    role_arn = params.get("RoleArn", "")
    if params.get("RoleSessionName"):
        session_name(params)
    audit_fields(request)["ldap_username"] = username
    login = await _login(request, directory, username, password)
    try:
        catalog = await Catalog.current(request, gateway.repo)
        role = await catalog.role(gateway.repo, role_arn) if role_arn else None
        claims = ldap_claims(login)
        sts = gateway.settings.sts
        highest = sts.max_duration_seconds
        if role is not None:
            name = session_name(params, default=default_session_name(login.username))
            _check_trust(role, claims, name)
            grant = role_grant(gateway, role, name, claims)
            highest = min(highest, role.max_session_duration)
        else:
            names = await directory_policies(gateway, catalog, claims)
            grant = directory_grant(gateway, login, names, claims)
    except AccessDenied:
        # The right password, refused afterwards: counted as a wrong one, so that the
        # throttling cannot tell a guessed password of a user without access.
        directory.refuse(username)
        raise
    directory.confirm(username)
    seconds = duration(params, sts.min_duration_seconds, sts.default_duration_seconds, highest)
    packed = packed_percent(policies, {}) if policies.document or policies.arns else None
    issued = issue(gateway.tokens, grant, seconds, policies)
    audit_fields(request).update(
        principal=grant.arn, access_key=issued.claims.ak, principal_kind="ldap"
    )
    return LdapSession(issued, grant, packed)


def _credential(params: dict[str, str], name: str, longest: int) -> str:
    """LDAPUsername or LDAPPassword: present (an empty one is refused as a wrong one, by
    the directory's rules), and of a sane length."""
    value = params.get(name)
    if value is None:
        raise MissingParameter(f"The request must contain the parameter {name}.")
    if len(value) > longest:
        raise ValidationError(f"{name} must be at most {longest} characters long.")
    return value


async def _login(
    request: Request, directory: LdapDirectory, username: str, password: str
) -> LdapLogin:
    """The directory's login, its errors turned into STS's (never carrying the password)."""
    if not username or not password:
        # Never an unauthenticated bind (RFC 4513 §5.1.2), whatever the directory allows.
        raise AccessDenied(REFUSED)
    source = client_address(request)  # behind a trusted proxy: the client, not the proxy
    try:
        return await directory.login(username, password, source, confirm=False)
    except LdapThrottled:
        raise Throttling() from None
    except LdapDenied:
        raise AccessDenied(REFUSED) from None
    except LdapUnavailable:
        raise ServiceUnavailable(UNAVAILABLE) from None
    except LdapError:
        raise ServiceUnavailable(UNAVAILABLE) from None


def ldap_claims(login: LdapLogin) -> dict[str, Any]:
    """The session's `ldap:` condition keys (and `${ldap:...}` policy variables); DNs in
    their normalised form, so that a policy names them one way."""
    groups = sorted({normalise_dn(g) for g in login.group_dns})
    if len(groups) > MAX_SESSION_GROUPS:
        # Dropping some would let a Deny on one of them pass unseen: refused instead.
        log.warning(
            "LDAP login of %r refused: %d groups, a session carries at most %d",
            login.username[:MAX_USERNAME],
            len(groups),
            MAX_SESSION_GROUPS,
        )
        raise AccessDenied(REFUSED)
    return {
        "ldap:username": login.username,
        "ldap:user": normalise_dn(login.user_dn),
        "ldap:groups": groups,
    }


def _check_trust(role: RoleInfo, claims: dict[str, Any], session: str) -> None:
    """Role mode: the trust policy must allow the action for {"Federated": "ldap"}."""
    context = {**claims, "sts:RoleSessionName": session, "aws:FederatedProvider": PRINCIPAL}
    decision = trust_allows(role, f"sts:{ACTION}", PRINCIPAL, context)
    if decision is None or not decision.allowed:
        raise AccessDenied(REFUSED)


def role_grant(gateway: Gateway, role: RoleInfo, session: str, claims: dict[str, Any]) -> Grant:
    return Grant(
        arn=role.session_arn(gateway.settings.server.account_id, session),
        typ="AssumedRole",
        src=role.arn,
        uid=f"{role.role_id}:{session}",
        pol=role.policies,
        bnd=role.boundary,
        tags=dict(role.tags),
        idp=claims,
    )


def directory_role_arn(account_id: str) -> str:
    """The made-up role of directory mode: what `iamgw revoke --user` names to end every
    LDAP session (its path is that of the OIDC providers' roles: not a stored role)."""
    return f"arn:aws:iam::{account_id}:role{FEDERATED_ROLE_PATH}{ROLE_NAME}"


def directory_grant(
    gateway: Gateway, login: LdapLogin, names: list[str], claims: dict[str, Any]
) -> Grant:
    account = gateway.settings.server.account_id
    session = default_session_name(login.username)
    role_id = "AROA" + hashlib.sha256(ROLE_NAME.encode()).hexdigest()[:17].upper()
    return Grant(
        arn=f"arn:aws:sts::{account}:assumed-role/{ROLE_NAME}/{session}",
        typ="AssumedRole",
        src=directory_role_arn(account),
        uid=f"{role_id}:{session}",
        pol=tuple(names),
        idp=claims,
    )


async def directory_policies(
    gateway: Gateway, catalog: Catalog, claims: dict[str, Any]
) -> list[str]:
    """The existing policies mapped to the user's DN or its groups' DNs (`ldap_claims`:
    normalised once), by the settings and by the store; AccessDenied when there is none."""
    user, groups = claims["ldap:user"], claims["ldap:groups"]
    names = configured_policies(gateway.settings.ldap, user, groups)
    names += await catalog.mapped_policies(gateway.repo, LDAP_PROVIDER, user, groups)
    found = await catalog.existing(gateway.repo, list(dict.fromkeys(names)))
    if not found:
        raise AccessDenied(REFUSED)
    return found


def configured_policies(settings: LdapSettings, user: str, groups: list[str]) -> list[str]:
    """`[ldap.user_policies]` and `[ldap.group_policies]` of a user and its groups (DNs
    normalised), the settings' DNs compared normalised."""
    names = [n for dn, ns in settings.user_policies.items() if _dn(dn) == user for n in ns]
    member_of = set(groups)
    for dn, mapped in settings.group_policies.items():
        if _dn(dn) in member_of:
            names += mapped
    return names


@functools.lru_cache(maxsize=4096)  # the settings' keys: a bounded, fixed set
def _dn(key: str) -> str | None:
    """A settings key normalised; None (and a warning) when it is not a DN."""
    try:
        return normalise_dn(key)
    except ValueError:
        log.warning("[ldap] policies: %r is not a DN and maps nothing", key[:256])
        return None
