"""Federation with OpenID providers: the token -> provider -> verified claims -> session.

Shared by AssumeRoleWithWebIdentity (an ID token) and AssumeRoleWithClientGrants
(MinIO's name for a client-credentials access token). Three modes, first that applies:

- role mode: RoleArn names a role of this account; its trust policy must allow the
  action for `Federated` = the provider's ARN, with the claims as condition keys
  `HOST/PATH:sub`, `:aud`, `:azp`, `:amr` and `:CLAIM` for any other claim;
- `role_policy` mode: the `[[oidc]]` entry's role_policy is every user's policy;
- claim mode (MinIO): the policies named in the entry's `claim_name` claim, and those
  the store maps to the groups in its `groups_claim` (`iamgw oidc attach-policy`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from iamgw.config import Settings
from iamgw.errors import AccessDenied
from iamgw.gateway import gateway_of
from iamgw.identity import (
    FEDERATED_ROLE_PATH,
    IdentityTokenExpired,
    InvalidIdentityToken,
    OidcVerifier,
    Provider,
    ProviderUnavailable,
    iam_object_issuer,
    unverified_issuer,
)
from iamgw.store import Repository

from . import errors
from .roles import RoleInfo, find_role, trust_allows
from .session import Grant, check_tag, default_session_name

TAGS_CLAIM = "https://aws.amazon.com/tags"
# Claims about the token itself: no use as policy variables, and they would bloat tokens.
_MECHANICS = frozenset(
    {"exp", "iat", "nbf", "jti", "nonce", "at_hash", "c_hash", "auth_time", "sid", TAGS_CLAIM}
)
_MAX_CLAIM_TEXT = 256
_MAX_CLAIM_ITEMS = 32
VIRTUAL_ROLE_PATH = FEDERATED_ROLE_PATH


def verifier(request: Request) -> OidcVerifier:
    """The process's verifier (one key cache per process)."""
    return gateway_of(request).oidc


def configured_providers(settings: Settings) -> list[Provider]:
    account = settings.server.account_id
    return [
        Provider(
            name=o.name,
            issuer=o.issuer,
            audiences=(o.client_id, o.cli_client_id) if o.cli_client_id else (o.client_id,),
            account_id=account,
            claim_name=o.claim_name,
            claim_prefix=o.claim_prefix,
            role_policy=o.role_policy,
            limit_to_token_expiry=o.limit_to_token_expiry,
        )
        for o in settings.oidc
    ]


def virtual_role_arn(provider: Provider) -> str:
    """The RoleArn of a provider's claim and role_policy modes (printed at startup)."""
    return f"arn:aws:iam::{provider.account_id}:role{VIRTUAL_ROLE_PATH}{provider.name}"


def startup_lines(settings: Settings) -> list[str]:
    """One line per `[[oidc]]` entry in role_policy mode, naming its RoleArn."""
    return [
        f"OIDC provider {p.name}: role_policy {p.role_policy!r}, RoleArn {virtual_role_arn(p)}"
        for p in configured_providers(settings)
        if p.role_policy
    ]


