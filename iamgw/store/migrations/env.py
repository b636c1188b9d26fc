"""Alembic environment: the engine comes from the caller (`database.migrate`)."""

from alembic import context
from sqlmodel import SQLModel

from iamgw.store import tables  # noqa: F401 - registers the tables on the metadata

engine = context.config.attributes["engine"]
with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=SQLModel.metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite: ALTER via copy
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
