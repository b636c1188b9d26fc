"""What every part of the repository shares: the account, its engine, the transactions,
and small query helpers."""

from __future__ import annotations

import secrets
import string
from contextlib import AbstractContextManager
from typing import Any, TypeVar

from sqlalchemy import Engine, func
from sqlmodel import Session, SQLModel, select

from . import database, txn
from .errors import NoSuchEntity
from .secrets import MasterKey

_ID_ALPHABET = string.ascii_uppercase + string.digits
Row = TypeVar("Row", bound=SQLModel)


def new_id(prefix: str, length: int = 17) -> str:
    """An IAM unique id: `AIDA...` users, `AGPA` groups, `AROA` roles, `ANPA` policies."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(length))


class RepositoryBase:
    """The account's engine and master key; every public method of the parts built on
    it runs in one `_read` or `_write` transaction."""

    def __init__(self, engine: Engine, master_key: MasterKey, account_id: str) -> None:
        self.engine = engine
        self.master_key = master_key
        self.account_id = account_id
        self._generation = txn.GenerationReader(engine, account_id)

    @property
    def dialect_name(self) -> str:
        """`sqlite` or `postgresql`."""
        return self.engine.dialect.name

    @property
    def is_local(self) -> bool:
        """True when the store is a file of this host (SQLite): a read costs microseconds."""
        return self.dialect_name == "sqlite"

    def close(self) -> None:
        self._generation.close()
        self.engine.dispose()

    def ping(self) -> bool:
        return database.ping(self.engine)

    def generation(self) -> int:
        """The account's store generation, which every write bumps."""
        return self._generation.read()

    def _write(self) -> txn.WriteTransaction:
        return txn.WriteTransaction(self.engine, self.account_id)

    def _read(self) -> AbstractContextManager[Session]:
        return database.transaction(self.engine)


def one(s: Session, model: type[Row], what: str, *where: Any) -> Row:
    """The row that matches; NoSuchEntity ("The {what} cannot be found.") when none does."""
    row = s.exec(select(model).where(*where)).first()
    if row is None:
        raise NoSuchEntity(f"The {what} cannot be found.")
    return row


def count(s: Session, model: Any, *where: Any) -> int:
    return int(s.exec(select(func.count()).select_from(model).where(*where)).one())
