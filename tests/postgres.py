"""The local PostgreSQL (127.0.0.1:5432, trust auth): one database per test session,
one schema per gateway or test, so that tests never see each other's rows."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import create_engine, text

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


def pg_schema_url(base: str) -> str:
    """A new schema in the database `base`: its URL puts the schema on the search path."""
    schema = f"t_{uuid.uuid4().hex[:10]}"
    engine = create_engine(base, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    engine.dispose()
    return f"{base}?options=-csearch_path%3D{schema}"
