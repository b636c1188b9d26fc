"""Policy documents: parse and validate as IAM does, into a `Policy` ready to evaluate.

Grammar and limits: IAM User Guide, "IAM JSON policy element reference",
"Grammar of the IAM JSON policy language" and "IAM and AWS STS quotas".
https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_grammar.html
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from .action import ActionPattern
from .condition import Clause, find_operator
from .effect import Effect
from .errors import MalformedPolicyDocument, PolicySizeExceeded
from .index import StatementIndex
from .json_text import load
from .principal import PRINCIPAL_TYPES, PrincipalSpec
from .resource import ResourcePattern
from .statement import Statement

VERSION_2012 = "2012-10-17"
VERSION_2008 = "2008-10-17"
VERSIONS = (VERSION_2012, VERSION_2008)


class PolicyKind(StrEnum):
    """Where a policy is used: decides which elements it may hold and its size limit."""

    IDENTITY = "identity"  # managed or inline policy of a user, group or role
    RESOURCE = "resource"  # bucket policy and other resource-based policies
    BOUNDARY = "boundary"  # permissions boundary (a managed policy)
    SESSION = "session"  # session policy passed to AssumeRole*/GetFederationToken
    SCP = "scp"  # AWS Organizations service control policy
    RCP = "rcp"  # AWS Organizations resource control policy
    TRUST = "trust"  # role trust policy (a resource policy of the role)
    ENDPOINT = "endpoint"  # VPC endpoint policy


# Size limits (characters; IAM does not count white space) from "IAM and AWS STS
# quotas" (managed policy 6,144; role trust policy 2,048; session policy plaintext
# 2,048), AWS Organizations quotas (SCP and RCP 5,120), Amazon S3 (bucket policy
# 20 KB) and Amazon VPC quotas (endpoint policy 20,480).
# https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_iam-quotas.html
SIZE_LIMITS: dict[PolicyKind, int] = {
    PolicyKind.IDENTITY: 6144,
    PolicyKind.BOUNDARY: 6144,
    PolicyKind.SESSION: 2048,
    PolicyKind.TRUST: 2048,
    PolicyKind.SCP: 5120,
    PolicyKind.RCP: 5120,
    PolicyKind.RESOURCE: 20 * 1024,
    PolicyKind.ENDPOINT: 20480,
}
# Inline policies have their own quotas (aggregate per entity): pass as max_size.
INLINE_USER_POLICY_LIMIT = 2048
INLINE_GROUP_POLICY_LIMIT = 5120
INLINE_ROLE_POLICY_LIMIT = 10240

_PRINCIPAL_KINDS = frozenset(
    {PolicyKind.RESOURCE, PolicyKind.TRUST, PolicyKind.RCP, PolicyKind.ENDPOINT}
)
_RESOURCE_REQUIRED = frozenset({PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION})
# IAM's PolicyDocument pattern: [\u0009\u000A\u000D\u0020-\u00FF]+ (IAM API Reference).
_IAM_CHARSET = re.compile("[^\u0009\u000a\u000d\u0020-\u00ff]")
_CHARSET_KINDS = frozenset(
    {PolicyKind.IDENTITY, PolicyKind.BOUNDARY, PolicyKind.SESSION, PolicyKind.TRUST}
)
_WHITESPACE = re.compile(r"\s+")
_IAM_SID = re.compile(r"[0-9A-Za-z]*")
_TOP = ("Version", "Id", "Statement")
_STATEMENT = (
    "Sid",
    "Effect",
    "Principal",
    "NotPrincipal",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
)


@dataclass(frozen=True, eq=False)
class Policy:
    """A parsed, validated policy document, compiled and indexed for evaluation."""

    name: str
    kind: PolicyKind
    version: str
    statements: tuple[Statement, ...]
    id: str | None = None
    document: Mapping[str, Any] = field(default_factory=dict, repr=False)
    digest: str = ""
    allows: StatementIndex = field(init=False, repr=False)
    denies: StatementIndex = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "allows", StatementIndex(s for s in self.statements if s.effect is Effect.ALLOW)
        )
        object.__setattr__(
            self, "denies", StatementIndex(s for s in self.statements if s.effect is Effect.DENY)
        )

    def to_json(self) -> str:
        return json.dumps(self.document, separators=(",", ":"))


def _fail(message: str, path: str = "") -> MalformedPolicyDocument:
    return MalformedPolicyDocument(message, path)


def _strings(value: Any, path: str, allow_empty: bool = True) -> tuple[str, ...]:
    """A string or a list of strings (IAM accepts both wherever a list is allowed)."""
    if isinstance(value, str):
        return (value,)
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        if not value and not allow_empty:
            raise _fail("Syntax errors in policy.", path)
        return tuple(value)
    raise _fail("Syntax errors in policy.", path)


def _condition_values(value: Any, path: str) -> tuple[str, ...]:
    def text(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return v
        if isinstance(v, int | float):
            return json.dumps(v)
        raise _fail("Syntax errors in policy.", path)

    if isinstance(value, list):
        return tuple(text(v) for v in value)
    return (text(value),)


def _actions(values: tuple[str, ...], path: str) -> tuple[ActionPattern, ...]:
    for i, v in enumerate(values):
        if v != "*" and (":" not in v or not v.partition(":")[0].strip()):
            raise _fail(
                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
                f"{path}[{i}]" if len(values) > 1 else path,
            )
    return tuple(ActionPattern(v) for v in values)


def _resources(values: tuple[str, ...], path: str, variables: bool) -> tuple[ResourcePattern, ...]:
    for i, v in enumerate(values):
        if v != "*" and not v.startswith("arn:") and not v.startswith("${"):
            raise _fail(
                f'Resource {v} must be in ARN format or "*".',
                f"{path}[{i}]" if len(values) > 1 else path,
            )
    return tuple(ResourcePattern(v, variables) for v in values)


def _principal(value: Any, path: str, strict: bool) -> PrincipalSpec:
    if value == "*":
        return PrincipalSpec("*")
    if isinstance(value, str | list) and not strict:
        value = {"AWS": value}  # lenient: a bare ARN, as simulators read it
    if not isinstance(value, dict) or not value:
        raise _fail("Invalid principal in policy.", path)
    spec: dict[str, tuple[str, ...]] = {}
    for kind, values in value.items():
        if kind not in PRINCIPAL_TYPES:
            raise _fail(f"Invalid principal in policy: unknown type {kind}", f"{path}.{kind}")
        spec[kind] = _strings(values, f"{path}.{kind}", allow_empty=False)
    return PrincipalSpec(spec)


def _conditions(value: Any, path: str, variables: bool) -> tuple[Clause, ...]:
    if not isinstance(value, dict):
        raise _fail("Syntax errors in policy.", path)
    clauses: list[Clause] = []
    for op_name, block in value.items():
        op_path = f"{path}.{op_name}"
        found = find_operator(op_name) if isinstance(op_name, str) else None
        if found is None:
            raise _fail(f"Invalid Condition type : {op_name}.", op_path)
        operator, qualifier, if_exists = found
        if not isinstance(block, dict) or not block:
            raise _fail("Syntax errors in policy.", op_path)
        for key, values in block.items():
            if not key or not isinstance(key, str):
                raise _fail("Syntax errors in policy.", op_path)
            vals = _condition_values(values, f"{op_path}.{key}")
            clauses.append(Clause(operator, key, vals, qualifier, if_exists, variables))
    return tuple(clauses)


def _resource_element(
    raw: dict[str, Any], path: str, kind: PolicyKind, variables: bool
) -> tuple[tuple[ResourcePattern, ...] | None, bool]:
    """A statement's Resource or NotResource; None where its kind may omit it."""
    if "Resource" in raw and "NotResource" in raw:
        raise _fail("Statement cannot contain both Resource and NotResource", path)
    not_resource = "NotResource" in raw
    if "Resource" not in raw and not not_resource:
        if kind in _RESOURCE_REQUIRED:
            raise _fail("Missing required field Resource", path)
        return None, False
    key = "NotResource" if not_resource else "Resource"
    resources = _resources(_strings(raw[key], f"{path}.{key}"), f"{path}.{key}", variables)
    if not resources:
        raise _fail("Policy statement must contain resources.", f"{path}.{key}")
    return resources, not_resource


