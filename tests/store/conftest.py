"""The store's tests run on SQLite and on the PostgreSQL server at 127.0.0.1:5432."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from iamgw.store import MasterKey, Repository
from tests.postgres import pg_schema_url


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'iamgw.db'}"
        return
    # One schema per test keeps tests independent on the shared database.
    yield pg_schema_url(request.getfixturevalue("pg_database"))


@pytest.fixture
def master_key() -> MasterKey:
    return MasterKey(b"k" * 32)


@pytest.fixture
def repo(store_url: str, master_key: MasterKey) -> Iterator[Repository]:
    repository = Repository.open(store_url, master_key, "123456789012")
    yield repository
    repository.close()
