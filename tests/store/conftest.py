"""The store's tests run on SQLite and on the PostgreSQL server at 127.0.0.1:5432."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

from iamgw.store import MasterKey, Repository

PG_SERVER = "postgresql+psycopg://postgres@127.0.0.1:5432"


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh database on the local PostgreSQL, dropped at the end of the session."""
    name = f"iamgw_test_{uuid.uuid4().hex[:8]}"
    admin = create_engine(f"{PG_SERVER}/test", isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:  # noqa: BLE001 - report the server as the reason
        pytest.fail(f"PostgreSQL at 127.0.0.1:5432 is not usable: {exc}")
    yield f"{PG_SERVER}/{name}"
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'iamgw.db'}"
        return
    base = request.getfixturevalue("pg_database")
    # One schema per test keeps tests independent on the shared database.
    schema = f"t_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    yield f"{base}?options=-csearch_path%3D{schema}"


@pytest.fixture
def master_key() -> MasterKey:
    return MasterKey(b"k" * 32)


@pytest.fixture
def repo(store_url: str, master_key: MasterKey) -> Iterator[Repository]:
    repository = Repository.open(store_url, master_key, "123456789012")
    yield repository
    repository.close()