def _principal_element(
    raw: dict[str, Any], path: str, kind: PolicyKind, strict: bool
) -> tuple[PrincipalSpec | None, bool]:
    """A statement's Principal or NotPrincipal, where its kind has one."""
    if "Principal" in raw and "NotPrincipal" in raw:
        raise _fail("Statement cannot contain both Principal and NotPrincipal", path)
    not_principal = "NotPrincipal" in raw
    if "Principal" in raw or not_principal:
        key = "NotPrincipal" if not_principal else "Principal"
        if kind in _PRINCIPAL_KINDS:
            return _principal(raw[key], f"{path}.{key}", strict), not_principal
        if strict:
            raise _fail("Policy document should not specify a principal.", f"{path}.{key}")
        return None, False  # lenient: ignored, as simulators do
    if kind in (PolicyKind.TRUST, PolicyKind.RESOURCE) and strict:
        # A resource-based policy says whom it grants: S3 and IAM refuse one without.
        raise _fail("Missing required field Principal", path)
    return None, False


def _statement(
    raw: Any, index: int, path: str, kind: PolicyKind, strict: bool, variables: bool
) -> Statement:
    if not isinstance(raw, dict):
        raise _fail("Syntax errors in policy.", path)
    for key in raw:
        if key not in _STATEMENT:
            raise _fail(f"Unknown field {key}", f"{path}.{key}")
    sid = raw.get("Sid")
    if sid is not None and not isinstance(sid, str):
        raise _fail("Syntax errors in policy.", f"{path}.Sid")
    if sid and kind in _CHARSET_KINDS and not _IAM_SID.fullmatch(sid):
        # IAM's own policies; resource policies (S3) allow more.
        raise _fail("Statement IDs (SID) must be alpha-numeric.", f"{path}.Sid")
    if "Effect" not in raw:
        raise _fail("Missing required field Effect", path)
    effect_text = raw["Effect"]
    if effect_text not in ("Allow", "Deny"):
        raise _fail(f"Invalid effect: {effect_text}", f"{path}.Effect")
    effect = Effect(effect_text)

    if "Action" in raw and "NotAction" in raw:
        raise _fail("Statement cannot contain both Action and NotAction", path)
    if "Action" not in raw and "NotAction" not in raw:
        raise _fail("Missing required field Action", path)
    not_action = "NotAction" in raw
    action_key = "NotAction" if not_action else "Action"
    actions = _actions(_strings(raw[action_key], f"{path}.{action_key}"), f"{path}.{action_key}")
    if not actions:
        raise _fail("Policy statement must contain actions.", f"{path}.{action_key}")

    resources, not_resource = _resource_element(raw, path, kind, variables)
    principal, not_principal = _principal_element(raw, path, kind, strict)
    conditions: tuple[Clause, ...] = ()
    if "Condition" in raw:
        conditions = _conditions(raw["Condition"], f"{path}.Condition", variables)

    return Statement(
        index=index,
        effect=effect,
        actions=actions,
        not_action=not_action,
        resources=resources,
        not_resource=not_resource,
        principal=principal,
        not_principal=not_principal,
        conditions=conditions,
        sid=sid,
        source=raw,
    )


