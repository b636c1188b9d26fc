"""The policy simulator page, `/iamgw/simulate`: a principal's policies
(SimulatePrincipalPolicy) or a pasted policy (SimulateCustomPolicy), actions,
resources and context keys -> the decision for each action and resource, the
statement that decided it and why.

The simulator answers where the deciding statement sits (MatchedStatements'
SourcePolicyId and Start/EndPosition, as AWS's); the page reads that span of the
policy's text (fetched through IAM with the signed-in identity, like all the rest)
to name the statement by index and Sid and show it. A form posts the session's CSRF
token; IAM's own error (a malformed policy, an unknown principal) is shown on the page.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from starlette.requests import Request
from starlette.responses import Response

from . import forms
from .iam_calls import ALL, Refused, attempt, call, page
from .signed import Signed, csrf_ok

# IAM API Reference, ContextEntry: ContextKeyType.
CONTEXT_TYPES = [
    f"{base}{suffix}"
    for base in ("string", "numeric", "boolean", "ip", "binary", "date")
    for suffix in ("", "List")
]
MAX_CONTEXT = 20
CUSTOM_ID = "PolicyInputList.1"  # the pasted policy's SourcePolicyId
_SPLIT_ACTIONS = re.compile(r"[\s,]+")
DECISIONS = {
    "allowed": "Allowed",
    "explicitDeny": "Denied (explicit deny)",
    "implicitDeny": "Denied (no statement allows it)",
}


@dataclass
class Form:
    mode: str = "principal"  # or "policy"
    principal: str = ""
    policy: str = ""
    actions: str = ""
    resources: str = ""
    context: list[tuple[str, str, str]] = field(default_factory=list)

    @classmethod
    def read(cls, fields: dict[str, str]) -> Form:
        rows = []
        for i in range(1, MAX_CONTEXT + 1):
            key = fields.get(f"ctx-key-{i}", "").strip()
            ctype = fields.get(f"ctx-type-{i}", "string")
            if key:
                rows.append((key, ctype, fields.get(f"ctx-values-{i}", "")))
        mode = fields.get("mode") or ("policy" if fields.get("policy", "").strip() else "")
        return cls(
            mode="policy" if mode == "policy" else "principal",
            principal=fields.get("principal", "").strip(),
            policy=fields.get("policy", ""),
            actions=fields.get("actions", ""),
            resources=fields.get("resources", ""),
            context=rows,
        )

    @property
    def action(self) -> str:
        return "SimulateCustomPolicy" if self.mode == "policy" else "SimulatePrincipalPolicy"

    @property
    def rows(self) -> list[tuple[str, str, str]]:
        """The context rows to show: those given and empty ones to add more (no script)."""
        blank = max(3 - len(self.context), 1)
        return (self.context + [("", "string", "")] * blank)[:MAX_CONTEXT]

    def params(self) -> dict[str, str]:
        params: dict[str, str] = {}
        if self.mode == "policy":
            if self.policy.strip():
                params["PolicyInputList.member.1"] = self.policy
        else:
            params["PolicySourceArn"] = self.principal
        actions = [a for a in _SPLIT_ACTIONS.split(self.actions) if a]
        for i, name in enumerate(actions, 1):
            params[f"ActionNames.member.{i}"] = name
        for i, arn in enumerate(self.resources.split(), 1):
            params[f"ResourceArns.member.{i}"] = arn
        for i, (key, ctype, values) in enumerate(self.context, 1):
            prefix = f"ContextEntries.member.{i}"
            params[f"{prefix}.ContextKeyName"] = key
            params[f"{prefix}.ContextKeyType"] = ctype if ctype in CONTEXT_TYPES else "string"
            if ctype.endswith("List"):
                listed = [v.strip() for v in values.split(",") if v.strip()]
            else:
                listed = [values.strip()]
            for j, value in enumerate(listed, 1):
                params[f"{prefix}.ContextKeyValues.member.{j}"] = value
        return params


async def show(request: Request, signed: Signed) -> Response:
    principal = request.query_params.get("principal", "")
    return await _render(request, signed, Form(principal=principal))


async def run(request: Request, signed: Signed) -> Response:
    fields = await forms.form(request)  # bounded, each field once
    form = Form.read(fields)
    if not csrf_ok(request, signed, fields.get("csrf")):
        return await _render(
            request,
            signed,
            form,
            403,
            problem="This request did not come from this console's own page: reload it and "
            "try again.",
        )
    try:
        answer = await call(request, signed, form.action, form.params())
    except Refused as refused:
        return await _render(request, signed, form, refused.refusal.status, refusal=refused.refusal)
    results = answer.get("EvaluationResults", [])
    texts = await _texts(request, signed, form, results)
    return await _render(request, signed, form, results=[_explain(r, texts) for r in results])


async def _render(
    request: Request, signed: Signed, form: Form, status: int = 200, **values: Any
) -> Response:
    return await page(
        request,
        signed,
        "simulate.html",
        status,
        form=form,
        context_types=CONTEXT_TYPES,
        known=await _principals(request, signed),
        **values,
    )


async def _principals(request: Request, signed: Signed) -> list[str]:
    """ARNs of the users, groups and roles the signed-in identity may list, to pick from."""
    known = []
    for action, key in (("ListUsers", "Users"), ("ListGroups", "Groups"), ("ListRoles", "Roles")):
        found, _ = await attempt(request, signed, action, {"MaxItems": ALL})
        known += [item["Arn"] for item in found.get(key, [])]
    return known


def _explain(result: dict[str, Any], texts: dict[tuple[str, str], list[str]]) -> dict[str, Any]:
    decision = result["EvalDecision"]
    statements = []
    for matched in result.get("MatchedStatements") or []:
        source = (matched["SourcePolicyId"], matched["SourcePolicyType"])
        found = None
        if "StartPosition" in matched:
            for text in texts.get(source, []):
                found = locate(text, matched["StartPosition"], matched["EndPosition"])
                if found:
                    break
        label = "the pasted policy" if source[0] == CUSTOM_ID else source[0]
        statements.append({"label": label, "type": source[1], **(found or {}), **matched})
    boundary = (result.get("PermissionsBoundaryDecisionDetail") or {}).get(
        "AllowedByPermissionsBoundary"
    )
    named = statements[0]["label"] if statements else "the policies"
    if decision == "allowed":
        why = f"A statement of {named} allows it, and nothing denies it."
    elif decision == "explicitDeny":
        why = f"A Deny statement of {named} matches: an explicit deny overrides any allow."
    elif boundary is False:
        why = "The permissions boundary does not allow it, whatever the identity policies allow."
    else:
        why = "No statement of the policies allows it (an implicit deny)."
    if boundary is True and decision != "explicitDeny":
        why += " The permissions boundary allows it."
    return {
        "action": result["EvalActionName"],
        "resource": result["EvalResourceName"],
        "decision": decision,
        "label": DECISIONS.get(decision, decision),
        "statements": statements,
        "missing": result.get("MissingContextValues") or [],
        "why": why,
    }


def locate(text: str, start: dict[str, int], end: dict[str, int]) -> dict[str, Any] | None:
    """The statement of policy `text` between the simulator's Start and EndPosition (line
    and column from 1, end inclusive): its index in `Statement`, Sid and pretty JSON."""
    lines = text.split("\n")

    def offset(position: dict[str, int]) -> int:
        line, column = int(position["Line"]), int(position["Column"])
        if not 1 <= line <= len(lines) or column < 1:
            raise ValueError(position)
        return sum(len(x) + 1 for x in lines[: line - 1]) + column - 1

    try:
        statement = json.loads(text[offset(start) : offset(end) + 1])
        listed = json.loads(text).get("Statement")
    except (KeyError, TypeError, ValueError, AttributeError):
        return None
    if not isinstance(statement, dict):
        return None
    listed = [listed] if isinstance(listed, dict) else listed if isinstance(listed, list) else []
    index = next((i for i, s in enumerate(listed) if s == statement), None)
    if index is None:
        return None
    sid = statement.get("Sid")
    return {
        "index": index,
        "sid": sid if isinstance(sid, str) else None,
        "text": json.dumps(statement, indent=2),
        "lines": (int(start["Line"]), int(end["Line"])),
    }


async def _texts(
    request: Request, signed: Signed, form: Form, results: list[dict[str, Any]]
) -> dict[tuple[str, str], list[str]]:
    """The texts of the policies that decided, by (lower-case SourcePolicyId, type): the
    pasted one, or those of the principal that IAM lets the signed-in identity read."""
    wanted = {
        (m["SourcePolicyId"], m["SourcePolicyType"])
        for r in results
        for m in r.get("MatchedStatements") or []
    }
    if not wanted:
        return {}
    if form.mode == "policy":
        return {(CUSTOM_ID, "IAM Policy"): [form.policy]}
    kind, _, rest = form.principal.partition(":iam::")[2].partition(":")[2].partition("/")
    name = rest.rsplit("/", 1)[-1]
    if kind not in ("user", "group", "role") or not name:
        return {}
    owners = [(kind.capitalize(), name)]
    if kind == "user":
        found, _ = await attempt(
            request, signed, "ListGroupsForUser", {"UserName": name, "MaxItems": ALL}
        )
        owners += [("Group", g["GroupName"]) for g in found.get("Groups", [])]
    managed: dict[str, str] = {}  # lower-case policy name -> ARN
    for noun, owner in owners:
        found, _ = await attempt(
            request,
            signed,
            f"ListAttached{noun}Policies",
            {f"{noun}Name": owner, "MaxItems": ALL},
        )
        for item in found.get("AttachedPolicies", []):
            managed.setdefault(item["PolicyName"].lower(), item["PolicyArn"])
    if kind != "group":
        noun = kind.capitalize()
        found, _ = await attempt(request, signed, f"Get{noun}", {f"{noun}Name": name})
        entity = found.get(noun) or {}
        boundary = (entity.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn")
        if boundary:
            managed.setdefault(boundary.rsplit("/", 1)[-1].lower(), boundary)
    texts: dict[tuple[str, str], list[str]] = {}
    for source_id, source_type in wanted:
        found_texts = texts.setdefault((source_id, source_type), [])
        arn = managed.get(source_id.lower())
        if source_type in ("aws-managed", "user-managed") and arn:
            got, _ = await attempt(request, signed, "GetPolicy", {"PolicyArn": arn})
            version = (got.get("Policy") or {}).get("DefaultVersionId")
            if version:
                got, _ = await attempt(
                    request, signed, "GetPolicyVersion", {"PolicyArn": arn, "VersionId": version}
                )
                found_texts.append(_decoded((got.get("PolicyVersion") or {}).get("Document")))
        for noun, owner in owners:
            if source_type == noun.lower():
                got, _ = await attempt(
                    request,
                    signed,
                    f"Get{noun}Policy",
                    {f"{noun}Name": owner, "PolicyName": source_id},
                )
                found_texts.append(_decoded(got.get("PolicyDocument")))
    return texts


def _decoded(encoded: str | None) -> str:
    # As stored: the positions count in this text, so it is not pretty-printed.
    return unquote(encoded) if encoded else ""


ROUTES = {("GET", "/iamgw/simulate"): show, ("POST", "/iamgw/simulate"): run}
NAV = [("Simulator", "/iamgw/simulate")]
