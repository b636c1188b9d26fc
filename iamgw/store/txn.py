"""Write transactions: each one bumps the account's store generation, or rolls back whole.

Replicas read the generation on every request and drop cached decisions when it
moves, so every write that changes policy goes through `WriteTransaction`.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

from sqlalchemy import Engine, update
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session, SQLModel

from . import database
from .errors import EntityAlreadyExists, StoreUnavailable
from .tables import StoreGeneration


class Unchanged(Exception):
    """Raised in a write transaction that turns out to have nothing to write: it rolls
    back instead of committing (and bumping the generation)."""

    def __init__(self, outcome: str) -> None:
        super().__init__(outcome)
        self.outcome = outcome


class StoreSession(Session):
    """A session that knows how to turn a unique-key clash into EntityAlreadyExists."""

    def flush_unique(self, message: str) -> None:
        try:
            self.flush()
        except IntegrityError as exc:
            raise EntityAlreadyExists(message) from exc

    def lock(self, row: SQLModel) -> None:
        """Row lock on PostgreSQL; SQLite's BEGIN IMMEDIATE already serialises writers."""
        if self.get_bind().dialect.name == "postgresql":
            self.refresh(row, with_for_update=True)


class WriteTransaction:
    """One write transaction that also bumps the account's store generation."""

    def __init__(self, engine: Engine, account_id: str) -> None:
        self.engine = engine
        self.account_id = account_id

    def __enter__(self) -> StoreSession:
        self.writing = database.WRITING.set(True)
        self.session = StoreSession(self.engine, expire_on_commit=False)
        self.tx = self.session.begin()
        return self.session

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        try:
            if exc_type is None:
                self._bump()
                self.tx.commit()
            else:
                self.tx.rollback()
        except IntegrityError as err:
            self.tx.rollback()
            raise EntityAlreadyExists("The entity already exists.") from err
        except OperationalError as err:
            raise StoreUnavailable("the IAM store is unavailable") from err
        finally:
            self.session.close()
            database.WRITING.reset(self.writing)

    def _bump(self) -> None:
        s, account = self.session, self.account_id
        updated = s.exec(
            update(StoreGeneration)
            .where(StoreGeneration.account_id == account)
            .values(generation=StoreGeneration.generation + 1)
        )
        if not updated.rowcount:  # the first write of this account
            s.add(StoreGeneration(account_id=account, generation=1))


def ensure_generation_row(engine: Engine, account_id: str) -> None:
    """Create the account's generation row, so that concurrent writers only ever UPDATE it."""
    # A write transaction from the start (SQLite: BEGIN IMMEDIATE): a read turned write
    # fails at once with "database is locked" when another process writes.
    writing = database.WRITING.set(True)
    try:
        with database.transaction(engine) as s:
            if s.get(StoreGeneration, account_id) is None:
                s.add(StoreGeneration(account_id=account_id, generation=0))
    except IntegrityError:
        pass  # another replica created it at the same moment
    finally:
        database.WRITING.reset(writing)


_GENERATION = "SELECT generation FROM store_generation WHERE account_id = ?"


def generation(engine: Engine, account_id: str) -> int:
    """Read on every request (cache invalidation): one plain query, no ORM."""
    return int(database.scalar(engine, _GENERATION, account_id) or 0)


class GenerationReader:
    """The generation read every request makes. A SQLite file is read on a connection of
    its own, in autocommit (each read sees the latest commit): through SQLAlchemy's pool,
    its events, BEGIN and ROLLBACK the read costs ~150 us of the event loop's time, and
    under load more, as each of its three statements lets go of the GIL; this one ~10 us.
    Any other store: `generation`."""

    def __init__(self, engine: Engine, account_id: str) -> None:
        self.engine = engine
        self.account_id = account_id
        self._path = _sqlite_file(engine)
        self._conn: sqlite3.Connection | None = None
        self._lock = threading.Lock()

    def read(self) -> int:
        if self._path is None:
            return generation(self.engine, self.account_id)
        try:
            with self._lock:
                if self._conn is None:
                    self._conn = sqlite3.connect(
                        self._path, timeout=30, isolation_level=None, check_same_thread=False
                    )
                row = self._conn.execute(_GENERATION, (self.account_id,)).fetchone()
        except sqlite3.Error as exc:
            raise StoreUnavailable("the IAM store is unavailable") from exc
        return int(row[0]) if row and row[0] else 0

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None


def _sqlite_file(engine: Engine) -> str | None:
    """The path of the engine's SQLite database file; None for an in-memory database (a
    connection of its own would see another one), a URI one, or another dialect."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.query.get("uri"):
        return None
    database_ = url.database or ""
    if database_ in ("", ":memory:") or database_.startswith("file:"):
        return None
    return database_
