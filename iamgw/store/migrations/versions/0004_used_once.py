"""values used once: the console's login states

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 20:30:00

A console login's `state` is marked here when its callback is taken, so that no
replica takes the same callback twice.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "used_once",
        sa.Column("account_id", _text(12), nullable=False),
        sa.Column("kind", _text(16), nullable=False),
        sa.Column("value", _text(64), nullable=False),
        sa.Column("expires", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "kind", "value"),
    )
    with op.batch_alter_table("used_once", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_used_once_expires"), ["expires"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("used_once", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_used_once_expires"))
    op.drop_table("used_once")
