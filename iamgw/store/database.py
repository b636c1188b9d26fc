"""Engine, transactions and schema migrations (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from sqlmodel import Session

from .errors import StoreUnavailable

try:
    import fcntl
except ImportError:  # not on Windows: one process per SQLite file there
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger("iamgw.store")
MIGRATIONS = Path(__file__).parent / "migrations"
# Any constants: replicas starting together on one PostgreSQL take turns migrating, and
# writing what every start writes (the canned policies).
_PG_MIGRATION_LOCK = 0x1A367
STARTUP_LOCK = 0x1A368
# Alembic's `context` is one per process: one upgrade at a time, whatever the thread.
_MIGRATING = threading.Lock()


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (psycopg2 is not a dependency)."""
    if url.startswith("postgresql://"):
        return "postgresql+psycopg://" + url[len("postgresql://") :]
    return url


def make_engine(url: str) -> Engine:
    url = normalise_url(url)
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})
        _sqlite_immediate_transactions(engine)
        return engine
    # No pre-ping: it doubles the round trips of the per-request generation read. A
    # connection the server dropped fails one request (503) and the pool is refreshed.
    return create_engine(url, pool_size=10, max_overflow=20, pool_recycle=300)


# Set while a write transaction runs (see txn.WriteTransaction).
WRITING: ContextVar[bool] = ContextVar("iamgw_store_writing", default=False)


def _sqlite_immediate_transactions(engine: Engine) -> None:
    # SQLite: a deferred transaction that reads then writes fails with "database is
    # locked" under concurrency; BEGIN IMMEDIATE serialises writers instead. Readers
    # keep a plain BEGIN: in WAL mode they never wait for a writer.
    @event.listens_for(engine, "connect")
    def _connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE" if WRITING.get() else "BEGIN")


@contextmanager
def transaction(engine: Engine) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any error."""
    try:
        with Session(engine, expire_on_commit=False) as session, session.begin():
            yield session
    except OperationalError as exc:
        raise StoreUnavailable("the IAM store is unavailable") from exc


def scalar(engine: Engine, sql: str, *params: Any) -> Any:
    """One value from one query with `?` placeholders, sent to the driver as it is
    (no SQL compilation): for the query every request makes."""
    if engine.dialect.paramstyle != "qmark":
        sql = sql.replace("?", "%s")
    try:
        with engine.connect() as conn:
            if engine.dialect.name != "sqlite":
                # Autocommit: no BEGIN before, no ROLLBACK after: one round trip in all.
                conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            return conn.exec_driver_sql(sql, tuple(params)).scalar()
    except OperationalError as exc:
        raise StoreUnavailable("the IAM store is unavailable") from exc


def ping(engine: Engine) -> bool:
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        return True
    except SQLAlchemyError:
        return False


def alembic_config(engine: Engine) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["engine"] = engine
    return cfg


def xact_lock(session: Session, key: int) -> None:
    """Hold `key` until the session's transaction ends: PostgreSQL transactions that take
    the same key take turns. SQLite's write transactions (BEGIN IMMEDIATE) already do."""
    if session.get_bind().dialect.name == "postgresql":
        session.connection().execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})


def migrate(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision`; safe to run from several replicas at once."""
    try:
        with _MIGRATING:
            if engine.dialect.name == "postgresql":
                with engine.connect() as conn:
                    conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _PG_MIGRATION_LOCK})
                    try:
                        _upgrade(engine, revision)
                    finally:
                        unlock = text("SELECT pg_advisory_unlock(:k)")
                        conn.execute(unlock, {"k": _PG_MIGRATION_LOCK})
                        conn.commit()
            else:
                with _sqlite_migration_lock(engine):
                    _upgrade(engine, revision)
    except OperationalError as exc:
        raise StoreUnavailable(f"cannot reach the IAM store ({_reason(exc)})") from exc


@contextmanager
def _sqlite_migration_lock(engine: Engine) -> Iterator[None]:
    """Processes on one SQLite file (workers, replicas on one data directory) take turns:
    Alembic commits each migration on its own, so a transaction cannot hold them off.
    The lock is a file beside the database (never the database file itself: closing any
    descriptor of it would drop SQLite's own POSIX locks in this process)."""
    database = engine.url.database
    if not database or database == ":memory:" or fcntl is None:
        yield
        return
    with open(f"{database}-migrate.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _upgrade(engine: Engine, revision: str) -> None:
    logging.getLogger("alembic").setLevel(logging.WARNING)
    command.upgrade(alembic_config(engine), revision)


def _reason(exc: OperationalError) -> str:
    """The driver's first line, without the connection string (it may hold a password)."""
    first = str(exc.orig).strip().splitlines()[0] if exc.orig else "connection failed"
    return first[:200]
