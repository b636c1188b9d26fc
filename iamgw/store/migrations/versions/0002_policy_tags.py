"""tags on managed policies (CreatePolicy Tags, TagPolicy, UntagPolicy)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27 06:55:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Existing policies get no tags; the server default fills their rows.
    with op.batch_alter_table("iam_policy", schema=None) as batch_op:
        batch_op.add_column(sa.Column("tags", sa.JSON(), nullable=False, server_default="{}"))


def downgrade() -> None:
    with op.batch_alter_table("iam_policy", schema=None) as batch_op:
        batch_op.drop_column("tags")
