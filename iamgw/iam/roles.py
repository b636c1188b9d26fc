"""Roles: CreateRole, GetRole, ListRoles, UpdateRole, UpdateAssumeRolePolicy,
DeleteRole, TagRole, UntagRole, ListRoleTags (IAM API Reference). The trust
policy is validated as a resource policy of the role (a Principal is required)."""

from __future__ import annotations

from typing import Any

from iamgw.policy import PolicyKind

from . import shapes
from .call import Call
from .errors import EntityAlreadyExists
from .params import ROLE_NAME, paginate
from .policies import check_document
from .registry import action, tag_context

MIN_SESSION, MAX_SESSION = 3600, 43200


def _name(call: Call) -> str:
    return call.params.name("RoleName", "roleName", ROLE_NAME)


@action("CreateRole")
def create_role(call: Call) -> dict[str, Any]:
    p = call.params
    name = _name(call)
    path = p.path()
    trust = p.document("AssumeRolePolicyDocument", "assumeRolePolicyDocument")
    description = p.description() or ""
    duration = p.integer("MaxSessionDuration", "maxSessionDuration", MIN_SESSION, MAX_SESSION)
    boundary = p.text("PermissionsBoundary", "permissionsBoundary", min_len=20, max_len=2048)
    boundary = call.policy_arn(boundary) if boundary else boundary
    tags = p.tags()
    call.authorize(
        call.arn("role", name, path), {"iam:PermissionsBoundary": boundary, **tag_context(tags)}
    )
    check_document(trust, PolicyKind.TRUST)
    if name.lower() in call.federated_roles:
        # Policies match a session's role by name: a stored role `ldap` would be granted
        # what names every directory user's session, and its sessions theirs.
        raise EntityAlreadyExists(f"Role with name {name} already exists.")
    row = call.repo.create_role(
        name, trust, path, description, duration or MIN_SESSION, tags, permissions_boundary=boundary
    )
    return {"Role": shapes.role(call.repo, row)}


@action("GetRole")
def get_role(call: Call) -> dict[str, Any]:
    name = _name(call)
    call.authorize(call.role_arn(name))
    return {"Role": shapes.role(call.repo, call.repo.get_role(name))}


@action("ListRoles")
def list_roles(call: Call) -> dict[str, Any]:
    prefix = call.params.path_prefix()
    call.authorize("*")
    rows = call.repo.list_roles(prefix)
    # ListRoles leaves out tags and boundaries (IAM API Reference, ListRoles).
    return paginate(
        rows,
        call.params,
        lambda r: r.name_key,
        "Roles",
        lambda r: shapes.role(call.repo, r, full=False),
    )


@action("UpdateRole")
def update_role(call: Call) -> dict[str, Any]:
    name = _name(call)
    description = call.params.description()
    duration = call.params.integer(
        "MaxSessionDuration", "maxSessionDuration", MIN_SESSION, MAX_SESSION
    )
    call.authorize(call.role_arn(name))
    changes: dict[str, Any] = {}
    if description is not None:
        changes["description"] = description
    if duration is not None:
        changes["max_session_duration"] = duration
    call.repo.update_role(name, **changes)
    return {}


@action("UpdateAssumeRolePolicy")
def update_assume_role_policy(call: Call) -> None:
    name = _name(call)
    document = call.params.document("PolicyDocument", "policyDocument")
    call.authorize(call.role_arn(name))
    check_document(document, PolicyKind.TRUST)
    call.repo.update_role(name, trust_policy=document)


@action("DeleteRole")
def delete_role(call: Call) -> None:
    name = _name(call)
    call.authorize(call.role_arn(name))
    call.repo.delete_role(name)


@action("TagRole")
def tag_role(call: Call) -> None:
    name = _name(call)
    tags = call.params.tags()
    call.authorize(call.role_arn(name), tag_context(tags))
    call.repo.set_role_tags(name, tags)


@action("UntagRole")
def untag_role(call: Call) -> None:
    name = _name(call)
    keys = call.params.tag_keys()
    call.authorize(call.role_arn(name), {"aws:TagKeys": keys or None})
    call.repo.remove_role_tags(name, keys)


@action("ListRoleTags")
def list_role_tags(call: Call) -> dict[str, Any]:
    name = _name(call)
    call.authorize(call.role_arn(name))
    tags = shapes.tag_list(call.repo.get_role(name).tags)
    return paginate(tags, call.params, lambda t: t["Key"], "Tags", lambda t: t)


@action("UpdateRoleDescription")
def update_role_description(call: Call) -> dict[str, Any]:
    name = _name(call)
    description = call.params.description()
    if description is None:
        call.params.get("Description", "description", required=True)
    call.authorize(call.role_arn(name))
    row = call.repo.update_role(name, description=description)
    return {"Role": shapes.role(call.repo, row)}
