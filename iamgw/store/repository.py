"""The one repository API over the IAM store, composed of one part per entity.

Each public method is one transaction: it either changes everything it says
or nothing. Every write also bumps the account's `StoreGeneration`, which
replicas read to drop cached decisions after any change (`txn`).

Secret access keys are sealed with the master key before they reach a row
and opened only by `find_access_key`; they are never logged (`keys`).
"""

from __future__ import annotations

from . import database, txn
from .account import Account
from .attachments import Attachments, InlinePolicies
from .bucket_policies import BucketPolicies
from .canned import Canned
from .groups import Groups
from .keycheck import MasterKeys
from .keys import Keys
from .ldap import LdapMappings
from .oidc import OidcProviders
from .policies import Policies
from .revocations import Revocations
from .roles import Roles
from .secrets import MasterKey
from .used_once import UsedOnce
from .users import Users


class Repository(
    Users,
    Keys,
    MasterKeys,
    Groups,
    Roles,
    Policies,
    Canned,
    Attachments,
    InlinePolicies,
    OidcProviders,
    BucketPolicies,
    LdapMappings,
    Revocations,
    UsedOnce,
    Account,
):
    @classmethod
    def open(cls, url: str, master_key: MasterKey, account_id: str) -> Repository:
        """Connect, bring the schema up to date, and return the repository."""
        engine = database.make_engine(url)
        database.migrate(engine)
        repo = cls(engine, master_key, account_id)
        txn.ensure_generation_row(engine, account_id)
        return repo
