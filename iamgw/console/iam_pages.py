"""Read views of IAM in the console: users, groups, roles and managed policies, each a
list (`/iamgw/users`) and one entity (`/iamgw/users?name=NAME`, `/iamgw/policies?arn=ARN`),
and the policy simulator (`iam_simulate`).

Every figure on these pages comes from an IAM action run for the signed-in identity
(`iam_calls`), so a page shows exactly what its holder's policies let the aws cli show:
the call that makes the page (ListUsers, GetRole...) refused is a page that says so
("Access denied: iam:ListUsers"); a call for one part of it refused, a note in that part.
Access keys are listed by id and status: IAM never answers a secret after creation.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from . import iam_simulate
from .iam_calls import ALL, Refused, attempt, call, document, page, refused_page
from .signed import Signed

SCOPES = {"All": "All", "AWS": "Canned", "Local": "Created here"}


def _listing(request: Request, **params: str) -> dict[str, str]:
    marker = request.query_params.get("marker")
    return {**params, **({"Marker": marker} if marker else {})}


async def users(request: Request, signed: Signed) -> Response:
    name = request.query_params.get("name")
    try:
        if name:
            return await _user(request, signed, name)
        found = await call(request, signed, "ListUsers", _listing(request))
    except Refused as refused:
        return await refused_page(request, signed, refused.refusal)
    return await page(
        request, signed, "iam_users.html", users=found["Users"], marker=found.get("Marker")
    )


async def groups(request: Request, signed: Signed) -> Response:
    name = request.query_params.get("name")
    try:
        if name:
            return await _group(request, signed, name)
        found = await call(request, signed, "ListGroups", _listing(request))
    except Refused as refused:
        return await refused_page(request, signed, refused.refusal)
    return await page(
        request, signed, "iam_groups.html", group_rows=found["Groups"], marker=found.get("Marker")
    )


async def roles(request: Request, signed: Signed) -> Response:
    name = request.query_params.get("name")
    try:
        if name:
            return await _role(request, signed, name)
        found = await call(request, signed, "ListRoles", _listing(request))
    except Refused as refused:
        return await refused_page(request, signed, refused.refusal)
    return await page(
        request, signed, "iam_roles.html", roles=found["Roles"], marker=found.get("Marker")
    )


async def policies(request: Request, signed: Signed) -> Response:
    arn = request.query_params.get("arn")
    scope = request.query_params.get("scope", "All")
    scope = scope if scope in SCOPES else "All"
    try:
        if arn:
            return await _policy(request, signed, arn)
        found = await call(request, signed, "ListPolicies", _listing(request, Scope=scope))
    except Refused as refused:
        return await refused_page(request, signed, refused.refusal)
    return await page(
        request,
        signed,
        "iam_policies.html",
        policy_rows=found["Policies"],
        marker=found.get("Marker"),
        scope=scope,
        scopes=SCOPES,
    )


async def _user(request: Request, signed: Signed, name: str) -> Response:
    user = (await call(request, signed, "GetUser", {"UserName": name}))["User"]
    name = user["UserName"]  # as the store spells it
    member_of, groups_refusal = await attempt(
        request, signed, "ListGroupsForUser", {"UserName": name, "MaxItems": ALL}
    )
    keys, keys_refusal = await attempt(
        request, signed, "ListAccessKeys", {"UserName": name, "MaxItems": ALL}
    )
    access_keys = []
    for key in keys.get("AccessKeyMetadata", []):
        used, _ = await attempt(
            request, signed, "GetAccessKeyLastUsed", {"AccessKeyId": key["AccessKeyId"]}
        )
        # Never the secret: IAM answers it only to CreateAccessKey, and none is kept here.
        access_keys.append(
            {
                "id": key["AccessKeyId"],
                "status": key["Status"],
                "created": key["CreateDate"],
                "last_used": used.get("AccessKeyLastUsed", {}).get("LastUsedDate"),
                "service": used.get("AccessKeyLastUsed", {}).get("ServiceName"),
            }
        )
    return await page(
        request,
        signed,
        "iam_user.html",
        user=user,
        boundary=(user.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
        tags=user.get("Tags") or [],
        member_of=member_of.get("Groups", []),
        groups_refusal=groups_refusal,
        access_keys=access_keys,
        keys_refusal=keys_refusal,
        owned=await _policies_of(request, signed, "User", name),
    )


async def _group(request: Request, signed: Signed, name: str) -> Response:
    found = await call(request, signed, "GetGroup", {"GroupName": name, "MaxItems": ALL})
    group = found["Group"]
    return await page(
        request,
        signed,
        "iam_group.html",
        group=group,
        members=found.get("Users", []),
        owned=await _policies_of(request, signed, "Group", group["GroupName"]),
    )


async def _role(request: Request, signed: Signed, name: str) -> Response:
    role = (await call(request, signed, "GetRole", {"RoleName": name}))["Role"]
    return await page(
        request,
        signed,
        "iam_role.html",
        role=role,
        trust=document(role.get("AssumeRolePolicyDocument")),
        boundary=(role.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn"),
        tags=role.get("Tags") or [],
        owned=await _policies_of(request, signed, "Role", role["RoleName"]),
    )


async def _policy(request: Request, signed: Signed, arn: str) -> Response:
    policy = (await call(request, signed, "GetPolicy", {"PolicyArn": arn}))["Policy"]
    arn = policy["Arn"]
    version_id = request.query_params.get("version") or policy["DefaultVersionId"]
    shown, version_refusal = await attempt(
        request, signed, "GetPolicyVersion", {"PolicyArn": arn, "VersionId": version_id}
    )
    versions, versions_refusal = await attempt(
        request, signed, "ListPolicyVersions", {"PolicyArn": arn, "MaxItems": ALL}
    )
    entities, entities_refusal = await attempt(
        request, signed, "ListEntitiesForPolicy", {"PolicyArn": arn}
    )
    return await page(
        request,
        signed,
        "iam_policy.html",
        policy=policy,
        version_id=version_id,
        version=shown.get("PolicyVersion"),
        document=document((shown.get("PolicyVersion") or {}).get("Document")),
        version_refusal=version_refusal,
        versions=versions.get("Versions", []),
        versions_refusal=versions_refusal,
        entities=entities,
        entities_refusal=entities_refusal,
    )


async def _policies_of(request: Request, signed: Signed, noun: str, name: str) -> dict[str, Any]:
    """The attached and inline policies of a user, group or role (`noun`), each inline
    policy with its document."""
    key = {f"{noun}Name": name}
    attached, attached_refusal = await attempt(
        request, signed, f"ListAttached{noun}Policies", {**key, "MaxItems": ALL}
    )
    names, inline_refusal = await attempt(
        request, signed, f"List{noun}Policies", {**key, "MaxItems": ALL}
    )
    inline = []
    for policy_name in names.get("PolicyNames", []):
        got, refusal = await attempt(
            request, signed, f"Get{noun}Policy", {**key, "PolicyName": policy_name}
        )
        inline.append(
            {
                "name": policy_name,
                "document": document(got.get("PolicyDocument")),
                "refusal": refusal,
            }
        )
    return {
        "attached": attached.get("AttachedPolicies", []),
        "attached_refusal": attached_refusal,
        "inline": inline,
        "inline_refusal": inline_refusal,
    }


ROUTES = {
    ("GET", "/iamgw/users"): users,
    ("GET", "/iamgw/groups"): groups,
    ("GET", "/iamgw/roles"): roles,
    ("GET", "/iamgw/policies"): policies,
    **iam_simulate.ROUTES,
}
NAV = [
    ("Users", "/iamgw/users"),
    ("Groups", "/iamgw/groups"),
    ("Roles", "/iamgw/roles"),
    ("Policies", "/iamgw/policies"),
    *iam_simulate.NAV,
]
