"""The policy simulator: SimulatePrincipalPolicy and SimulateCustomPolicy
(IAM API Reference), answered by `iamgw.policy.evaluate` with AWS's
EvaluationResults shape: EvalActionName, EvalResourceName, EvalDecision
(allowed | implicitDeny | explicitDeny), MatchedStatements (SourcePolicyId,
SourcePolicyType) and, when a boundary applies, PermissionsBoundaryDecisionDetail.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from iamgw.policy import (
    Decision,
    MalformedPolicyDocument,
    Outcome,
    Policy,
    PolicyKind,
    Request,
    evaluate,
    parse_policy,
)

from .call import Call
from .errors import InvalidInput, from_policy
from .positions import statement_positions
from .registry import action

_DECISIONS = {
    Outcome.ALLOWED: "allowed",
    Outcome.IMPLICITLY_DENIED: "implicitDeny",
    Outcome.EXPLICITLY_DENIED: "explicitDeny",
}


@dataclass
class Source:
    """A policy taking part, under a unique engine name, with what AWS reports for it."""

    policy: Policy
    source_id: str
    source_type: str
    text: str = ""


def _parse(text: str, kind: PolicyKind, name: str) -> Policy:
    try:
        # Simulators ignore a Principal where the kind has none (strict=False).
        return parse_policy(text, kind, name=name, strict=kind in (PolicyKind.RESOURCE,))
    except MalformedPolicyDocument as exc:
        raise from_policy(exc) from None


def _inputs(call: Call, key: str, kind: PolicyKind) -> list[Source]:
    out = []
    for i, text in enumerate(call.params.members(key), start=1):
        source_id = f"{key}.{i}"
        out.append(Source(_parse(text, kind, f"{key}#{i}"), source_id, "IAM Policy", text))
    return out


def _managed(call: Call, arn: str, n: int, kind: PolicyKind = PolicyKind.IDENTITY) -> Source:
    row = call.repo.get_policy(arn)
    text = call.repo.policy_document(arn)
    source_type = "aws-managed" if row.source == "canned" else "user-managed"
    return Source(_parse(text, kind, f"managed#{n}"), row.name, source_type, text)


def _principal_sources(call: Call, kind: str, name: str) -> list[Source]:
    """The identity policies of a user (and its groups), a group or a role."""
    repo, out = call.repo, []
    owners = [(kind, name)]
    if kind == "user":
        owners += [("group", g.name) for g in repo.groups_for_user(name)]
    for owner_kind, owner in owners:
        for arn in repo.attached_policies(owner_kind, owner):
            out.append(_managed(call, arn, len(out)))
        for policy_name, text in sorted(repo.inline_policies(owner_kind, owner).items()):
            parsed = _parse(text, PolicyKind.IDENTITY, f"inline#{len(out)}")
            out.append(Source(parsed, policy_name, owner_kind, text))
    return out


def _context(call: Call) -> dict[str, Any]:
    ctx: dict[str, Any] = {}
    for entry in call.params.structs("ContextEntries"):
        key = entry.get("ContextKeyName")
        if not key:
            raise InvalidInput("ContextKeyName is required in each ContextEntries member.")
        values = [
            v
            for k, v in sorted(entry.items(), key=lambda kv: _index(kv[0]))
            if k.startswith("ContextKeyValues.member.")
        ]
        ctype = entry.get("ContextKeyType", "string")
        ctx[key] = values if ctype.endswith("List") else (values[0] if values else None)
    return ctx


def _index(key: str) -> int:
    tail = key.rsplit(".", 1)[-1]
    return int(tail) if tail.isascii() and tail.isdigit() and len(tail) < 10 else 0


def _simulate(
    call: Call,
    principal: str,
    identity: list[Source],
    boundaries: list[Source],
) -> dict[str, Any]:
    p = call.params
    actions = p.members("ActionNames")
    if not actions:
        p.get("ActionNames.member.1", "actionNames", required=True)
    resources = p.members("ResourceArns") or ["*"]
    resource_text = p.get("ResourcePolicy", "resourcePolicy")
    resource_policy = None
    sources = {s.policy.name: s for s in identity + boundaries}
    if resource_text:
        resource_policy = _parse(resource_text, PolicyKind.RESOURCE, "ResourcePolicy")
        sources["ResourcePolicy"] = Source(
            resource_policy, "ResourcePolicy", "resource", resource_text
        )
    context = _context(call)
    results = []
    for action_name in actions:
        for resource in resources:
            request = Request(
                action_name,
                resource,
                principal,
                context,
                resource_account=call.account if resource == "*" else None,
                resource_is_pattern="*" in resource or "?" in resource,
            )
            decision = evaluate(
                request,
                [s.policy for s in identity],
                resource_policy,
                boundaries=[s.policy for s in boundaries],
            )
            result = _result(action_name, resource, decision, sources, boundaries, request)
            result["MissingContextValues"] = _missing([s.policy for s in sources.values()], request)
            results.append(result)
    return {"EvaluationResults": results, "IsTruncated": False}


def _result(
    action_name: str,
    resource: str,
    decision: Decision,
    sources: dict[str, Source],
    boundaries: list[Source],
    request: Request,
) -> dict[str, Any]:
    matched = []
    if decision.policy is not None and decision.policy in sources:
        source = sources[decision.policy]
        statement: dict[str, Any] = {
            "SourcePolicyId": source.source_id,
            "SourcePolicyType": source.source_type,
        }
        index = next(
            (i for i, st in enumerate(source.policy.statements) if st.label == decision.statement),
            None,
        )
        spans = statement_positions(source.text)
        if index is not None and index < len(spans):
            statement["StartPosition"], statement["EndPosition"] = spans[index]
        matched.append(statement)
    result: dict[str, Any] = {
        "EvalActionName": action_name,
        "EvalResourceName": resource,
        "EvalDecision": _DECISIONS[decision.outcome],
        "MatchedStatements": matched,
        "MissingContextValues": [],
    }
    if boundaries:
        allowed = all(evaluate(request, [b.policy]).outcome is Outcome.ALLOWED for b in boundaries)
        result["PermissionsBoundaryDecisionDetail"] = {"AllowedByPermissionsBoundary": allowed}
    return result


def _missing(policies: list[Policy], request: Request) -> list[str]:
    """Condition keys of the statements for this action that the request does not give
    (AWS's MissingContextValues), as the policies spell them."""
    missing: dict[str, str] = {}
    for policy in policies:
        for statement in policy.statements:
            if not statement.matches_action(request.action_lower):
                continue
            for block in (statement.source.get("Condition") or {}).values():
                for key in block if isinstance(block, dict) else ():
                    if key.lower() not in request.context:
                        missing.setdefault(key.lower(), key)
    return sorted(missing.values(), key=str.lower)


def _principal_of(call: Call, arn: str) -> tuple[str, str]:
    prefix = f"arn:aws:iam::{call.account}:"
    if not arn.startswith(prefix):
        raise InvalidInput(f"Invalid PolicySourceArn: {arn}")
    kind, _, rest = arn[len(prefix) :].partition("/")
    if kind not in ("user", "group", "role") or not rest:
        raise InvalidInput(f"Invalid PolicySourceArn: {arn}")
    return kind, rest.rsplit("/", 1)[-1]


@action("SimulatePrincipalPolicy")
def simulate_principal_policy(call: Call) -> dict[str, Any]:
    source_arn = call.params.arn("PolicySourceArn", "policySourceArn")
    kind, name = _principal_of(call, source_arn)
    call.authorize(source_arn)
    # The principal's own ARN (with its path) as the store knows it.
    arn = {"user": call.user_arn, "group": call.group_arn, "role": call.role_arn}[kind](name)
    identity = _principal_sources(call, kind, name)
    identity += _inputs(call, "PolicyInputList", PolicyKind.IDENTITY)
    boundaries = _inputs(call, "PermissionsBoundaryPolicyInputList", PolicyKind.BOUNDARY)
    if not boundaries and kind != "group":
        current = call.boundary_of(kind, name)
        if current:
            boundaries = [_managed(call, current, -1, PolicyKind.BOUNDARY)]
    caller = call.params.get("CallerArn", "callerArn")
    principal = caller or (arn if kind != "group" else f"arn:aws:iam::{call.account}:user/{name}")
    return _simulate(call, principal, identity, boundaries)


@action("SimulateCustomPolicy")
def simulate_custom_policy(call: Call) -> dict[str, Any]:
    call.authorize("*")
    identity = _inputs(call, "PolicyInputList", PolicyKind.IDENTITY)
    if not identity:
        call.params.get("PolicyInputList.member.1", "policyInputList", required=True)
    boundaries = _inputs(call, "PermissionsBoundaryPolicyInputList", PolicyKind.BOUNDARY)
    caller = call.params.get("CallerArn", "callerArn")
    principal = caller or call.identity.arn or f"arn:aws:iam::{call.account}:root"
    return _simulate(call, principal, identity, boundaries)
