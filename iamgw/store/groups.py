"""IAM groups and their members."""

from __future__ import annotations

from typing import TypeVar

from sqlmodel import Session, col, select

from .base import RepositoryBase, new_id
from .errors import NoSuchEntity
from .principals import named, refuse_delete_if_held, rename
from .tables import Group, GroupMembership, User

Member = TypeVar("Member", User, Group)


class Groups(RepositoryBase):
    def create_group(self, name: str, path: str = "/") -> Group:
        group = Group(
            account_id=self.account_id,
            name=name,
            name_key=name.lower(),
            path=path,
            group_id=new_id("AGPA"),
        )
        with self._write() as s:
            s.add(group)
            s.flush_unique(f"Group with name {name} already exists.")
        return group

    def get_group(self, name: str) -> tuple[Group, list[User]]:
        with self._read() as s:
            group = named(s, Group, self.account_id, name)
            return group, _joined(s, User, group)

    def list_groups(self, path_prefix: str = "/") -> list[Group]:
        with self._read() as s:
            stmt = select(Group).where(
                Group.account_id == self.account_id, col(Group.path).startswith(path_prefix)
            )
            return list(s.exec(stmt.order_by(Group.name_key)))

    def groups_for_user(self, user_name: str) -> list[Group]:
        with self._read() as s:
            user = named(s, User, self.account_id, user_name)
            return _joined(s, Group, user)

    def add_user_to_group(self, group_name: str, user_name: str) -> None:
        with self._write() as s:
            group = named(s, Group, self.account_id, group_name)
            user = named(s, User, self.account_id, user_name)
            if s.get(GroupMembership, (self.account_id, group.name, user.name)) is None:
                s.add(
                    GroupMembership(
                        account_id=self.account_id, group_name=group.name, user_name=user.name
                    )
                )
                s.flush_unique("The user is already a member of the group.")

    def remove_user_from_group(self, group_name: str, user_name: str) -> None:
        with self._write() as s:
            group = named(s, Group, self.account_id, group_name)
            user = named(s, User, self.account_id, user_name)
            row = s.get(GroupMembership, (self.account_id, group.name, user.name))
            if row is None:
                raise NoSuchEntity(f"The user {user.name} is not in group {group.name}.")
            s.delete(row)

    def update_group(
        self, name: str, new_name: str | None = None, new_path: str | None = None
    ) -> Group:
        """Rename or move a group; memberships and policies follow, in the same transaction."""
        with self._write() as s:
            group = named(s, Group, self.account_id, name)
            if new_path is not None:
                group.path = new_path
            if new_name is not None and new_name != group.name:
                rename(s, self.account_id, group, new_name)
            s.add(group)
            return group

    def delete_group(self, name: str) -> None:
        with self._write() as s:
            group = named(s, Group, self.account_id, name)
            refuse_delete_if_held(
                s,
                self.account_id,
                group,
                ("users", GroupMembership, GroupMembership.group_name == group.name),
            )
            s.delete(group)


def _joined(s: Session, model: type[Member], of: User | Group) -> list[Member]:
    """The users in group `of` (model User) or the groups user `of` is in (model Group),
    through GroupMembership, in name order."""
    mine, theirs = f"{model.__name__.lower()}_name", f"{type(of).__name__.lower()}_name"
    stmt = (
        select(model)
        .join(GroupMembership, getattr(GroupMembership, mine) == model.name)
        .where(
            model.account_id == of.account_id,
            GroupMembership.account_id == of.account_id,
            getattr(GroupMembership, theirs) == of.name,
        )
        .order_by(model.name_key)
    )
    return list(s.exec(stmt))
