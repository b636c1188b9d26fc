"""one mapping table for LDAP DNs and OpenID groups, keyed by provider

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28 09:30:00

`ldap_policy_mapping` (dn_type, dn) becomes `federated_policy_mapping` (provider, kind,
subject): the LDAP rows keep their keys under provider "ldap"; an `[[oidc]]` entry's
groups are mapped under its name. The old keys were lower-cased with the spaces around
`,` and `=` removed, which is what the RFC 4514 normalisation gives for every DN
without escaped characters, so existing rows keep matching.
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def _text(length: int) -> sqlmodel.sql.sqltypes.AutoString:
    return sqlmodel.sql.sqltypes.AutoString(length=length)


def upgrade() -> None:
    op.create_table(
        "federated_policy_mapping",
        sa.Column("account_id", _text(12), nullable=False),
        sa.Column("provider", _text(64), nullable=False),
        sa.Column("kind", _text(8), nullable=False),
        sa.Column("subject", _text(1024), nullable=False),
        sa.Column("policy_name", _text(128), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "provider", "kind", "subject", "policy_name"),
    )
    op.execute(
        "INSERT INTO federated_policy_mapping (account_id, provider, kind, subject, policy_name) "
        "SELECT account_id, 'ldap', dn_type, dn, policy_name FROM ldap_policy_mapping"
    )
    op.drop_table("ldap_policy_mapping")


def downgrade() -> None:
    # OpenID group mappings have no place in the old table and are dropped.
    op.create_table(
        "ldap_policy_mapping",
        sa.Column("account_id", _text(12), nullable=False),
        sa.Column("dn_type", _text(8), nullable=False),
        sa.Column("dn", _text(1024), nullable=False),
        sa.Column("policy_name", _text(128), nullable=False),
        sa.PrimaryKeyConstraint("account_id", "dn_type", "dn", "policy_name"),
    )
    op.execute(
        "INSERT INTO ldap_policy_mapping (account_id, dn_type, dn, policy_name) "
        "SELECT account_id, kind, subject, policy_name FROM federated_policy_mapping "
        "WHERE provider = 'ldap'"
    )
    op.drop_table("federated_policy_mapping")
