"""The master key's check value, and the re-sealing of the store's secrets (rotation).

The store keeps one value sealed under the master key of its secrets (`MasterKeyCheck`),
written by the first gateway that opens it. A gateway whose key does not open it must
not start: it would answer every request of an IAM user with an error, as a replica
with a master key of its own did. The check value is per store, not per account: every
account's secrets are sealed under the one key.
"""

from __future__ import annotations

import logging
from typing import Literal

from sqlmodel import select

from .base import RepositoryBase
from .errors import EntityAlreadyExists, StoreError
from .secrets import MasterKey, SecretError
from .tables import AccessKey, MasterKeyCheck, utcnow

log = logging.getLogger("iamgw.store")
_PLAINTEXT = b"iamgw master key check v1"
_ASSOCIATED = b"master_key_check"
_HOW_TO_SHARE = (
    "every gateway on one store needs the same key ([server] master_key_file or "
    "IAMGW_SERVER_MASTER_KEY; during a rotation previous_master_key_file)"
)
KeyState = Literal["current", "previous", "created"]


class MasterKeyMismatch(StoreError):
    """The master key does not open the store's secrets: the message says which key does."""


class MasterKeys(RepositoryBase):
    def check_master_key(self) -> KeyState:
        """Which of this repository's keys opens the store's check value: `current`, or
        `previous` while a rotation is under way (`iamgw master-key rotate` finishes it);
        `created` when the store had none and this call wrote it. A store from before
        the check gets one only if the key opens its sealed secrets.
        MasterKeyMismatch when no key opens it."""
        with self._read() as s:
            row = s.get(MasterKeyCheck, 1)
        if row is None:
            self._verify_sealed_secrets()
            try:
                with self._write() as s:
                    s.add(_check_row(self.master_key))
                    s.flush_unique("the master key check value exists")
            except EntityAlreadyExists:  # another gateway wrote it at the same moment
                return self.check_master_key()
            log.info("master key %s: check value written to the store", self.master_key.key_id)
            return "created"
        return _state(self.master_key, row)

    def stored_key_id(self) -> str | None:
        """The fingerprint of the key the store's secrets are sealed under (None: no
        gateway has opened the store yet)."""
        with self._read() as s:
            row = s.get(MasterKeyCheck, 1)
        return row.key_id if row is not None else None

    def reseal_secrets(self, new_key: MasterKey) -> int:
        """Re-seal every sealed secret of the store (every account's access keys) and
        the check value under `new_key`, in one transaction; each opens under `new_key`,
        this repository's key or a previous key of either. Returns how many were
        re-sealed. When one opens under none, MasterKeyMismatch and nothing changes."""
        ring = new_key.with_previous(self.master_key)
        sealer = new_key.current_only()
        with self._write() as s:
            if self.dialect_name == "postgresql":
                # No access key is created or changed under another key meanwhile.
                s.connection().exec_driver_sql(
                    "LOCK TABLE iam_access_key, master_key_check IN SHARE ROW EXCLUSIVE MODE"
                )
            row = s.get(MasterKeyCheck, 1)
            if row is not None:
                _state(ring, row)  # raises MasterKeyMismatch: the keys are not the store's
            keys = list(s.exec(select(AccessKey).order_by(AccessKey.access_key_id)))
            opened, unopened = [], []
            for key in keys:
                try:
                    opened.append(ring.open(key.secret_sealed, key.access_key_id.encode()))
                except SecretError:
                    unopened.append(key.access_key_id)
            if unopened:
                raise MasterKeyMismatch(
                    f"{len(unopened)} access key(s) open under none of the keys given "
                    f"({', '.join(unopened[:3])}{', ...' if len(unopened) > 3 else ''}): "
                    "nothing changed; give the key that sealed them, or delete them"
                )
            for key, secret in zip(keys, opened, strict=True):
                key.secret_sealed = sealer.seal(secret, key.access_key_id.encode())
                s.add(key)
            if row is None:
                s.add(_check_row(sealer))
            else:
                fresh = _check_row(sealer)
                row.sealed, row.key_id, row.updated = fresh.sealed, fresh.key_id, utcnow()
                s.add(row)
        return len(keys)

    def _verify_sealed_secrets(self) -> None:
        """Before the first check value: the key must open the store's sealed secrets (a
        store written before the check, or by a replica with a key of its own)."""
        with self._read() as s:
            keys = list(s.exec(select(AccessKey)))
        unopened = []
        for key in keys:
            try:
                self.master_key.open(key.secret_sealed, key.access_key_id.encode())
            except SecretError:
                unopened.append(key.access_key_id)
        if keys and len(unopened) == len(keys):
            raise MasterKeyMismatch(
                f"the master key (id {self.master_key.key_id}) opens none of the "
                f"{len(keys)} secret(s) sealed in this store: {_HOW_TO_SHARE}"
            )
        if unopened:
            log.warning(
                "%d access key(s) of the store were sealed under another master key and "
                "cannot sign requests (%s): delete them and create new ones",
                len(unopened),
                ", ".join(unopened),
            )


def _check_row(key: MasterKey) -> MasterKeyCheck:
    current = key.current_only()
    return MasterKeyCheck(id=1, sealed=current.seal(_PLAINTEXT, _ASSOCIATED), key_id=current.key_id)


def _state(key: MasterKey, row: MasterKeyCheck) -> KeyState:
    candidates = [("current", key.current_only())] + [("previous", p) for p in key.previous]
    for state, candidate in candidates:
        try:
            if candidate.open(row.sealed, _ASSOCIATED) == _PLAINTEXT:
                return state  # type: ignore[return-value]
        except SecretError:
            continue
    raise MasterKeyMismatch(
        f"the master key (id {key.key_id}) does not open this store's secrets, which are "
        f"sealed under master key id {row.key_id}: {_HOW_TO_SHARE}"
    )
