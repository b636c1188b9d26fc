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


def _register(kind: str) -> None:
    noun, param, _, _, inline_limit = KINDS[kind]

    @action(f"Attach{noun}Policy")
    def attach(call: Call) -> None:
        policy_arn = call.params.arn("PolicyArn", "policyArn")
        name, arn, ctx = _target(call, kind)
        call.authorize(arn, {**ctx, "iam:PolicyARN": policy_arn})
        call.repo.attach_policy(kind, name, policy_arn)

    @action(f"Detach{noun}Policy")
    def detach(call: Call) -> None:
        policy_arn = call.params.arn("PolicyArn", "policyArn")
        name, arn, ctx = _target(call, kind)
        call.authorize(arn, {**ctx, "iam:PolicyARN": policy_arn})
        call.repo.detach_policy(kind, name, policy_arn)

    @action(f"ListAttached{noun}Policies")
    def list_attached(call: Call) -> dict[str, Any]:
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

    @action(f"Put{noun}Policy")
    def put_inline(call: Call) -> None:
        policy_name = call.params.name("PolicyName", "policyName", POLICY_NAME)
        document = call.params.document("PolicyDocument", "policyDocument")
        name, arn, ctx = _target(call, kind)
        call.authorize(arn, ctx)
        check_document(document, PolicyKind.IDENTITY, max_size=inline_limit)
        call.repo.put_inline_policy(kind, name, policy_name, document)

    @action(f"Get{noun}Policy")
    def get_inline(call: Call) -> dict[str, Any]:
        policy_name = call.params.name("PolicyName", "policyName", POLICY_NAME)
        name, arn, _ = _target(call, kind)
        call.authorize(arn)
        document = call.repo.get_inline_policy(kind, name, policy_name)
        row_name = _canonical_name(call, kind, name)
        return {
            param: row_name,
            "PolicyName": policy_name,
            "PolicyDocument": shapes.encode_document(document),
        }

    @action(f"Delete{noun}Policy")
    def delete_inline(call: Call) -> None:
        policy_name = call.params.name("PolicyName", "policyName", POLICY_NAME)
        name, arn, ctx = _target(call, kind)
        call.authorize(arn, ctx)
        call.repo.delete_inline_policy(kind, name, policy_name)

    @action(f"List{noun}Policies")
    def list_inline(call: Call) -> dict[str, Any]:
        name, arn, _ = _target(call, kind)
        call.authorize(arn)
        names = sorted(call.repo.inline_policies(kind, name))
        return paginate(names, call.params, lambda n: n, "PolicyNames", lambda n: n)

    if kind == "group":
        return

    @action(f"Put{noun}PermissionsBoundary")
    def put_boundary(call: Call) -> None:
        boundary = call.params.arn("PermissionsBoundary", "permissionsBoundary")
        name, arn, _ = _target(call, kind)
        call.authorize(arn, {"iam:PermissionsBoundary": boundary})
        call.repo.set_permissions_boundary(kind, name, boundary)

    @action(f"Delete{noun}PermissionsBoundary")
    def delete_boundary(call: Call) -> None:
        name, arn, ctx = _target(call, kind)
        call.authorize(arn, ctx)
        call.repo.set_permissions_boundary(kind, name, None)


def _canonical_name(call: Call, kind: str, name: str) -> str:
    if kind == "user":
        return str(call.repo.get_user(name).name)
    if kind == "group":
        return str(call.repo.get_group(name)[0].name)
    return str(call.repo.get_role(name).name)


for _kind in KINDS:
    _register(_kind)
