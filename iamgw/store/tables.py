"""SQLModel tables of the IAM store.

Every row carries its `account_id`, and every unique key starts with it, so
that tenants (one account each) can come later without a migration. Names are
unique per account as in IAM; AWS compares them case-insensitively, so each
named entity also keeps `name_key` (the lower-cased name) under the unique index.

A change to these classes needs a migration in `migrations/versions/`; the
test `tests/store/test_migrations.py` fails while models and migrations differ.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, Column, LargeBinary, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class User(SQLModel, table=True):
    __tablename__ = "iam_user"
    __table_args__ = (UniqueConstraint("account_id", "name_key"),)
    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(max_length=12, index=True)
    name: str = Field(max_length=64)
    name_key: str = Field(max_length=64)
    path: str = Field(default="/", max_length=512)
    user_id: str = Field(max_length=32, unique=True)
    permissions_boundary: str | None = Field(default=None, max_length=2048)
    tags: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created: datetime = Field(default_factory=utcnow)


class AccessKey(SQLModel, table=True):
    __tablename__ = "iam_access_key"
    access_key_id: str = Field(primary_key=True, max_length=128)
    account_id: str = Field(max_length=12, index=True)
    user_name: str = Field(max_length=64, index=True)
    # AES-256-GCM under the master key; associated data = access_key_id.
    secret_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    status: str = Field(default="Active", max_length=8)
    created: datetime = Field(default_factory=utcnow)
    last_used: datetime | None = None
    last_used_service: str | None = Field(default=None, max_length=32)
    last_used_region: str | None = Field(default=None, max_length=32)


class Group(SQLModel, table=True):
    __tablename__ = "iam_group"
    __table_args__ = (UniqueConstraint("account_id", "name_key"),)
    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(max_length=12, index=True)
    name: str = Field(max_length=128)
    name_key: str = Field(max_length=128)
    path: str = Field(default="/", max_length=512)
    group_id: str = Field(max_length=32, unique=True)
    created: datetime = Field(default_factory=utcnow)


class GroupMembership(SQLModel, table=True):
    __tablename__ = "iam_group_membership"
    account_id: str = Field(primary_key=True, max_length=12)
    group_name: str = Field(primary_key=True, max_length=128)
    user_name: str = Field(primary_key=True, max_length=64, index=True)


class ManagedPolicy(SQLModel, table=True):
    __tablename__ = "iam_policy"
    __table_args__ = (UniqueConstraint("account_id", "name_key"),)
    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(max_length=12, index=True)
    name: str = Field(max_length=128)
    name_key: str = Field(max_length=128)
    path: str = Field(default="/", max_length=512)
    policy_id: str = Field(max_length=32, unique=True)
    description: str = Field(default="", max_length=1000)
    default_version: str = Field(default="v1", max_length=16)
    next_version: int = 2
    # "api" (CreatePolicy) or "canned" (a file of policies/); the hash tells a changed file.
    source: str = Field(default="api", max_length=16)
    source_hash: str | None = Field(default=None, max_length=64)
    tags: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created: datetime = Field(default_factory=utcnow)
    updated: datetime = Field(default_factory=utcnow)


class PolicyVersion(SQLModel, table=True):
    __tablename__ = "iam_policy_version"
    policy_id: str = Field(primary_key=True, max_length=32)
    version_id: str = Field(primary_key=True, max_length=16)
    account_id: str = Field(max_length=12, index=True)
    document: str = Field(sa_column=Column(Text, nullable=False))
    created: datetime = Field(default_factory=utcnow)


class InlinePolicy(SQLModel, table=True):
    __tablename__ = "iam_inline_policy"
    account_id: str = Field(primary_key=True, max_length=12)
    principal_type: str = Field(primary_key=True, max_length=8)  # user | group | role
    principal_name: str = Field(primary_key=True, max_length=128)
    policy_name: str = Field(primary_key=True, max_length=128)
    document: str = Field(sa_column=Column(Text, nullable=False))


class PolicyAttachment(SQLModel, table=True):
    __tablename__ = "iam_policy_attachment"
    account_id: str = Field(primary_key=True, max_length=12)
    principal_type: str = Field(primary_key=True, max_length=8)  # user | group | role
    principal_name: str = Field(primary_key=True, max_length=128)
    policy_arn: str = Field(primary_key=True, max_length=2048)


class Role(SQLModel, table=True):
    __tablename__ = "iam_role"
    __table_args__ = (UniqueConstraint("account_id", "name_key"),)
    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(max_length=12, index=True)
    name: str = Field(max_length=64)
    name_key: str = Field(max_length=64)
    path: str = Field(default="/", max_length=512)
    role_id: str = Field(max_length=32, unique=True)
    trust_policy: str = Field(sa_column=Column(Text, nullable=False))
    description: str = Field(default="", max_length=1000)
    max_session_duration: int = 3600
    permissions_boundary: str | None = Field(default=None, max_length=2048)
    tags: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created: datetime = Field(default_factory=utcnow)


class OidcProvider(SQLModel, table=True):
    """An IAM OpenID Connect provider object (CreateOpenIDConnectProvider)."""

    __tablename__ = "iam_oidc_provider"
    account_id: str = Field(primary_key=True, max_length=12)
    url: str = Field(primary_key=True, max_length=255)  # issuer host and path, no scheme
    client_ids: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    thumbprints: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    tags: dict[str, str] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created: datetime = Field(default_factory=utcnow)


class BucketPolicy(SQLModel, table=True):
    __tablename__ = "s3_bucket_policy"
    account_id: str = Field(primary_key=True, max_length=12)
    bucket: str = Field(primary_key=True, max_length=63)
    document: str = Field(sa_column=Column(Text, nullable=False))
    updated: datetime = Field(default_factory=utcnow)


class FederatedPolicyMapping(SQLModel, table=True):
    """A federated user or group mapped to a policy name, applied at each login: LDAP DNs
    (provider "ldap", `iamgw ldap attach-policy`) and OpenID groups (provider: the
    `[[oidc]]` entry's name, `iamgw oidc attach-policy`)."""

    __tablename__ = "federated_policy_mapping"
    account_id: str = Field(primary_key=True, max_length=12)
    provider: str = Field(primary_key=True, max_length=64)
    kind: str = Field(primary_key=True, max_length=8)  # user | group
    # LDAP: the DN normalised (RFC 4514, `ldap.normalise_dn`); OIDC: the group as the
    # token's groups claim gives it.
    subject: str = Field(primary_key=True, max_length=1024)
    policy_name: str = Field(primary_key=True, max_length=128)


class RevokedSession(SQLModel, table=True):
    """Deny-list of temporary credentials: one session, one user, or all before a time."""

    __tablename__ = "sts_revocation"
    id: int | None = Field(default=None, primary_key=True)
    account_id: str = Field(max_length=12, index=True)
    kind: str = Field(max_length=8)  # session | user | before
    subject: str = Field(default="", max_length=2048)  # session id or principal ARN
    issued_before: datetime | None = None
    expires: datetime  # after this, every credential it could hit has expired anyway
    created: datetime = Field(default_factory=utcnow)


class StoreGeneration(SQLModel, table=True):
    """A counter bumped by every write: replicas compare it to invalidate caches."""

    __tablename__ = "store_generation"
    account_id: str = Field(primary_key=True, max_length=12)
    generation: int = 0


class UsedOnce(SQLModel, table=True):
    """Values that may be used once, until they expire: a console login's `state`."""

    __tablename__ = "used_once"
    account_id: str = Field(primary_key=True, max_length=12)
    kind: str = Field(primary_key=True, max_length=16)
    value: str = Field(primary_key=True, max_length=64)  # a digest, never the value
    expires: datetime = Field(index=True)


class MasterKeyCheck(SQLModel, table=True):
    """A value sealed under the master key of the store's secrets (one row, id 1): a
    gateway whose key does not open it refuses to start, instead of failing every
    request of an IAM user. `key_id` names that key (a fingerprint) in messages."""

    __tablename__ = "master_key_check"
    id: int = Field(default=1, primary_key=True)
    sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    key_id: str = Field(max_length=16)
    updated: datetime = Field(default_factory=utcnow)
