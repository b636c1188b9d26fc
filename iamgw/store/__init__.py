"""The IAM store: SQLModel tables and the repository over them (SQLite or PostgreSQL).

Entities follow the AWS IAM data model (https://docs.aws.amazon.com/IAM/latest/APIReference/):
users, access keys, groups, managed policies with versions, inline policies,
roles, attachments, permissions boundaries; plus bucket policies, LDAP DN
mappings and the deny-list of revoked sessions. Only this package imports
SQLModel/SQLAlchemy.
"""

from .base import new_id
from .errors import (
    DeleteConflict,
    EntityAlreadyExists,
    InvalidInput,
    LimitExceeded,
    NoSuchEntity,
    StoreError,
    StoreUnavailable,
)
from .keycheck import KeyState, MasterKeyMismatch
from .keys import MAX_ACCESS_KEYS, new_secret_key
from .ldap import LDAP_PROVIDER
from .policies import MAX_POLICY_VERSIONS
from .repository import Repository
from .secrets import MasterKey, SecretError, create_file_once, encode_key, parse_key

__all__ = [
    "LDAP_PROVIDER",
    "MAX_ACCESS_KEYS",
    "MAX_POLICY_VERSIONS",
    "DeleteConflict",
    "EntityAlreadyExists",
    "InvalidInput",
    "KeyState",
    "LimitExceeded",
    "MasterKey",
    "MasterKeyMismatch",
    "NoSuchEntity",
    "Repository",
    "SecretError",
    "StoreError",
    "StoreUnavailable",
    "create_file_once",
    "encode_key",
    "new_id",
    "new_secret_key",
    "parse_key",
]