def _check_text(text: str, kind: PolicyKind, limit: int) -> None:
    """IAM's character set (for the kinds IAM stores) and size quota (white space not
    counted) of a document's text."""
    if kind in _CHARSET_KINDS and _IAM_CHARSET.search(text):
        raise _fail(
            "Value at 'policyDocument' failed to satisfy constraint: Member must satisfy "
            "regular expression pattern: [\\u0009\\u000A\\u000D\\u0020-\\u00FF]+"
        )
    if len(_WHITESPACE.sub("", text)) > limit:
        raise PolicySizeExceeded(f"Cannot exceed quota for PolicySize: {limit}")


def _statements(
    raw_statements: Any, kind: PolicyKind, strict: bool, variables: bool
) -> list[Statement]:
    """The `Statement` element: one statement object or a list of them, Sids unique."""
    single = isinstance(raw_statements, dict)
    if single:
        raw_statements = [raw_statements]
    if not isinstance(raw_statements, list):
        raise _fail("Syntax errors in policy.", "Statement")
    statements: list[Statement] = []
    sids: set[str] = set()
    for i, raw in enumerate(raw_statements):
        path = "Statement" if single else f"Statement[{i}]"
        st = _statement(raw, i, path, kind, strict, variables)
        if st.sid:
            if st.sid in sids:
                raise _fail("Statement IDs (SID) in a single policy must be unique.", f"{path}.Sid")
            sids.add(st.sid)
        statements.append(st)
    return statements


def parse_policy(
    document: str | bytes | Mapping[str, Any],
    kind: PolicyKind | str = PolicyKind.IDENTITY,
    *,
    name: str | None = None,
    strict: bool = True,
    max_size: int | None = None,
) -> Policy:
    """Parse and validate a policy document (JSON text or the decoded object).

    Raises `MalformedPolicyDocument` with IAM's message and the JSON path of the
    fault. `max_size` overrides the size limit of `kind` (e.g. the inline-policy
    quotas). `strict=False` ignores a Principal where the kind has none, as policy
    simulators do, instead of rejecting the document.
    """
    kind = PolicyKind(kind)
    doc, text = load(document)
    _check_text(text, kind, SIZE_LIMITS[kind] if max_size is None else max_size)
    for key in doc:
        if key not in _TOP:
            raise _fail(f"Unknown field {key}", str(key))
    version = doc.get("Version", VERSION_2008)
    if version not in VERSIONS:
        raise _fail("The policy must contain a valid version string", "Version")
    policy_id = doc.get("Id")
    if policy_id is not None and not isinstance(policy_id, str):
        raise _fail("Syntax errors in policy.", "Id")
    if "Statement" not in doc:
        raise _fail("Missing required field Statement")
    statements = _statements(doc["Statement"], kind, strict, variables=version == VERSION_2012)
    canonical = json.dumps(doc, sort_keys=True, separators=(",", ":"))
    digest = hashlib.sha256(canonical.encode()).hexdigest()
    return Policy(
        name=name or policy_id or f"policy-{digest[:8]}",
        kind=kind,
        version=version,
        statements=tuple(statements),
        id=policy_id,
        document=doc,
        digest=digest,
    )


def validate(
    document: str | bytes | Mapping[str, Any],
    kind: PolicyKind | str = PolicyKind.IDENTITY,
    *,
    max_size: int | None = None,
) -> list[MalformedPolicyDocument]:
    """The faults of a document (empty when valid); never raises for bad input."""
    try:
        parse_policy(document, kind, max_size=max_size)
    except MalformedPolicyDocument as exc:
        return [exc]
    return []
