"""Store rows -> the result structures of the IAM API Reference's data types.

Dicts keep the order AWS answers in; `iamgw.queryapi.xml_element` turns them
into XML (lists become `<member>` items). Policy documents are URL-encoded, as
IAM returns them (botocore decodes them again).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote

from iamgw.store import Repository


def when(value: datetime | None) -> datetime | None:
    # SQLite gives naive datetimes back: they were written in UTC.
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def encode_document(document: str) -> str:
    return quote(document, safe="")


def tag_list(tags: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def boundary(arn: str | None) -> dict[str, str] | None:
    if not arn:
        return None
    return {"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": arn}


def user(repo: Repository, row: Any, *, full: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": row.path,
        "UserName": row.name,
        "UserId": row.user_id,
        "Arn": f"arn:aws:iam::{repo.account_id}:user{row.path}{row.name}",
        "CreateDate": when(row.created),
    }
    if full:
        out["PermissionsBoundary"] = boundary(row.permissions_boundary)
        out["Tags"] = tag_list(row.tags) or None
    return out


def group(repo: Repository, row: Any) -> dict[str, Any]:
    return {
        "Path": row.path,
        "GroupName": row.name,
        "GroupId": row.group_id,
        "Arn": f"arn:aws:iam::{repo.account_id}:group{row.path}{row.name}",
        "CreateDate": when(row.created),
    }


def role(repo: Repository, row: Any, *, full: bool = True) -> dict[str, Any]:
    out: dict[str, Any] = {
        "Path": row.path,
        "RoleName": row.name,
        "RoleId": row.role_id,
        "Arn": f"arn:aws:iam::{repo.account_id}:role{row.path}{row.name}",
        "CreateDate": when(row.created),
        "AssumeRolePolicyDocument": encode_document(row.trust_policy),
        "Description": row.description or None,
        "MaxSessionDuration": row.max_session_duration,
    }
    if full:
        out["PermissionsBoundary"] = boundary(row.permissions_boundary)
        out["Tags"] = tag_list(row.tags) or None
    return out


def policy(
    repo: Repository, row: Any, usage: tuple[int, int] = (0, 0), *, description: bool = False
) -> dict[str, Any]:
    return {
        "PolicyName": row.name,
        "PolicyId": row.policy_id,
        "Arn": repo.policy_arn(row),
        "Path": row.path,
        "DefaultVersionId": row.default_version,
        "AttachmentCount": usage[0],
        "PermissionsBoundaryUsageCount": usage[1],
        "IsAttachable": True,
        "Description": (row.description or None) if description else None,
        "CreateDate": when(row.created),
        "UpdateDate": when(row.updated),
    }


def policy_version(row: Any, default: str, *, document: bool = False) -> dict[str, Any]:
    return {
        "Document": encode_document(row.document) if document else None,
        "VersionId": row.version_id,
        "IsDefaultVersion": row.version_id == default,
        "CreateDate": when(row.created),
    }


def access_key(row: Any, secret: str | None = None) -> dict[str, Any]:
    return {
        "UserName": row.user_name,
        "AccessKeyId": row.access_key_id,
        "Status": row.status,
        "SecretAccessKey": secret,
        "CreateDate": when(row.created),
    }
