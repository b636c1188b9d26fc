"""Managed policies and their versions: CreatePolicy, GetPolicy, ListPolicies,
DeletePolicy, CreatePolicyVersion, GetPolicyVersion, ListPolicyVersions,
SetDefaultPolicyVersion, DeletePolicyVersion (IAM API Reference).

The canned policies of `policies/` are the AWS-managed policies of iamgw:
`ListPolicies --scope AWS` lists them, `--scope Local` the ones created here.
"""

from __future__ import annotations

from typing import Any

from iamgw.identity import normalise_dn
from iamgw.policy import MalformedPolicyDocument, Policy, PolicyKind, parse_policy

from . import shapes
from .call import Call
from .errors import from_policy
from .params import POLICY_NAME, paginate
from .registry import action, tag_context


def check_document(
    text: str, kind: PolicyKind = PolicyKind.IDENTITY, max_size: int | None = None
) -> str:
    """The document if IAM would accept it; MalformedPolicyDocument (with the path) if not."""
    try:
        policy = parse_policy(text, kind, max_size=max_size)
        _check_ldap_dns(policy)
    except MalformedPolicyDocument as exc:
        raise from_policy(exc) from None
    return text


_LDAP_DN_KEYS = frozenset({"ldap:user", "ldap:groups"})


def _check_ldap_dns(policy: Policy) -> None:
    """Sessions carry `ldap:user` and `ldap:groups` as normalised DNs (RFC 4514, lower
    case): a condition value written otherwise would never match, and a Deny on it would
    silently fail open, so it is refused with the form that matches."""
    for i, statement in enumerate(policy.statements):
        conditions = statement.source.get("Condition")
        for operator, block in (conditions if isinstance(conditions, dict) else {}).items():
            for key, values in block.items():
                if key.lower() not in _LDAP_DN_KEYS:
                    continue
                for value in [values] if isinstance(values, str) else values:
                    if not isinstance(value, str) or any(c in value for c in "*?$"):
                        continue  # a pattern or a variable: matched as written
                    try:
                        normal = normalise_dn(value)
                    except (ValueError, RuntimeError):  # not a DN, or no python-ldap here
                        continue
                    if normal != value:
                        path = f"Statement[{i}].Condition.{operator}.{key}"
                        raise MalformedPolicyDocument(
                            f"{key} values are DNs in normalised form: write {value!r} "
                            f"as {normal!r}.",
                            path,
                        )


def _arn(call: Call) -> str:
    return call.policy_arn(call.params.arn("PolicyArn", "policyArn"))


@action("CreatePolicy")
def create_policy(call: Call) -> dict[str, Any]:
    p = call.params
    name = p.name("PolicyName", "policyName", POLICY_NAME)
    path = p.path()
    document = p.document("PolicyDocument", "policyDocument")
    description = p.description() or ""
    tags = p.tags()
    call.authorize(f"arn:aws:iam::{call.account}:policy{path}{name}", tag_context(tags))
    check_document(document)
    row = call.repo.create_policy(name, document, path, description, tags=tags)
    return {"Policy": {**shapes.policy(call.repo, row), "Tags": shapes.tag_list(tags) or None}}


@action("GetPolicy")
def get_policy(call: Call) -> dict[str, Any]:
    arn = _arn(call)
    call.authorize(arn)
    row = call.repo.get_policy(arn)
    usage = call.repo.policy_usage().get(call.repo.policy_arn(row), (0, 0))
    policy = shapes.policy(call.repo, row, usage, description=True)
    return {"Policy": {**policy, "Tags": shapes.tag_list(row.tags) or None}}


@action("ListPolicies")
def list_policies(call: Call) -> dict[str, Any]:
    p = call.params
    scope = p.choice("Scope", "scope", ("All", "AWS", "Local"), "All")
    only_attached = p.boolean("OnlyAttached")
    prefix = p.path_prefix()
    call.authorize("*")
    rows = call.repo.list_policies(prefix, only_attached)
    if scope != "All":
        canned = scope == "AWS"
        rows = [r for r in rows if (r.source == "canned") == canned]
    usage = call.repo.policy_usage()
    return paginate(
        rows,
        p,
        lambda r: r.name_key,
        "Policies",
        lambda r: shapes.policy(call.repo, r, usage.get(call.repo.policy_arn(r), (0, 0))),
    )