@dataclass
class Catalog:
    """The store's IAM OIDC provider objects and which policy names exist, kept while
    the store's generation (bumped by every write) stays the same: a federation call
    then costs one small query instead of one per lookup."""

    generation: int
    objects: list[tuple[str, tuple[str, ...]]]  # (url, client ids)
    policies: dict[str, bool] = field(default_factory=dict)
    roles: dict[str, RoleInfo | None] = field(default_factory=dict)  # by RoleArn
    # The store's policy mappings by provider ("ldap", or an [[oidc]] entry's name):
    # (kind, subject) -> policy names.
    mappings: dict[str, dict[tuple[str, str], list[str]]] = field(default_factory=dict)

    @classmethod
    async def current(cls, request: Request, repo: Repository) -> Catalog:
        gateway = gateway_of(request)
        generation = await gateway.access.refresh()
        found = gateway.sts_catalog
        if found is None or found.generation != generation:
            rows = await run_in_threadpool(repo.list_oidc_providers)
            found = cls(generation, [(r.url, tuple(r.client_ids)) for r in rows])
            gateway.sts_catalog = found
        return found

    async def role(self, repo: Repository, arn: str) -> RoleInfo | None:
        """The role a RoleArn names (None: no such role), read once per generation."""
        if arn not in self.roles:
            self.roles[arn] = await find_role(repo, arn)
        return self.roles[arn]

    async def mapped_policies(
        self, repo: Repository, provider: str, user: str | None, groups: Iterable[str]
    ) -> list[str]:
        """The policy names the store maps to `user` or any of `groups` of `provider`
        (LDAP: DNs given normalised, as the store keeps them; an OpenID provider: its
        groups as the token names them), the mappings read once per generation."""
        found = self.mappings.get(provider)
        if found is None:
            rows = await run_in_threadpool(repo.policy_mappings, provider)
            found = self.mappings[provider] = {}
            for row in rows:
                found.setdefault((row.kind, row.subject), []).append(row.policy_name)
        names = [*found.get(("user", user), ())] if user is not None else []
        for group in groups:
            names += found.get(("group", group), ())
        return list(dict.fromkeys(names))

    async def existing(self, repo: Repository, names: list[str]) -> list[str]:
        """The names among `names` of policies that exist."""
        missing = [n for n in names if n not in self.policies]
        if missing:
            found = await run_in_threadpool(_existing, repo, missing)
            self.policies.update({n: n in found for n in missing})
        return [n for n in names if self.policies.get(n)]


async def find_provider(settings: Settings, catalog: Catalog, token: str) -> Provider:
    """The provider whose issuer is the token's (unverified) `iss`: an `[[oidc]]` entry,
    an IAM OIDC provider object, or both (their client ids are all audiences)."""
    issuer = _oidc_call(unverified_issuer, token)
    found = next((p for p in configured_providers(settings) if p.issuer == issuer), None)
    for url, client_ids in catalog.objects:
        if iam_object_issuer(url, issuer) is None:
            continue
        if found is None:
            found = Provider(url, issuer, client_ids, settings.server.account_id)
        else:
            audiences = tuple(dict.fromkeys((*found.audiences, *client_ids)))
            # Every other setting of the [[oidc]] entry stays (limit_to_token_expiry...).
            found = dataclasses.replace(found, audiences=audiences)
    if found is None:
        raise errors.InvalidIdentityToken(
            f"No OpenIDConnect provider found in your account for {issuer[:256]}"
        )
    return found


async def verify(request: Request, provider: Provider, token: str) -> dict[str, Any]:
    try:
        return await verifier(request).verify(token, provider)
    except IdentityTokenExpired as exc:
        raise errors.ExpiredTokenException(f"Token expired: {exc}") from None
    except ProviderUnavailable as exc:
        raise errors.IDPCommunicationError(str(exc)) from None
    except InvalidIdentityToken as exc:
        raise errors.InvalidIdentityToken(str(exc)) from None


def _oidc_call(func: Any, *args: Any) -> Any:
    try:
        return func(*args)
    except InvalidIdentityToken as exc:
        raise errors.InvalidIdentityToken(str(exc)) from None


# -- claims -> condition keys, tags, policies -------------------------------------------


def claim_context(provider: Provider, claims: dict[str, Any]) -> dict[str, Any]:
    """Condition keys of a trust policy: `HOST/PATH:CLAIM` for the usable claims, as
    IAM provides `accounts.google.com:sub` and friends."""
    prefix = provider.host_path
    ctx: dict[str, Any] = {f"{prefix}:{k}": v for k, v in usable_claims(claims).items()}
    ctx["aws:FederatedProvider"] = provider.arn
    return ctx


