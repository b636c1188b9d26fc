"""Combining the policy types into one decision, as IAM does.

IAM User Guide, "Policy evaluation logic" (and its "Cross-account policy evaluation
logic" page): an explicit deny in any applicable policy wins; otherwise an allow is
needed, from the identity policies or (same account) from a resource policy, and
every limiting policy type that applies must allow too: SCPs, permissions boundary,
session policy, VPC endpoint policy. RCPs can only deny (AWS keeps RCPFullAWSAccess
attached to every level). Across accounts both the identity side and the resource
policy must allow.
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from .decision import Decision, Outcome, PolicyType
from .document import Policy, PolicyKind
from .principal import PrincipalKind, Strength
from .request import Request
from .statement import Statement

# STS API Reference, GetCallerIdentity: "No permissions are required to perform this
# operation. If an administrator attaches a policy to your identity that explicitly
# denies access to the sts:GetCallerIdentity action, you can still perform this
# operation."
ALWAYS_ALLOWED = frozenset({"sts:getcalleridentity"})

PolicyOrLevel = Policy | Sequence[Policy]

_PRINCIPAL_REQUIRED = frozenset({PolicyKind.RESOURCE, PolicyKind.TRUST})
_PRINCIPAL_KINDS = _PRINCIPAL_REQUIRED | {PolicyKind.RCP, PolicyKind.ENDPOINT}


@dataclass(frozen=True, slots=True)
class Match:
    policy: Policy
    statement: Statement
    strength: Strength = Strength.DIRECT


def first_match(
    policy: Policy, request: Request, deny: bool, bounded: bool = False
) -> Match | None:
    """The statement of `policy` with that effect that applies to the request; for a
    resource-based policy the one whose Principal matches best."""
    index = policy.denies if deny else policy.allows
    if not index.size:
        return None
    kind = policy.kind
    if kind not in _PRINCIPAL_KINDS:
        st = index.find(request)
        return None if st is None else Match(policy, st)
    with_principal = kind in _PRINCIPAL_REQUIRED
    best: Match | None = None
    for st in index.find_all(request):
        if st.principal is None:
            if with_principal:
                continue  # a resource policy statement without Principal grants nothing
            strength = Strength.DIRECT
        else:
            strength = st.principal_strength(request.principal_info, bounded and deny)
            if strength is Strength.NONE:
                continue
        if deny or strength is Strength.DIRECT:
            return Match(policy, st, strength)
        if best is None or strength > best.strength:
            best = Match(policy, st, strength)
    return best


def _any(
    policies: Sequence[Policy], request: Request, deny: bool, bounded: bool = False
) -> Match | None:
    best: Match | None = None
    for policy in policies:
        m = first_match(policy, request, deny, bounded)
        if m is not None:
            if deny or m.strength is Strength.DIRECT:
                return m
            if best is None or m.strength > best.strength:
                best = m
    return best


def _levels(items: Sequence[PolicyOrLevel]) -> list[list[Policy]]:
    return [[item] if isinstance(item, Policy) else list(item) for item in items]


def _as_list(value: Policy | Sequence[Policy] | None) -> list[Policy]:
    if value is None:
        return []
    if isinstance(value, Policy):
        return [value]
    return list(value)


def resource_policy_required(request: Request) -> bool:
    """Whether the resource's own policy must allow, even within its account.

    AWS KMS Developer Guide, "Key policies": no principal has permission to a KMS key
    unless the key policy allows it. IAM User Guide, "Roles terms and concepts": a role
    can only be assumed by principals its trust policy allows.
    """
    resource = request.resource
    if resource.startswith("arn:aws:kms:") and ":key/" in resource:
        return True
    return request.action_lower.startswith("sts:assumerole") and ":role/" in resource


def _allowed(m: Match, ptype: PolicyType, reason: str = "") -> Decision:
    return Decision(Outcome.ALLOWED, ptype, m.policy.name, m.statement.label, reason=reason)


def evaluate(
    request: Request,
    identity: Sequence[Policy] = (),
    resource_policy: Policy | Sequence[Policy] | None = None,
    *,
    boundaries: Sequence[Policy] = (),
    session_policies: Sequence[Policy] = (),
    scps: Sequence[PolicyOrLevel] = (),
    rcps: Sequence[PolicyOrLevel] = (),
    endpoint_policies: Sequence[Policy] = (),
    require_resource_policy: bool | None = None,
) -> Decision:
    """Decide a request against the policies that apply to it. Never raises.

    `identity`: the principal's identity policies (user, its groups; or role).
    `resource_policy`: the resource's policy (bucket policy, role trust policy).
    `boundaries`, `session_policies`, `endpoint_policies`: each must allow.
    `scps`, `rcps`: one entry per level of the organization (root, OU, account),
    each a policy or a list of policies; every SCP level must allow.
    `require_resource_policy`: whether the resource policy must allow even within
    the account (default: KMS keys and role assumption, see
    `resource_policy_required`).
    """
    try:
        return _evaluate(
            request,
            list(identity),
            _as_list(resource_policy),
            list(boundaries),
            list(session_policies),
            _levels(scps),
            _levels(rcps),
            list(endpoint_policies),
            require_resource_policy,
        )
    except Exception as exc:  # evaluation never raises: a failure denies
        return Decision(Outcome.IMPLICITLY_DENIED, reason=f"evaluation failed: {exc!r}")


@dataclass(frozen=True, slots=True)
class _Applicable:
    """The policies that apply to one request, by type (SCPs and RCPs by level)."""

    identity: list[Policy]
    resources: list[Policy]
    boundaries: list[Policy]
    sessions: list[Policy]
    scp_levels: list[list[Policy]]
    rcp_levels: list[list[Policy]]
    endpoints: list[Policy]


def _evaluate(
    request: Request,
    identity: list[Policy],
    resources: list[Policy],
    boundaries: list[Policy],
    sessions: list[Policy],
    scps: list[list[Policy]],
    rcps: list[list[Policy]],
    endpoints: list[Policy],
    require_resource_policy: bool | None,
) -> Decision:
    principal = request.principal_info
    if request.action_lower in ALWAYS_ALLOWED and not principal.anonymous:
        return Decision(Outcome.ALLOWED, reason="no permission is required for this action")
    # SCPs and boundaries govern the account's own principals, not anonymous callers
    # or AWS services; identity and session policies only exist for those principals.
    principal_side = not principal.anonymous and principal.kind is not PrincipalKind.SERVICE
    if not principal_side:
        identity, boundaries, sessions, scps = [], [], [], []
    applicable = _Applicable(identity, resources, boundaries, sessions, scps, rcps, endpoints)
    denied = _explicit_deny(request, applicable)
    if denied is not None:
        return denied
    if require_resource_policy is None:
        require_resource_policy = resource_policy_required(request)
    return _allow(request, applicable, principal_side, require_resource_policy)


def _explicit_deny(request: Request, p: _Applicable) -> Decision | None:
    """1. Explicit deny, anywhere. The decision names the first one found, the
    principal's and the resource's own policies first; blocked_by lists them all."""
    denied: list[tuple[PolicyType, Match]] = []
    for ptype, policies in (
        (PolicyType.IDENTITY, p.identity),
        (PolicyType.RESOURCE, p.resources),
        (PolicyType.BOUNDARY, p.boundaries),
        (PolicyType.SESSION, p.sessions),
        (PolicyType.SCP, [policy for level in p.scp_levels for policy in level]),
        (PolicyType.RCP, [policy for level in p.rcp_levels for policy in level]),
        (PolicyType.ENDPOINT, p.endpoints),
    ):
        if policies:
            m = _any(policies, request, deny=True, bounded=bool(p.boundaries))
            if m is not None:
                denied.append((ptype, m))
    if not denied:
        return None
    ptype, m = denied[0]
    blocked_by = [t for t, _ in denied]
    # Also the guardrails that did not allow (for the explanation only).
    for gtype, levels in (
        (PolicyType.BOUNDARY, [[b] for b in p.boundaries]),
        (PolicyType.SESSION, [[s] for s in p.sessions]),
        (PolicyType.SCP, p.scp_levels),
        (PolicyType.ENDPOINT, [[e] for e in p.endpoints]),
    ):
        if gtype not in blocked_by and not all(
            _any(level, request, deny=False) for level in levels
        ):
            blocked_by.append(gtype)
    return Decision(
        Outcome.EXPLICITLY_DENIED,
        ptype,
        m.policy.name,
        m.statement.label,
        blocked_by=tuple(blocked_by),
    )


def _allow(request: Request, p: _Applicable, principal_side: bool, required: bool) -> Decision:
    """2. Allows, and the limits that must also allow."""
    identity_allow = _any(p.identity, request, deny=False) if p.identity else None
    resource_allow = _any(p.resources, request, deny=False) if p.resources else None
    blocked: list[PolicyType] = []
    if p.scp_levels and not all(_any(level, request, deny=False) for level in p.scp_levels):
        blocked.append(PolicyType.SCP)
    if p.endpoints and not all(first_match(e, request, deny=False) for e in p.endpoints):
        blocked.append(PolicyType.ENDPOINT)
    boundary_ok = all(first_match(b, request, deny=False) for b in p.boundaries)
    session_ok = all(first_match(s, request, deny=False) for s in p.sessions)
    strength = resource_allow.strength if resource_allow else Strength.NONE
    principal = request.principal_info
    same_account = principal.account is not None and principal.account == request.resource_account
    # A same-account grant to the principal itself (user, session ARN, "*") is not
    # limited by an implicit deny of a boundary or a session policy; a grant to the
    # role ARN is (IAM User Guide: "Policy evaluation logic", "Session policies";
    # STS API Reference, AssumeRole: permissions granted to the session in a
    # resource policy are "in addition to" the session policy).
    direct = strength >= Strength.ROLE
    bypass = strength is Strength.DIRECT
    decision: Decision | None = None
    if not principal_side:
        if direct and resource_allow is not None:
            decision = _allowed(resource_allow, PolicyType.RESOURCE)
    else:
        # Within the account the identity side suffices, unless the resource policy is
        # required; across accounts (or where required) both sides must allow.
        enough = (same_account and not required) or strength >= Strength.ACCOUNT
        if identity_allow is not None and boundary_ok and session_ok and enough:
            decision = _allowed(identity_allow, PolicyType.IDENTITY)
        if (
            decision is None
            and same_account
            and direct
            and resource_allow is not None
            and (boundary_ok or bypass)
            and (session_ok or bypass)
        ):
            decision = _allowed(resource_allow, PolicyType.RESOURCE)
        if decision is None and (identity_allow is not None or direct):
            if not boundary_ok and p.boundaries:
                blocked.append(PolicyType.BOUNDARY)
            if not session_ok and p.sessions:
                blocked.append(PolicyType.SESSION)
            if identity_allow is not None and (required or not same_account) and not strength:
                blocked.append(PolicyType.RESOURCE)
    if decision is not None and not blocked:
        return decision
    if decision is None and not (identity_allow or resource_allow):
        blocked = []
    return Decision(Outcome.IMPLICITLY_DENIED, blocked_by=tuple(blocked))
