"""The schema comes from migrations, and the migrations match the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from iamgw.store import MasterKey, Repository
from iamgw.store.database import make_engine, migrate


def test_models_and_migrations_agree(store_url: str) -> None:
    engine = make_engine(store_url)
    migrate(engine)
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    engine.dispose()
    assert diff == [], f"tables.py changed without a migration: {diff}"


def test_restart_and_upgrade_keep_data(store_url: str) -> None:
    key = MasterKey(b"m" * 32)
    first = Repository.open(store_url, key, "123456789012")
    first.create_user("kept")
    _, secret = first.create_access_key("kept")
    first.close()
    # A second start (or a second replica) runs the migrations again: no data lost.
    again = Repository.open(store_url, key, "123456789012")
    keys = again.list_access_keys("kept")
    assert again.find_access_key(keys[0].access_key_id)[1] == secret
    again.close()