def usable_claims(claims: dict[str, Any]) -> dict[str, Any]:
    """Top-level claims whose values are text, numbers, booleans or lists of them."""
    out: dict[str, Any] = {}
    for key, value in claims.items():
        if key in _MECHANICS or len(key) > 128:
            continue
        short_text = isinstance(value, str) and len(value) <= _MAX_CLAIM_TEXT
        if short_text or isinstance(value, bool | int | float):
            out[key] = value
        elif isinstance(value, list) and len(value) <= _MAX_CLAIM_ITEMS:
            items = [v for v in value if isinstance(v, str | bool | int | float)]
            if len(items) == len(value) and all(len(str(v)) <= _MAX_CLAIM_TEXT for v in items):
                out[key] = items
    return out


def jwt_variables(claims: dict[str, Any]) -> dict[str, Any]:
    """`jwt:CLAIM` keys carried in the session for `${jwt:CLAIM}` policy variables."""
    return {f"jwt:{k}": v for k, v in usable_claims(claims).items()}


def claim_tags(claims: dict[str, Any]) -> tuple[dict[str, str], tuple[str, ...]]:
    """Session tags from the `https://aws.amazon.com/tags` claim (IAM User Guide,
    "Passing session tags using AssumeRoleWithWebIdentity")."""
    raw = claims.get(TAGS_CLAIM)
    if raw is None:
        return {}, ()
    if not isinstance(raw, dict):
        raise errors.InvalidIdentityToken(f"The {TAGS_CLAIM} claim must be an object.")
    tags: dict[str, str] = {}
    principal_tags = raw.get("principal_tags", {})
    if not isinstance(principal_tags, dict):
        raise errors.InvalidIdentityToken("principal_tags must be an object.")
    for key, value in principal_tags.items():
        if isinstance(value, list) and len(value) == 1:
            value = value[0]
        if not isinstance(value, str):
            raise errors.InvalidIdentityToken(f"The session tag {key!r} must have one value.")
        check_tag(str(key), value)
        tags[str(key)] = value
    transitive = raw.get("transitive_tag_keys", [])
    if not isinstance(transitive, list) or not all(k in tags for k in transitive):
        raise errors.InvalidIdentityToken("transitive_tag_keys must name principal_tags keys.")
    return tags, tuple(transitive)


def claim_policies(provider: Provider, claims: dict[str, Any]) -> list[str]:
    """Policy names from the provider's `claim_name` claim (MinIO: a string, a comma list
    or an array; a dotted path reaches into objects; `claim_prefix` prefixes the name)."""
    return claim_values(claims, provider.claim_prefix + provider.claim_name)


def claim_values(claims: dict[str, Any], path: str) -> list[str]:
    """The texts of the claim `path` (a top-level key, else a dotted path into objects):
    a string, a comma-separated string or an array of strings."""
    value: Any = claims
    if path in claims:
        value = claims[path]
    else:
        for part in path.split("."):
            value = value.get(part) if isinstance(value, dict) else None
    if isinstance(value, str):
        names = value.split(",")
    elif isinstance(value, list):
        names = [v for v in value if isinstance(v, str)]
    else:
        names = []
    return list(dict.fromkeys(n.strip() for n in names if n.strip()))


# -- the session -------------------------------------------------------------------------


@dataclass
class Federated:
    grant: Grant
    max_duration: int
    assumed_role_id: str
    role: RoleInfo | None