@action("DeletePolicy")
def delete_policy(call: Call) -> None:
    arn = _arn(call)
    call.authorize(arn)
    call.repo.delete_policy(arn)


@action("CreatePolicyVersion")
def create_policy_version(call: Call) -> dict[str, Any]:
    arn = _arn(call)
    document = call.params.document("PolicyDocument", "policyDocument")
    set_default = call.params.boolean("SetAsDefault")
    call.authorize(arn)
    check_document(document)
    row = call.repo.create_policy_version(arn, document, set_default)
    default = row.version_id if set_default else call.repo.get_policy(arn).default_version
    return {"PolicyVersion": shapes.policy_version(row, default)}


@action("GetPolicyVersion")
def get_policy_version(call: Call) -> dict[str, Any]:
    arn = _arn(call)
    version_id = call.params.version_id()
    call.authorize(arn)
    policy = call.repo.get_policy(arn)
    row = next((v for v in call.repo.list_policy_versions(arn) if v.version_id == version_id), None)
    if row is None:
        call.repo.policy_document(arn, version_id)  # raises NoSuchEntity with IAM's words
    return {"PolicyVersion": shapes.policy_version(row, policy.default_version, document=True)}


@action("ListPolicyVersions")
def list_policy_versions(call: Call) -> dict[str, Any]:
    arn = _arn(call)
    call.authorize(arn)
    policy = call.repo.get_policy(arn)
    rows = call.repo.list_policy_versions(arn)
    # Newest first, as IAM lists them: the marker key runs the other way.
    return paginate(
        rows,
        call.params,
        lambda v: f"{10**12 - int(v.version_id[1:]):013d}",
        "Versions",
        lambda v: shapes.policy_version(v, policy.default_version),
    )


@action("SetDefaultPolicyVersion")
def set_default_policy_version(call: Call) -> None:
    arn = _arn(call)
    version_id = call.params.version_id()
    call.authorize(arn)
    call.repo.set_default_policy_version(arn, version_id)


@action("DeletePolicyVersion")
def delete_policy_version(call: Call) -> None:
    arn = _arn(call)
    version_id = call.params.version_id()
    call.authorize(arn)
    call.repo.delete_policy_version(arn, version_id)


@action("ListEntitiesForPolicy")
def list_entities_for_policy(call: Call) -> dict[str, Any]:
    p = call.params
    arn = _arn(call)
    entity_filter = p.choice(
        "EntityFilter",
        "entityFilter",
        ("User", "Role", "Group", "LocalManagedPolicy", "AWSManagedPolicy"),
        "",
    )
    prefix = p.path_prefix()
    call.authorize(arn)
    entities = [e for e in call.repo.policy_entities(arn) if e.path.startswith(prefix)]
    out: dict[str, list[dict[str, str]]] = {
        "PolicyGroups": [],
        "PolicyUsers": [],
        "PolicyRoles": [],
    }
    for entity in sorted(entities, key=lambda e: e.name_key):
        kind = type(entity).__name__  # User, Group or Role
        if entity_filter in ("", kind):
            out[f"Policy{kind}s"].append(
                {f"{kind}Name": entity.name, f"{kind}Id": getattr(entity, f"{kind.lower()}_id")}
            )
    return {**out, "IsTruncated": False}


@action("TagPolicy")
def tag_policy(call: Call) -> None:
    arn = _arn(call)
    tags = call.params.tags()
    call.authorize(arn, tag_context(tags))
    call.repo.set_policy_tags(arn, tags)


@action("UntagPolicy")
def untag_policy(call: Call) -> None:
    arn = _arn(call)
    keys = call.params.tag_keys()
    call.authorize(arn, {"aws:TagKeys": keys or None})
    call.repo.remove_policy_tags(arn, keys)


@action("ListPolicyTags")
def list_policy_tags(call: Call) -> dict[str, Any]:
    arn = _arn(call)
    call.authorize(arn)
    tags = shapes.tag_list(call.repo.get_policy(arn).tags)
    return paginate(tags, call.params, lambda t: t["Key"], "Tags", lambda t: t)
