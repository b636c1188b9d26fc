"""Access keys of IAM users. Secrets are sealed with the master key (associated data:
the key id) before they reach a row, opened only by `find_access_key`, never logged."""

from __future__ import annotations

import secrets
import string

from sqlalchemy import func, update
from sqlmodel import Session, select

from . import database
from .base import RepositoryBase, count, new_id, one
from .errors import InvalidInput, LimitExceeded, NoSuchEntity
from .principals import named
from .tables import AccessKey, User, utcnow

MAX_ACCESS_KEYS = 2  # IAM quota: access keys per user
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"


def new_secret_key() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


class Keys(RepositoryBase):
    def create_access_key(self, user_name: str) -> tuple[AccessKey, str]:
        """A new Active key; returns the row and the secret (shown to the caller once)."""
        secret = new_secret_key()
        with self._write() as s:
            user = named(s, User, self.account_id, user_name)
            s.lock(user)  # two concurrent creates must not pass the quota together
            if (
                count(
                    s,
                    AccessKey,
                    AccessKey.account_id == self.account_id,
                    AccessKey.user_name == user.name,
                )
                >= MAX_ACCESS_KEYS
            ):
                raise LimitExceeded(
                    f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS}."
                )
            key_id = new_id("AKIA", 16)
            key = AccessKey(
                access_key_id=key_id,
                account_id=self.account_id,
                user_name=user.name,
                secret_sealed=self.master_key.seal(secret.encode(), key_id.encode()),
            )
            s.add(key)
        return key, secret

    def list_access_keys(self, user_name: str) -> list[AccessKey]:
        with self._read() as s:
            user = named(s, User, self.account_id, user_name)
            stmt = select(AccessKey).where(
                AccessKey.account_id == self.account_id, AccessKey.user_name == user.name
            )
            return list(s.exec(stmt.order_by(AccessKey.created)))

    def _access_key(self, s: Session, user_name: str, key_id: str) -> AccessKey:
        return one(
            s,
            AccessKey,
            f"Access Key with id {key_id}",
            AccessKey.account_id == self.account_id,
            AccessKey.access_key_id == key_id,
            func.lower(AccessKey.user_name) == user_name.lower(),
        )

    def update_access_key(self, user_name: str, key_id: str, status: str) -> None:
        if status not in ("Active", "Inactive"):
            raise InvalidInput("Status must be Active or Inactive.")
        with self._write() as s:
            key = self._access_key(s, user_name, key_id)
            key.status = status
            s.add(key)

    def delete_access_key(self, user_name: str, key_id: str) -> None:
        with self._write() as s:
            s.delete(self._access_key(s, user_name, key_id))

    def find_access_key(self, key_id: str) -> tuple[AccessKey, str] | None:
        """The key and its opened secret, for verifying a signature; None if unknown."""
        with self._read() as s:
            key = s.get(AccessKey, key_id)
        if key is None or key.account_id != self.account_id:
            return None
        return key, self.master_key.open(key.secret_sealed, key_id.encode()).decode()

    def access_key_owner(self, key_id: str) -> AccessKey:
        """The key's row (its secret stays sealed); NoSuchEntity when unknown."""
        with self._read() as s:
            key = s.get(AccessKey, key_id)
        if key is None or key.account_id != self.account_id:
            raise NoSuchEntity(f"The Access Key with id {key_id} cannot be found.")
        return key

    def record_key_use(self, key_id: str, service: str, region: str) -> None:
        with database.transaction(self.engine) as s:  # not a policy change: no generation bump
            s.exec(
                update(AccessKey)
                .where(AccessKey.access_key_id == key_id)
                .values(last_used=utcnow(), last_used_service=service, last_used_region=region)
            )
