"""Access keys: CreateAccessKey, ListAccessKeys, UpdateAccessKey, DeleteAccessKey,
GetAccessKeyLastUsed (IAM API Reference). A status change or a deletion takes
effect on the next request: the store generation drops every cached identity."""

from __future__ import annotations

from typing import Any

from . import shapes
from .call import Call
from .params import USER_NAME, paginate
from .registry import action


def _user(call: Call) -> str:
    return call.caller_user(call.params.optional_name("UserName", "userName", USER_NAME))


@action("CreateAccessKey")
def create_access_key(call: Call) -> dict[str, Any]:
    name = _user(call)
    call.authorize(call.user_arn(name))
    row, secret = call.repo.create_access_key(name)
    return {"AccessKey": shapes.access_key(row, secret)}


@action("ListAccessKeys")
def list_access_keys(call: Call) -> dict[str, Any]:
    name = _user(call)
    call.authorize(call.user_arn(name))
    rows = call.repo.list_access_keys(name)
    return paginate(
        rows, call.params, lambda r: r.access_key_id, "AccessKeyMetadata", shapes.access_key
    )


@action("UpdateAccessKey")
def update_access_key(call: Call) -> None:
    name = _user(call)
    key_id = call.params.access_key_id()
    status = call.params.choice("Status", "status", ("Active", "Inactive"), "")
    if not status:
        call.params.get("Status", "status", required=True)
    call.authorize(call.user_arn(name))
    call.repo.update_access_key(name, key_id, status)


@action("DeleteAccessKey")
def delete_access_key(call: Call) -> None:
    name = _user(call)
    key_id = call.params.access_key_id()
    call.authorize(call.user_arn(name))
    call.repo.delete_access_key(name, key_id)


@action("GetAccessKeyLastUsed")
def get_access_key_last_used(call: Call) -> dict[str, Any]:
    key_id = call.params.access_key_id()
    row = call.repo.access_key_owner(key_id)
    call.authorize(call.user_arn(row.user_name))
    used = {"LastUsedDate": shapes.when(row.last_used)} if row.last_used else {}
    return {
        "UserName": row.user_name,
        "AccessKeyLastUsed": {
            **used,
            "ServiceName": row.last_used_service or "N/A",
            "Region": row.last_used_region or "N/A",
        },
    }
