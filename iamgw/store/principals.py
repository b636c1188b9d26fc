"""What users, groups and roles share: lookup by name, the rows that name them, renames
and the conditions under which IAM refuses to delete them."""

from __future__ import annotations

from typing import Any, TypeVar

from sqlalchemy import update
from sqlmodel import Session, select

from .base import count, one
from .errors import DeleteConflict, EntityAlreadyExists, InvalidInput
from .tables import AccessKey, Group, GroupMembership, InlinePolicy, PolicyAttachment, Role, User

Principal = TypeVar("Principal", User, Group, Role)
_MODELS: dict[str, type[User | Group | Role]] = {"user": User, "group": Group, "role": Role}


def named(s: Session, model: type[Principal], account_id: str, name: str) -> Principal:
    """The user, group or role called `name` (IAM compares names case-insensitively)."""
    return one(
        s,
        model,
        f"{model.__name__.lower()} with name {name}",
        model.account_id == account_id,
        model.name_key == name.lower(),
    )


def principal_row(s: Session, account_id: str, ptype: str, name: str) -> User | Group | Role:
    """`named` for a principal type given as `user`, `group` or `role`."""
    model = _MODELS.get(ptype)
    if model is None:
        raise InvalidInput(f"unknown principal type {ptype}")
    return named(s, model, account_id, name)  # type: ignore[type-var]


def principal_is(model: Any, ptype: str, name: str) -> Any:
    """The condition on an attachment or inline policy row that it belongs to the principal."""
    return (model.principal_type == ptype) & (model.principal_name == name)


def rename(s: Session, account_id: str, row: User | Group, new_name: str) -> None:
    """Rename a user or group; the rows that name it follow, in the same transaction."""
    model, ptype = type(row), type(row).__name__.lower()
    clash = s.exec(
        select(model.id).where(
            model.account_id == account_id,
            model.name_key == new_name.lower(),
            model.id != row.id,
        )
    ).first()
    if clash is not None:
        raise EntityAlreadyExists(f"{model.__name__} with name {new_name} already exists.")
    old = row.name
    row.name, row.name_key = new_name, new_name.lower()
    if ptype == "user":
        s.exec(
            update(AccessKey)
            .where(AccessKey.account_id == account_id, AccessKey.user_name == old)
            .values(user_name=new_name)
        )
    member = f"{ptype}_name"  # GroupMembership.user_name or .group_name
    s.exec(
        update(GroupMembership)
        .where(GroupMembership.account_id == account_id, getattr(GroupMembership, member) == old)
        .values({member: new_name})
    )
    for table in (InlinePolicy, PolicyAttachment):
        s.exec(
            update(table)
            .where(table.account_id == account_id, principal_is(table, ptype, old))
            .values(principal_name=new_name)
        )


def refuse_delete_if_held(
    s: Session, account_id: str, row: User | Group | Role, *held: tuple[str, Any, Any]
) -> None:
    """DeleteConflict while the principal still has any of `held` (what, table, condition),
    attached policies or inline policies: IAM deletes no principal that holds any."""
    ptype = type(row).__name__.lower()
    for what, table, where in (
        *held,
        ("attached policies", PolicyAttachment, principal_is(PolicyAttachment, ptype, row.name)),
        ("inline policies", InlinePolicy, principal_is(InlinePolicy, ptype, row.name)),
    ):
        if count(s, table, table.account_id == account_id, where):
            raise DeleteConflict(f"Cannot delete entity, must remove {what} first.")
