"""IAM users: create, read, rename or move, tag, delete."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import col, select

from .base import RepositoryBase, new_id
from .policies import resolve_arn
from .principals import named, refuse_delete_if_held, rename
from .tables import AccessKey, GroupMembership, User
from .tags import add_tags, remove_tags


class Users(RepositoryBase):
    def create_user(
        self,
        name: str,
        path: str = "/",
        tags: dict[str, str] | None = None,
        permissions_boundary: str | None = None,
    ) -> User:
        """A new user; the boundary (a managed policy's ARN) is checked in the same transaction."""
        user = User(
            account_id=self.account_id,
            name=name,
            name_key=name.lower(),
            path=path,
            user_id=new_id("AIDA"),
            tags=dict(tags or {}),
        )
        with self._write() as s:
            if permissions_boundary is not None:
                user.permissions_boundary = resolve_arn(s, self.account_id, permissions_boundary)
            s.add(user)
            s.flush_unique(f"User with name {name} already exists.")
        return user

    def get_user(self, name: str) -> User:
        with self._read() as s:
            return named(s, User, self.account_id, name)

    def list_users(self, path_prefix: str = "/") -> list[User]:
        with self._read() as s:
            stmt = select(User).where(
                User.account_id == self.account_id, col(User.path).startswith(path_prefix)
            )
            return list(s.exec(stmt.order_by(User.name_key)))

    def update_user(
        self, name: str, new_name: str | None = None, new_path: str | None = None
    ) -> User:
        with self._write() as s:
            user = named(s, User, self.account_id, name)
            if new_path is not None:
                user.path = new_path
            if new_name is not None and new_name != user.name:
                rename(s, self.account_id, user, new_name)
            s.add(user)
            s.flush_unique(f"User with name {new_name} already exists.")
        return user

    def delete_user(self, name: str) -> None:
        """AWS refuses while keys, policies or group memberships remain (DeleteConflict)."""
        with self._write() as s:
            user = named(s, User, self.account_id, name)
            refuse_delete_if_held(
                s,
                self.account_id,
                user,
                ("access keys", AccessKey, AccessKey.user_name == user.name),
                ("groups", GroupMembership, GroupMembership.user_name == user.name),
            )
            s.delete(user)

    def set_user_tags(self, name: str, tags: dict[str, str]) -> None:
        with self._write() as s:
            user = named(s, User, self.account_id, name)
            add_tags(user, tags)
            s.add(user)

    def remove_user_tags(self, name: str, keys: Iterable[str]) -> None:
        with self._write() as s:
            user = named(s, User, self.account_id, name)
            remove_tags(user, keys)
            s.add(user)
