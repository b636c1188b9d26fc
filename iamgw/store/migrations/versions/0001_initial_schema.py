"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-27 05:46:30.164948
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "iam_access_key",
        sa.Column("access_key_id", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("user_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("secret_sealed", sa.LargeBinary(), nullable=False),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("created", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("last_used", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("last_used_service", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("last_used_region", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.PrimaryKeyConstraint("access_key_id"),
    )
    with op.batch_alter_table("iam_access_key", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_iam_access_key_account_id"), ["account_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_iam_access_key_user_name"), ["user_name"], unique=False
        )

    op.create_table(
        "iam_group",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("name_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("group_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("created", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "name_key"),
        sa.UniqueConstraint("group_id"),
    )
    with op.batch_alter_table("iam_group", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_iam_group_account_id"), ["account_id"], unique=False)

    op.create_table(
        "iam_group_membership",
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("group_name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("user_name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "group_name", "user_name"),
    )
    with op.batch_alter_table("iam_group_membership", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_iam_group_membership_user_name"), ["user_name"], unique=False
        )

    op.create_table(
        "iam_inline_policy",
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("principal_type", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("principal_name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("policy_name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "principal_type", "principal_name", "policy_name"),
    )
    op.create_table(
        "iam_oidc_provider",
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("url", sqlmodel.sql.sqltypes.AutoString(length=255), nullable=False),
        sa.Column("client_ids", sa.JSON(), nullable=False),
        sa.Column("thumbprints", sa.JSON(), nullable=False),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "url"),
    )
    op.create_table(
        "iam_policy",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("name_key", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("policy_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("default_version", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("next_version", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("source_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("created", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("updated", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "name_key"),
        sa.UniqueConstraint("policy_id"),
    )
    with op.batch_alter_table("iam_policy", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_iam_policy_account_id"), ["account_id"], unique=False)

    op.create_table(
        "iam_policy_attachment",
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("principal_type", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("principal_name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.Column("policy_arn", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "principal_type", "principal_name", "policy_arn"),
    )
    op.create_table(
        "iam_policy_version",
        sa.Column("policy_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("version_id", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("created", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("policy_id", "version_id"),
    )
    with op.batch_alter_table("iam_policy_version", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_iam_policy_version_account_id"), ["account_id"], unique=False
        )

    op.create_table(
        "iam_role",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("role_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("trust_policy", sa.Text(), nullable=False),
        sa.Column("description", sqlmodel.sql.sqltypes.AutoString(length=1000), nullable=False),
        sa.Column("max_session_duration", sa.Integer(), nullable=False),
        sa.Column(
            "permissions_boundary", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True
        ),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "name_key"),
        sa.UniqueConstraint("role_id"),
    )
    with op.batch_alter_table("iam_role", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_iam_role_account_id"), ["account_id"], unique=False)

    op.create_table(
        "iam_user",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("name_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("path", sqlmodel.sql.sqltypes.AutoString(length=512), nullable=False),
        sa.Column("user_id", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column(
            "permissions_boundary", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=True
        ),
        sa.Column("tags", sa.JSON(), nullable=False),
        sa.Column("created", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("account_id", "name_key"),
        sa.UniqueConstraint("user_id"),
    )
    with op.batch_alter_table("iam_user", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_iam_user_account_id"), ["account_id"], unique=False)

    op.create_table(
        "ldap_policy_mapping",
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("dn_type", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("dn", sqlmodel.sql.sqltypes.AutoString(length=1024), nullable=False),
        sa.Column("policy_name", sqlmodel.sql.sqltypes.AutoString(length=128), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "dn_type", "dn", "policy_name"),
    )
    op.create_table(
        "s3_bucket_policy",
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("bucket", sqlmodel.sql.sqltypes.AutoString(length=63), nullable=False),
        sa.Column("document", sa.Text(), nullable=False),
        sa.Column("updated", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "bucket"),
    )
    op.create_table(
        "store_generation",
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("account_id"),
    )
    op.create_table(
        "sts_revocation",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("account_id", sqlmodel.sql.sqltypes.AutoString(length=12), nullable=False),
        sa.Column("kind", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("subject", sqlmodel.sql.sqltypes.AutoString(length=2048), nullable=False),
        sa.Column("issued_before", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=True),
        sa.Column("expires", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("sts_revocation", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_sts_revocation_account_id"), ["account_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("sts_revocation", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sts_revocation_account_id"))

    op.drop_table("sts_revocation")
    op.drop_table("store_generation")
    op.drop_table("s3_bucket_policy")
    op.drop_table("ldap_policy_mapping")
    with op.batch_alter_table("iam_user", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_iam_user_account_id"))

    op.drop_table("iam_user")
    with op.batch_alter_table("iam_role", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_iam_role_account_id"))

    op.drop_table("iam_role")
    with op.batch_alter_table("iam_policy_version", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_iam_policy_version_account_id"))

    op.drop_table("iam_policy_version")
    op.drop_table("iam_policy_attachment")
    with op.batch_alter_table("iam_policy", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_iam_policy_account_id"))

    op.drop_table("iam_policy")
    op.drop_table("iam_oidc_provider")
    op.drop_table("iam_inline_policy")
    with op.batch_alter_table("iam_group_membership", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_iam_group_membership_user_name"))

    op.drop_table("iam_group_membership")
    with op.batch_alter_table("iam_group", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_iam_group_account_id"))

    op.drop_table("iam_group")
    with op.batch_alter_table("iam_access_key", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_iam_access_key_user_name"))
        batch_op.drop_index(batch_op.f("ix_iam_access_key_account_id"))

    op.drop_table("iam_access_key")
