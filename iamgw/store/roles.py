"""IAM roles: trust policy, session duration, tags, boundary."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlmodel import col, select

from .base import RepositoryBase, new_id
from .errors import InvalidInput
from .policies import resolve_arn
from .principals import named, refuse_delete_if_held
from .tables import Role
from .tags import add_tags, remove_tags


class Roles(RepositoryBase):
    def create_role(
        self,
        name: str,
        trust_policy: str,
        path: str = "/",
        description: str = "",
        max_session_duration: int = 3600,
        tags: dict[str, str] | None = None,
        permissions_boundary: str | None = None,
    ) -> Role:
        role = Role(
            account_id=self.account_id,
            name=name,
            name_key=name.lower(),
            path=path,
            role_id=new_id("AROA"),
            trust_policy=trust_policy,
            description=description,
            max_session_duration=max_session_duration,
            tags=dict(tags or {}),
        )
        with self._write() as s:
            if permissions_boundary is not None:
                role.permissions_boundary = resolve_arn(s, self.account_id, permissions_boundary)
            s.add(role)
            s.flush_unique(f"Role with name {name} already exists.")
        return role

    def get_role(self, name: str) -> Role:
        with self._read() as s:
            return named(s, Role, self.account_id, name)

    def list_roles(self, path_prefix: str = "/") -> list[Role]:
        with self._read() as s:
            stmt = select(Role).where(
                Role.account_id == self.account_id, col(Role.path).startswith(path_prefix)
            )
            return list(s.exec(stmt.order_by(Role.name_key)))

    def update_role(self, name: str, **changes: Any) -> Role:
        allowed = {"description", "max_session_duration", "trust_policy", "tags"}
        if not set(changes) <= allowed:
            raise InvalidInput(f"cannot change {sorted(set(changes) - allowed)}")
        with self._write() as s:
            role = named(s, Role, self.account_id, name)
            for key, value in changes.items():
                setattr(role, key, value)
            s.add(role)
            return role

    def set_role_tags(self, name: str, tags: dict[str, str]) -> None:
        with self._write() as s:
            role = named(s, Role, self.account_id, name)
            add_tags(role, tags)
            s.add(role)

    def remove_role_tags(self, name: str, keys: Iterable[str]) -> None:
        with self._write() as s:
            role = named(s, Role, self.account_id, name)
            remove_tags(role, keys)
            s.add(role)

    def delete_role(self, name: str) -> None:
        with self._write() as s:
            role = named(s, Role, self.account_id, name)
            refuse_delete_if_held(s, self.account_id, role)
            s.delete(role)