async def federate(
    action: str,
    settings: Settings,
    repo: Repository,
    provider: Provider,
    claims: dict[str, Any],
    role_arn: str,
    session: str,
    catalog: Catalog | None = None,
) -> Federated:
    """The grant of a verified token, by the first mode that applies (module docstring)."""
    account = settings.server.account_id
    tags, transitive = claim_tags(claims)
    idp = jwt_variables(claims)
    role = None
    if role_arn:
        role = await (catalog.role(repo, role_arn) if catalog else find_role(repo, role_arn))
    if role is not None:
        _check_trust(role, action, provider, claims, session, tags)
        grant = Grant(
            arn=role.session_arn(account, session),
            typ="AssumedRole",
            src=role.arn,
            uid=f"{role.role_id}:{session}",
            pol=role.policies,
            bnd=role.boundary,
            tags={**role.tags, **tags},
            ttk=transitive,
            idp=idp,
        )
        return Federated(grant, role.max_session_duration, grant.uid, role)
    groups_claim = next((o.groups_claim for o in settings.oidc if o.name == provider.name), "")
    names = await _provider_policies(action, repo, provider, claims, catalog, groups_claim)
    role_name = provider.name
    role_id = "AROA" + hashlib.sha256(provider.issuer.encode()).hexdigest()[:17].upper()
    grant = Grant(
        arn=f"arn:aws:sts::{account}:assumed-role/{role_name}/{session}",
        typ="AssumedRole",
        src=virtual_role_arn(provider),
        uid=f"{role_id}:{session}",
        pol=tuple(names),
        tags=tags,
        ttk=transitive,
        idp=idp,
    )
    return Federated(grant, settings.sts.max_duration_seconds, grant.uid, None)


def _check_trust(
    role: RoleInfo,
    action: str,
    provider: Provider,
    claims: dict[str, Any],
    session: str,
    tags: dict[str, str],
) -> None:
    """Role mode: the role's trust policy must allow the action (and sts:TagSession
    when the token carries session tags) for this provider and these claims."""
    context = {
        **claim_context(provider, claims),
        "sts:RoleSessionName": session,
        **{f"aws:RequestTag/{k}": v for k, v in tags.items()},
    }
    if tags:
        context["aws:TagKeys"] = list(tags)
    decision = trust_allows(role, action, provider.arn, context)
    if decision is None or not decision.allowed:
        raise AccessDenied(f"Not authorized to perform {action}")
    if tags:
        tagging = trust_allows(role, "sts:TagSession", provider.arn, context)
        if tagging is None or not tagging.allowed:
            raise AccessDenied("Not authorized to perform sts:TagSession")


async def _provider_policies(
    action: str,
    repo: Repository,
    provider: Provider,
    claims: dict[str, Any],
    catalog: Catalog | None,
    groups_claim: str,
) -> list[str]:
    """Provider mode: the provider's role_policy, or the policies its claim names and its
    groups are mapped to that exist; AccessDenied when there are none."""
    if provider.role_policy:
        return [n.strip() for n in provider.role_policy.split(",") if n.strip()]
    if not provider.claim_name and not groups_claim:
        raise AccessDenied(
            f"Not authorized to perform {action}: RoleArn names no role of this account."
        )
    catalog = catalog or Catalog(-1, [])  # none to keep: read the store for this call
    names = claim_policies(provider, claims) if provider.claim_name else []
    if groups_claim:
        groups = claim_values(claims, groups_claim)
        names += await catalog.mapped_policies(repo, provider.name, None, groups)
    names = await catalog.existing(repo, list(dict.fromkeys(names)))
    if not names:
        raise AccessDenied(
            f"Not authorized to perform {action}: the token names no policy"
            f"{_naming(provider, groups_claim)}."
        )
    return names


def _naming(provider: Provider, groups_claim: str) -> str:
    claims = [provider.claim_prefix + provider.claim_name] if provider.claim_name else []
    claims += [groups_claim] if groups_claim else []
    return f" in its {' or '.join(claims)} claim" if claims else ""


def _existing(repo: Repository, names: list[str]) -> list[str]:
    return [n for n in names if repo.find_policy(n) is not None]


def session_default(claims: dict[str, Any]) -> str:
    return default_session_name(claims.get("preferred_username"), claims.get("sub"))


def audience(claims: dict[str, Any], provider: Provider) -> str:
    aud = claims.get("aud")
    if isinstance(aud, list):
        return next((a for a in aud if a in provider.audiences), json.dumps(aud))
    return str(aud if aud is not None else claims.get("azp", ""))
