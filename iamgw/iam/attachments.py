"""Policies of users, groups and roles: managed-policy attachments, inline
policies and permissions boundaries (IAM API Reference: Attach*/Detach*/
ListAttached*Policies, Put*/Get*/Delete*/List*Policies,
Put/Delete{User,Role}PermissionsBoundary).

Condition keys, as IAM sets them: `iam:PolicyARN` on Attach*/Detach*, and
`iam:PermissionsBoundary` (the boundary given, or the one the user or role
has) on the calls that change what a user or role may do, so that a delegated
administrator can be held to "only users under this boundary".
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from iamgw.policy import PolicyKind

from . import shapes
from .call import Call
from .params import GROUP_NAME, POLICY_NAME, ROLE_NAME, USER_NAME, paginate
from .policies import check_document
from .registry import action

# IAM quotas for inline policies (characters, white space not counted).
INLINE_USER_POLICY_LIMIT, INLINE_GROUP_POLICY_LIMIT, INLINE_ROLE_POLICY_LIMIT = 2048, 5120, 10240

# kind -> (action noun, name parameter, its field, max length, inline size limit)
KINDS: dict[str, tuple[str, str, str, int, int]] = {
    "user": ("User", "UserName", "userName", USER_NAME, INLINE_USER_POLICY_LIMIT),
    "group": ("Group", "GroupName", "groupName", GROUP_NAME, INLINE_GROUP_POLICY_LIMIT),
    "role": ("Role", "RoleName", "roleName", ROLE_NAME, INLINE_ROLE_POLICY_LIMIT),
}


def _target(call: Call, kind: str) -> tuple[str, str, dict[str, Any]]:
    """The named user/group/role, its ARN and the boundary context key."""
    _, param, field, max_len, _ = KINDS[kind]
    name = call.params.name(param, field, max_len)
    arn = {"user": call.user_arn, "group": call.group_arn, "role": call.role_arn}[kind](name)
    ctx: dict[str, Any] = {}
    if kind != "group":
        ctx["iam:PermissionsBoundary"] = call.boundary_of(kind, name)
    return name, arn, ctx


def attach(call: Call, kind: str) -> None:
    policy_arn = call.policy_arn(call.params.arn("PolicyArn", "policyArn"))
    name, arn, ctx = _target(call, kind)
    call.authorize(arn, {**ctx, "iam:PolicyARN": policy_arn})
    call.repo.attach_policy(kind, name, policy_arn)


def detach(call: Call, kind: str) -> None:
    policy_arn = call.policy_arn(call.params.arn("PolicyArn", "policyArn"))
    name, arn, ctx = _target(call, kind)
    call.authorize(arn, {**ctx, "iam:PolicyARN": policy_arn})
    call.repo.detach_policy(kind, name, policy_arn)


def list_attached(call: Call, kind: str) -> dict[str, Any]:
    prefix = call.params.path_prefix()
    name, arn, _ = _target(call, kind)
    call.authorize(arn)
    prefix_arn = f"arn:aws:iam::{call.account}:policy{prefix}"
    arns = [
        a
        for a in call.repo.attached_policies(kind, name)
        if a.startswith(prefix_arn) or not a.startswith(f"arn:aws:iam::{call.account}:")
    ]
    return paginate(
        arns,
        call.params,
        lambda a: a,
        "AttachedPolicies",
        lambda a: {"PolicyName": a.rsplit("/", 1)[-1], "PolicyArn": a},
    )


def put_inline(call: Call, kind: str) -> None:
    policy_name = call.params.name("PolicyName", "policyName", POLICY_NAME)
    document = call.params.document("PolicyDocument", "policyDocument")
    name, arn, ctx = _target(call, kind)
    call.authorize(arn, ctx)
    check_document(document, PolicyKind.IDENTITY, max_size=KINDS[kind][4])
    call.repo.put_inline_policy(kind, name, policy_name, document)


def get_inline(call: Call, kind: str) -> dict[str, Any]:
    policy_name = call.params.name("PolicyName", "policyName", POLICY_NAME)
    name, arn, _ = _target(call, kind)
    call.authorize(arn)
    document = call.repo.get_inline_policy(kind, name, policy_name)
    return {
        KINDS[kind][1]: _canonical_name(call, kind, name),
        "PolicyName": policy_name,
        "PolicyDocument": shapes.encode_document(document),
    }


def delete_inline(call: Call, kind: str) -> None:
    policy_name = call.params.name("PolicyName", "policyName", POLICY_NAME)
    name, arn, ctx = _target(call, kind)
    call.authorize(arn, ctx)
    call.repo.delete_inline_policy(kind, name, policy_name)


def list_inline(call: Call, kind: str) -> dict[str, Any]:
    name, arn, _ = _target(call, kind)
    call.authorize(arn)
    names = sorted(call.repo.inline_policies(kind, name))
    return paginate(names, call.params, lambda n: n, "PolicyNames", lambda n: n)


def put_boundary(call: Call, kind: str) -> None:
    boundary = call.policy_arn(call.params.arn("PermissionsBoundary", "permissionsBoundary"))
    name, arn, _ = _target(call, kind)
    call.authorize(arn, {"iam:PermissionsBoundary": boundary})
    call.repo.set_permissions_boundary(kind, name, boundary)


def delete_boundary(call: Call, kind: str) -> None:
    name, arn, ctx = _target(call, kind)
    call.authorize(arn, ctx)
    call.repo.set_permissions_boundary(kind, name, None)


def _canonical_name(call: Call, kind: str, name: str) -> str:
    if kind == "user":
        return str(call.repo.get_user(name).name)
    if kind == "group":
        return str(call.repo.get_group(name)[0].name)
    return str(call.repo.get_role(name).name)


# Every action of this module by its name, and the kind of entity it acts on.
_ACTIONS: dict[str, tuple[Callable[[Call, str], Any], str]] = {
    "AttachUserPolicy": (attach, "user"),
    "AttachGroupPolicy": (attach, "group"),
    "AttachRolePolicy": (attach, "role"),
    "DetachUserPolicy": (detach, "user"),
    "DetachGroupPolicy": (detach, "group"),
    "DetachRolePolicy": (detach, "role"),
    "ListAttachedUserPolicies": (list_attached, "user"),
    "ListAttachedGroupPolicies": (list_attached, "group"),
    "ListAttachedRolePolicies": (list_attached, "role"),
    "PutUserPolicy": (put_inline, "user"),
    "PutGroupPolicy": (put_inline, "group"),
    "PutRolePolicy": (put_inline, "role"),
    "GetUserPolicy": (get_inline, "user"),
    "GetGroupPolicy": (get_inline, "group"),
    "GetRolePolicy": (get_inline, "role"),
    "DeleteUserPolicy": (delete_inline, "user"),
    "DeleteGroupPolicy": (delete_inline, "group"),
    "DeleteRolePolicy": (delete_inline, "role"),
    "ListUserPolicies": (list_inline, "user"),
    "ListGroupPolicies": (list_inline, "group"),
    "ListRolePolicies": (list_inline, "role"),
    "PutUserPermissionsBoundary": (put_boundary, "user"),
    "PutRolePermissionsBoundary": (put_boundary, "role"),
    "DeleteUserPermissionsBoundary": (delete_boundary, "user"),
    "DeleteRolePermissionsBoundary": (delete_boundary, "role"),
}
for _name, (_handler, _kind) in _ACTIONS.items():
    action(_name)(functools.partial(_handler, kind=_kind))
