"""Groups: CreateGroup, GetGroup, ListGroups, ListGroupsForUser, AddUserToGroup,
RemoveUserFromGroup, DeleteGroup (IAM API Reference). Membership changes are
authorised on the group: who may not manage a group cannot join it."""

from __future__ import annotations

from typing import Any

from . import shapes
from .call import Call
from .params import GROUP_NAME, USER_NAME, paginate
from .registry import action


def _group_name(call: Call) -> str:
    return call.params.name("GroupName", "groupName", GROUP_NAME)


@action("CreateGroup")
def create_group(call: Call) -> dict[str, Any]:
    name = _group_name(call)
    path = call.params.path()
    call.authorize(call.arn("group", name, path))
    return {"Group": shapes.group(call.repo, call.repo.create_group(name, path))}


@action("GetGroup")
def get_group(call: Call) -> dict[str, Any]:
    name = _group_name(call)
    call.authorize(call.group_arn(name))
    group, members = call.repo.get_group(name)
    page = paginate(
        members, call.params, lambda u: u.name_key, "Users", lambda u: shapes.user(call.repo, u)
    )
    return {"Group": shapes.group(call.repo, group), **page}


@action("ListGroups")
def list_groups(call: Call) -> dict[str, Any]:
    prefix = call.params.path_prefix()
    call.authorize("*")
    rows = call.repo.list_groups(prefix)
    return paginate(
        rows, call.params, lambda g: g.name_key, "Groups", lambda g: shapes.group(call.repo, g)
    )


@action("ListGroupsForUser")
def list_groups_for_user(call: Call) -> dict[str, Any]:
    name = call.params.name("UserName", "userName", USER_NAME)
    call.authorize(call.user_arn(name))
    rows = call.repo.groups_for_user(name)
    return paginate(
        rows, call.params, lambda g: g.name_key, "Groups", lambda g: shapes.group(call.repo, g)
    )


@action("AddUserToGroup")
def add_user_to_group(call: Call) -> None:
    group = _group_name(call)
    user = call.params.name("UserName", "userName", USER_NAME)
    call.authorize(call.group_arn(group))
    call.repo.add_user_to_group(group, user)


@action("RemoveUserFromGroup")
def remove_user_from_group(call: Call) -> None:
    group = _group_name(call)
    user = call.params.name("UserName", "userName", USER_NAME)
    call.authorize(call.group_arn(group))
    call.repo.remove_user_from_group(group, user)


@action("DeleteGroup")
def delete_group(call: Call) -> None:
    name = _group_name(call)
    call.authorize(call.group_arn(name))
    call.repo.delete_group(name)


@action("UpdateGroup")
def update_group(call: Call) -> None:
    name = _group_name(call)
    new_name = call.params.optional_name("NewGroupName", "newGroupName", GROUP_NAME)
    new_path = call.params.path("NewPath", "newPath") if "NewPath" in call.params.raw else None
    old_arn = call.group_arn(name)
    call.authorize(old_arn)
    if new_name or new_path:
        # IAM: a rename needs the permission on the source and on the target.
        path = new_path or old_arn.split(":group", 1)[1].rsplit("/", 1)[0] + "/"
        target = call.arn("group", new_name or name, path)
        if target != old_arn:
            call.authorize(target)
    call.repo.update_group(name, new_name, new_path)
