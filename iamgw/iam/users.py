"""Users: CreateUser, GetUser, ListUsers, UpdateUser, DeleteUser, TagUser, UntagUser,
ListUserTags (IAM API Reference)."""

from __future__ import annotations

from typing import Any

from . import shapes
from .call import Call
from .params import USER_NAME, paginate
from .registry import action, tag_context


@action("CreateUser")
def create_user(call: Call) -> dict[str, Any]:
    p = call.params
    name = p.name("UserName", "userName", USER_NAME)
    path = p.path()
    boundary = p.text("PermissionsBoundary", "permissionsBoundary", min_len=20, max_len=2048)
    boundary = call.policy_arn(boundary) if boundary else boundary
    tags = p.tags()
    call.authorize(
        call.arn("user", name, path), {"iam:PermissionsBoundary": boundary, **tag_context(tags)}
    )
    row = call.repo.create_user(name, path, tags, permissions_boundary=boundary)
    return {"User": shapes.user(call.repo, row, full=True)}


@action("GetUser")
def get_user(call: Call) -> dict[str, Any]:
    name = call.params.optional_name("UserName", "userName", USER_NAME)
    if name is None and call.identity.is_root:
        # IAM answers the root user for a call with the account's root credentials.
        return {
            "User": {
                "UserId": call.account,
                "Arn": f"arn:aws:iam::{call.account}:root",
                "CreateDate": None,
            }
        }
    name = call.caller_user(name)
    call.authorize(call.user_arn(name))
    return {"User": shapes.user(call.repo, call.repo.get_user(name), full=True)}


@action("ListUsers")
def list_users(call: Call) -> dict[str, Any]:
    prefix = call.params.path_prefix()
    call.authorize("*")
    rows = call.repo.list_users(prefix)
    return paginate(
        rows, call.params, lambda r: r.name_key, "Users", lambda r: shapes.user(call.repo, r)
    )


@action("UpdateUser")
def update_user(call: Call) -> None:
    p = call.params
    name = p.name("UserName", "userName", USER_NAME)
    new_name = p.optional_name("NewUserName", "newUserName", USER_NAME)
    new_path = p.path("NewPath", "newPath") if "NewPath" in p.raw else None
    old_arn = call.user_arn(name)
    call.authorize(old_arn)
    if new_name or new_path:
        # IAM: renaming needs the permission on the source and on the target.
        path = new_path or old_arn.split(":user", 1)[1].rsplit("/", 1)[0] + "/"
        target = call.arn("user", new_name or name, path)
        if target != old_arn:
            call.authorize(target)
    call.repo.update_user(name, new_name, new_path)


@action("DeleteUser")
def delete_user(call: Call) -> None:
    name = call.params.name("UserName", "userName", USER_NAME)
    call.authorize(call.user_arn(name))
    call.repo.delete_user(name)


@action("TagUser")
def tag_user(call: Call) -> None:
    name = call.params.name("UserName", "userName", USER_NAME)
    tags = call.params.tags()
    call.authorize(call.user_arn(name), tag_context(tags))
    call.repo.set_user_tags(name, tags)


@action("UntagUser")
def untag_user(call: Call) -> None:
    name = call.params.name("UserName", "userName", USER_NAME)
    keys = call.params.tag_keys()
    call.authorize(call.user_arn(name), {"aws:TagKeys": keys or None})
    call.repo.remove_user_tags(name, keys)


@action("ListUserTags")
def list_user_tags(call: Call) -> dict[str, Any]:
    name = call.params.name("UserName", "userName", USER_NAME)
    call.authorize(call.user_arn(name))
    tags = shapes.tag_list(call.repo.get_user(name).tags)
    return paginate(tags, call.params, lambda t: t["Key"], "Tags", lambda t: t)
