"""The one repository API over the IAM store.

Each public method is one transaction: it either changes everything it says
or nothing. Every write also bumps the account's `StoreGeneration`, which
replicas read to drop cached decisions after any change.

Secret access keys are sealed with the master key before they reach a row
and opened only by `access_key_secret`; they are never logged.
"""

from __future__ import annotations

import secrets
import string
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import delete, func, or_, update
from sqlalchemy.orm.attributes import flag_modified
from sqlmodel import Session, SQLModel, col, select

from . import database, txn
from .base import RepositoryBase, count, new_id, one
from .errors import (
    DeleteConflict,
    EntityAlreadyExists,
    InvalidInput,
    LimitExceeded,
    NoSuchEntity,
)
from .secrets import MasterKey
from .tables import (
    AccessKey,
    BucketPolicy,
    Group,
    GroupMembership,
    InlinePolicy,
    LdapPolicyMapping,
    ManagedPolicy,
    OidcProvider,
    PolicyAttachment,
    PolicyVersion,
    RevokedSession,
    Role,
    User,
    utcnow,
)
from .txn import Unchanged

PRINCIPAL_TYPES = ("user", "group", "role")
MAX_ACCESS_KEYS = 2  # IAM quota: access keys per user
MAX_POLICY_VERSIONS = 5  # IAM quota: versions per managed policy
MAX_ATTACHED_POLICIES = 10  # IAM quota: managed policies attached per user, group or role
MAX_TAGS = 50  # IAM quota: tags per user or role
_ID_ALPHABET = string.ascii_uppercase + string.digits
_SECRET_ALPHABET = string.ascii_letters + string.digits + "+/"
Row = TypeVar("Row", bound=SQLModel)


def new_secret_key() -> str:
    return "".join(secrets.choice(_SECRET_ALPHABET) for _ in range(40))


def normalise_dn(dn: str) -> str:
    """LDAP DNs compare case-insensitively and ignore spaces around separators."""
    parts = [rdn.strip() for rdn in dn.split(",")]
    return ",".join("=".join(p.strip() for p in rdn.split("=", 1)) for rdn in parts).lower()


class Repository(RepositoryBase):
    @classmethod
    def open(cls, url: str, master_key: MasterKey, account_id: str) -> Repository:
        """Connect, bring the schema up to date, and return the repository."""
        engine = database.make_engine(url)
        database.migrate(engine)
        repo = cls(engine, master_key, account_id)
        txn.ensure_generation_row(engine, account_id)
        return repo

    # -- users --------------------------------------------------------------

    def create_user(
        self,
        name: str,
        path: str = "/",
        tags: dict[str, str] | None = None,
        permissions_boundary: str | None = None,
    ) -> User:
        """A new user; the boundary (a managed policy's ARN) is checked in the same transaction."""
        user = User(
            account_id=self.account_id,
            name=name,
            name_key=name.lower(),
            path=path,
            user_id=new_id("AIDA"),
            tags=dict(tags or {}),
        )
        with self._write() as s:
            if permissions_boundary is not None:
                user.permissions_boundary = self.policy_arn(self._policy(s, permissions_boundary))
            s.add(user)
            s.flush_unique(f"User with name {name} already exists.")
        return user

    def get_user(self, name: str) -> User:
        with self._read() as s:
            return self._user(s, name)

    def _user(self, s: Session, name: str) -> User:
        return one(
            s,
            User,
            f"user with name {name}",
            User.account_id == self.account_id,
            User.name_key == name.lower(),
        )

    def list_users(self, path_prefix: str = "/") -> list[User]:
        with self._read() as s:
            stmt = select(User).where(
                User.account_id == self.account_id, col(User.path).startswith(path_prefix)
            )
            return list(s.exec(stmt.order_by(User.name_key)))

    def update_user(
        self, name: str, new_name: str | None = None, new_path: str | None = None
    ) -> User:
        with self._write() as s:
            user = self._user(s, name)
            if new_path is not None:
                user.path = new_path
            if new_name is not None and new_name != user.name:
                clash = s.exec(
                    select(User.id).where(
                        User.account_id == self.account_id,
                        User.name_key == new_name.lower(),
                        User.id != user.id,
                    )
                ).first()
                if clash is not None:
                    raise EntityAlreadyExists(f"User with name {new_name} already exists.")
                old = user.name
                user.name, user.name_key = new_name, new_name.lower()
                # Rows that name the user follow the rename, in the same transaction.
                s.exec(
                    update(AccessKey)
                    .where(AccessKey.account_id == self.account_id, AccessKey.user_name == old)
                    .values(user_name=new_name)
                )
                s.exec(
                    update(GroupMembership)
                    .where(
                        GroupMembership.account_id == self.account_id,
                        GroupMembership.user_name == old,
                    )
                    .values(user_name=new_name)
                )
                for model in (InlinePolicy, PolicyAttachment):
                    s.exec(
                        update(model)
                        .where(
                            model.account_id == self.account_id,
                            model.principal_type == "user",
                            model.principal_name == old,
                        )
                        .values(principal_name=new_name)
                    )
            s.add(user)
            s.flush_unique(f"User with name {new_name} already exists.")
        return user

    def delete_user(self, name: str) -> None:
        """AWS refuses while keys, policies or group memberships remain (DeleteConflict)."""
        with self._write() as s:
            user = self._user(s, name)
            held = [
                ("access keys", AccessKey, AccessKey.user_name == user.name),
                ("groups", GroupMembership, GroupMembership.user_name == user.name),
                (
                    "attached policies",
                    PolicyAttachment,
                    _principal(PolicyAttachment, "user", user.name),
                ),
                ("inline policies", InlinePolicy, _principal(InlinePolicy, "user", user.name)),
            ]
            for what, model, where in held:
                if count(s, model, model.account_id == self.account_id, where):
                    raise DeleteConflict(f"Cannot delete entity, must remove {what} first.")
            s.delete(user)

    def set_user_tags(self, name: str, tags: dict[str, str]) -> None:
        with self._write() as s:
            user = self._user(s, name)
            user.tags = {**user.tags, **tags}
            if len(user.tags) > MAX_TAGS:
                raise LimitExceeded(f"Cannot exceed quota for TagsPerUser: {MAX_TAGS}.")
            s.add(user)

    def remove_user_tags(self, name: str, keys: Iterable[str]) -> None:
        with self._write() as s:
            user = self._user(s, name)
            drop = set(keys)
            user.tags = {k: v for k, v in user.tags.items() if k not in drop}
            s.add(user)

    # -- access keys ----------------------------------------------------------

    def create_access_key(self, user_name: str) -> tuple[AccessKey, str]:
        """A new Active key; returns the row and the secret (shown to the caller once)."""
        secret = new_secret_key()
        with self._write() as s:
            user = self._user(s, user_name)
            s.lock(user)  # two concurrent creates must not pass the quota together
            if (
                count(
                    s,
                    AccessKey,
                    AccessKey.account_id == self.account_id,
                    AccessKey.user_name == user.name,
                )
                >= MAX_ACCESS_KEYS
            ):
                raise LimitExceeded(
                    f"Cannot exceed quota for AccessKeysPerUser: {MAX_ACCESS_KEYS}."
                )
            key_id = new_id("AKIA", 16)
            key = AccessKey(
                access_key_id=key_id,
                account_id=self.account_id,
                user_name=user.name,
                secret_sealed=self.master_key.seal(secret.encode(), key_id.encode()),
            )
            s.add(key)
        return key, secret

    def list_access_keys(self, user_name: str) -> list[AccessKey]:
        with self._read() as s:
            user = self._user(s, user_name)
            stmt = select(AccessKey).where(
                AccessKey.account_id == self.account_id, AccessKey.user_name == user.name
            )
            return list(s.exec(stmt.order_by(AccessKey.created)))

    def _access_key(self, s: Session, user_name: str, key_id: str) -> AccessKey:
        return one(
            s,
            AccessKey,
            f"Access Key with id {key_id}",
            AccessKey.account_id == self.account_id,
            AccessKey.access_key_id == key_id,
            func.lower(AccessKey.user_name) == user_name.lower(),
        )

    def update_access_key(self, user_name: str, key_id: str, status: str) -> None:
        if status not in ("Active", "Inactive"):
            raise InvalidInput("Status must be Active or Inactive.")
        with self._write() as s:
            key = self._access_key(s, user_name, key_id)
            key.status = status
            s.add(key)

    def delete_access_key(self, user_name: str, key_id: str) -> None:
        with self._write() as s:
            s.delete(self._access_key(s, user_name, key_id))

    def find_access_key(self, key_id: str) -> tuple[AccessKey, str] | None:
        """The key and its opened secret, for verifying a signature; None if unknown."""
        with self._read() as s:
            key = s.get(AccessKey, key_id)
        if key is None or key.account_id != self.account_id:
            return None
        return key, self.master_key.open(key.secret_sealed, key_id.encode()).decode()

    def access_key_owner(self, key_id: str) -> AccessKey:
        """The key's row (its secret stays sealed); NoSuchEntity when unknown."""
        with self._read() as s:
            key = s.get(AccessKey, key_id)
        if key is None or key.account_id != self.account_id:
            raise NoSuchEntity(f"The Access Key with id {key_id} cannot be found.")
        return key

    def record_key_use(self, key_id: str, service: str, region: str) -> None:
        with database.transaction(self.engine) as s:  # not a policy change: no generation bump
            s.exec(
                update(AccessKey)
                .where(AccessKey.access_key_id == key_id)
                .values(last_used=utcnow(), last_used_service=service, last_used_region=region)
            )

    # -- groups ---------------------------------------------------------------

    def create_group(self, name: str, path: str = "/") -> Group:
        group = Group(
            account_id=self.account_id,
            name=name,
            name_key=name.lower(),
            path=path,
            group_id=new_id("AGPA"),
        )
        with self._write() as s:
            s.add(group)
            s.flush_unique(f"Group with name {name} already exists.")
        return group

    def _group(self, s: Session, name: str) -> Group:
        return one(
            s,
            Group,
            f"group with name {name}",
            Group.account_id == self.account_id,
            Group.name_key == name.lower(),
        )

    def get_group(self, name: str) -> tuple[Group, list[User]]:
        with self._read() as s:
            group = self._group(s, name)
            members = s.exec(
                select(User)
                .join(
                    GroupMembership,
                    GroupMembership.user_name == User.name,  # type: ignore[arg-type]
                )
                .where(
                    User.account_id == self.account_id,
                    GroupMembership.account_id == self.account_id,
                    GroupMembership.group_name == group.name,
                )
                .order_by(User.name_key)
            )
            return group, list(members)

    def list_groups(self, path_prefix: str = "/") -> list[Group]:
        with self._read() as s:
            stmt = select(Group).where(
                Group.account_id == self.account_id, col(Group.path).startswith(path_prefix)
            )
            return list(s.exec(stmt.order_by(Group.name_key)))

    def groups_for_user(self, user_name: str) -> list[Group]:
        with self._read() as s:
            user = self._user(s, user_name)
            stmt = (
                select(Group)
                .join(
                    GroupMembership,
                    GroupMembership.group_name == Group.name,  # type: ignore[arg-type]
                )
                .where(
                    Group.account_id == self.account_id,
                    GroupMembership.account_id == self.account_id,
                    GroupMembership.user_name == user.name,
                )
            )
            return list(s.exec(stmt.order_by(Group.name_key)))

    def add_user_to_group(self, group_name: str, user_name: str) -> None:
        with self._write() as s:
            group, user = self._group(s, group_name), self._user(s, user_name)
            if s.get(GroupMembership, (self.account_id, group.name, user.name)) is None:
                s.add(
                    GroupMembership(
                        account_id=self.account_id, group_name=group.name, user_name=user.name
                    )
                )
                s.flush_unique("The user is already a member of the group.")

    def remove_user_from_group(self, group_name: str, user_name: str) -> None:
        with self._write() as s:
            group, user = self._group(s, group_name), self._user(s, user_name)
            row = s.get(GroupMembership, (self.account_id, group.name, user.name))
            if row is None:
                raise NoSuchEntity(f"The user {user.name} is not in group {group.name}.")
            s.delete(row)

    def update_group(
        self, name: str, new_name: str | None = None, new_path: str | None = None
    ) -> Group:
        """Rename or move a group; memberships and policies follow, in the same transaction."""
        with self._write() as s:
            group = self._group(s, name)
            if new_path is not None:
                group.path = new_path
            if new_name is not None and new_name != group.name:
                clash = s.exec(
                    select(Group.id).where(
                        Group.account_id == self.account_id,
                        Group.name_key == new_name.lower(),
                        Group.id != group.id,
                    )
                ).first()
                if clash is not None:
                    raise EntityAlreadyExists(f"Group with name {new_name} already exists.")
                old = group.name
                group.name, group.name_key = new_name, new_name.lower()
                s.exec(
                    update(GroupMembership)
                    .where(
                        GroupMembership.account_id == self.account_id,
                        GroupMembership.group_name == old,
                    )
                    .values(group_name=new_name)
                )
                for model in (InlinePolicy, PolicyAttachment):
                    s.exec(
                        update(model)
                        .where(
                            model.account_id == self.account_id,
                            model.principal_type == "group",
                            model.principal_name == old,
                        )
                        .values(principal_name=new_name)
                    )
            s.add(group)
            return group

    def delete_group(self, name: str) -> None:
        with self._write() as s:
            group = self._group(s, name)
            held = [
                ("users", GroupMembership, GroupMembership.group_name == group.name),
                (
                    "attached policies",
                    PolicyAttachment,
                    _principal(PolicyAttachment, "group", group.name),
                ),
                ("inline policies", InlinePolicy, _principal(InlinePolicy, "group", group.name)),
            ]
            for what, model, where in held:
                if count(s, model, model.account_id == self.account_id, where):
                    raise DeleteConflict(f"Cannot delete entity, must remove {what} first.")
            s.delete(group)

    # -- managed policies -------------------------------------------------------

    def policy_arn(self, policy: ManagedPolicy) -> str:
        return f"arn:aws:iam::{self.account_id}:policy{policy.path}{policy.name}"

    def create_policy(
        self,
        name: str,
        document: str,
        path: str = "/",
        description: str = "",
        source: str = "api",
        source_hash: str | None = None,
        tags: dict[str, str] | None = None,
    ) -> ManagedPolicy:
        policy = ManagedPolicy(
            account_id=self.account_id,
            name=name,
            name_key=name.lower(),
            path=path,
            policy_id=new_id("ANPA"),
            description=description,
            source=source,
            source_hash=source_hash,
            tags=dict(tags or {}),
        )
        with self._write() as s:
            s.add(policy)
            s.flush_unique(
                f"A policy called {name} already exists. Duplicate names are not allowed."
            )
            s.add(
                PolicyVersion(
                    policy_id=policy.policy_id,
                    version_id="v1",
                    account_id=self.account_id,
                    document=document,
                )
            )
        return policy

    def _policy(self, s: Session, arn_or_name: str) -> ManagedPolicy:
        name, path = arn_or_name, None
        prefix = f"arn:aws:iam::{self.account_id}:policy"
        if arn_or_name.startswith("arn:"):
            if not arn_or_name.startswith(prefix + "/"):
                raise NoSuchEntity(f"Policy {arn_or_name} does not exist or is not attachable.")
            path, _, name = arn_or_name[len(prefix) :].rpartition("/")
            path += "/"
        policy = s.exec(
            select(ManagedPolicy).where(
                ManagedPolicy.account_id == self.account_id, ManagedPolicy.name_key == name.lower()
            )
        ).first()
        if policy is None or (path is not None and policy.path != path):
            raise NoSuchEntity(f"Policy {arn_or_name} does not exist or is not attachable.")
        return policy

    def get_policy(self, arn_or_name: str) -> ManagedPolicy:
        with self._read() as s:
            return self._policy(s, arn_or_name)

    def find_policy(self, name: str) -> ManagedPolicy | None:
        try:
            return self.get_policy(name)
        except NoSuchEntity:
            return None

    def list_policies(
        self, path_prefix: str = "/", only_attached: bool = False
    ) -> list[ManagedPolicy]:
        with self._read() as s:
            stmt = select(ManagedPolicy).where(
                ManagedPolicy.account_id == self.account_id,
                col(ManagedPolicy.path).startswith(path_prefix),
            )
            policies = list(s.exec(stmt.order_by(ManagedPolicy.name_key)))
            if only_attached:
                attached = set(
                    s.exec(
                        select(PolicyAttachment.policy_arn).where(
                            PolicyAttachment.account_id == self.account_id
                        )
                    )
                )
                policies = [p for p in policies if self.policy_arn(p) in attached]
            return policies

    def set_policy_tags(self, arn: str, tags: dict[str, str]) -> None:
        with self._write() as s:
            policy = self._policy(s, arn)
            policy.tags = {**policy.tags, **tags}
            if len(policy.tags) > MAX_TAGS:
                raise LimitExceeded(f"Cannot exceed quota for TagsPerPolicy: {MAX_TAGS}.")
            s.add(policy)

    def remove_policy_tags(self, arn: str, keys: Iterable[str]) -> None:
        with self._write() as s:
            policy = self._policy(s, arn)
            drop = set(keys)
            policy.tags = {k: v for k, v in policy.tags.items() if k not in drop}
            s.add(policy)

    def policy_usage(self) -> dict[str, tuple[int, int]]:
        """{policy ARN: (attachments, uses as a permissions boundary)}, in one read."""
        usage: dict[str, list[int]] = {}
        with self._read() as s:
            stmt = (
                select(PolicyAttachment.policy_arn, func.count())
                .where(PolicyAttachment.account_id == self.account_id)
                .group_by(PolicyAttachment.policy_arn)
            )
            for arn, n in s.exec(stmt):
                usage.setdefault(arn, [0, 0])[0] = int(n)
            for model in (User, Role):
                bstmt = (
                    select(model.permissions_boundary, func.count())
                    .where(model.account_id == self.account_id)
                    .where(col(model.permissions_boundary).is_not(None))
                    .group_by(model.permissions_boundary)
                )
                for arn, n in s.exec(bstmt):
                    usage.setdefault(arn, [0, 0])[1] += int(n)
        return {arn: (a, b) for arn, (a, b) in usage.items()}

    def policy_entities(self, arn: str) -> list[User | Group | Role]:
        """The users, groups and roles a managed policy is attached to."""
        with self._read() as s:
            policy = self._policy(s, arn)
            stmt = select(PolicyAttachment).where(
                PolicyAttachment.account_id == self.account_id,
                PolicyAttachment.policy_arn == self.policy_arn(policy),
            )
            out: list[User | Group | Role] = []
            for row in s.exec(stmt):
                try:
                    out.append(self._principal_row(s, row.principal_type, row.principal_name))
                except NoSuchEntity:
                    continue
            return out

    def account_counts(self) -> dict[str, int]:
        """How many users, groups, roles, managed policies (and versions), OIDC providers
        the account holds, in one read (GetAccountSummary)."""
        with self._read() as s:
            counts = {
                name: count(s, model, model.account_id == self.account_id)
                for name, model in (
                    ("Users", User),
                    ("Groups", Group),
                    ("Roles", Role),
                    ("Policies", ManagedPolicy),
                    ("PolicyVersionsInUse", PolicyVersion),
                    ("Providers", OidcProvider),
                )
            }
            counts["Policies"] = count(
                s,
                ManagedPolicy,
                ManagedPolicy.account_id == self.account_id,
                ManagedPolicy.source != "canned",
            )
            return counts

    def attachment_count(self, arn: str) -> int:
        with self._read() as s:
            return count(
                s,
                PolicyAttachment,
                PolicyAttachment.account_id == self.account_id,
                PolicyAttachment.policy_arn == arn,
            )

    def delete_policy(self, arn: str) -> None:
        with self._write() as s:
            policy = self._policy(s, arn)
            arn = self.policy_arn(policy)
            if count(
                s,
                PolicyAttachment,
                PolicyAttachment.account_id == self.account_id,
                PolicyAttachment.policy_arn == arn,
            ):
                raise DeleteConflict("Cannot delete a policy attached to entities.")
            for model in (User, Role):
                if count(
                    s, model, model.account_id == self.account_id, model.permissions_boundary == arn
                ):
                    raise DeleteConflict("Cannot delete a policy used as a permissions boundary.")
            if count(s, PolicyVersion, PolicyVersion.policy_id == policy.policy_id) > 1:
                # IAM: every version but the default must be deleted first.
                raise DeleteConflict(
                    "This policy has more than one version. Before you delete a policy, "
                    "you must delete the policy's non-default versions."
                )
            s.exec(delete(PolicyVersion).where(PolicyVersion.policy_id == policy.policy_id))
            s.delete(policy)

    def policy_document(self, arn_or_name: str, version_id: str | None = None) -> str:
        """The document of a version (the default one when not given)."""
        with self._read() as s:
            policy = self._policy(s, arn_or_name)
            return self._version(s, policy, version_id or policy.default_version).document

    def _version(self, s: Session, policy: ManagedPolicy, version_id: str) -> PolicyVersion:
        version = s.get(PolicyVersion, (policy.policy_id, version_id))
        if version is None:
            raise NoSuchEntity(
                f"Policy {self.policy_arn(policy)} version {version_id} does not exist."
            )
        return version

    def list_policy_versions(self, arn: str) -> list[PolicyVersion]:
        with self._read() as s:
            policy = self._policy(s, arn)
            stmt = select(PolicyVersion).where(PolicyVersion.policy_id == policy.policy_id)
            return sorted(s.exec(stmt), key=lambda v: -int(v.version_id[1:]))

    def create_policy_version(self, arn: str, document: str, set_default: bool) -> PolicyVersion:
        with self._write() as s:
            policy = self._policy(s, arn)
            s.lock(policy)
            if (
                count(s, PolicyVersion, PolicyVersion.policy_id == policy.policy_id)
                >= MAX_POLICY_VERSIONS
            ):
                raise LimitExceeded(
                    f"A managed policy can have up to {MAX_POLICY_VERSIONS} versions. "
                    "Before you create a new version, you must delete an existing version."
                )
            return self._add_version(s, policy, document, set_default)

    def _add_version(
        self, s: Session, policy: ManagedPolicy, document: str, set_default: bool
    ) -> PolicyVersion:
        version = PolicyVersion(
            policy_id=policy.policy_id,
            version_id=f"v{policy.next_version}",
            account_id=self.account_id,
            document=document,
        )
        policy.next_version += 1
        policy.updated = utcnow()
        if set_default:
            policy.default_version = version.version_id
        s.add_all([policy, version])
        return version

    def set_default_policy_version(self, arn: str, version_id: str) -> None:
        with self._write() as s:
            policy = self._policy(s, arn)
            self._version(s, policy, version_id)
            policy.default_version, policy.updated = version_id, utcnow()
            s.add(policy)

    def delete_policy_version(self, arn: str, version_id: str) -> None:
        with self._write() as s:
            policy = self._policy(s, arn)
            version = self._version(s, policy, version_id)
            if version_id == policy.default_version:
                raise DeleteConflict("Cannot delete the default version of a policy.")
            s.delete(version)

    def upsert_canned_policy(self, name: str, document: str, digest: str) -> str:
        """Load a file of `policies/`: created, updated (new default version), unchanged,
        or conflict when a same-named policy was created through the API.

        Every replica does this at every start, all at once when started together: the
        writes take turns (and re-read what the one before wrote), and a start that
        changes nothing writes nothing (no new generation, no cache dropped anywhere)."""
        with self._read() as s:
            found = self._canned(s, name)
            if found is not None and found.source != "canned":
                return "conflict"
            if found is not None and found.source_hash == digest:
                return "unchanged"
        attempts = 3
        while True:
            try:
                with self._write() as s:
                    database.xact_lock(s, database.STARTUP_LOCK)
                    return self._upsert_canned(s, name, document, digest)
            except Unchanged as kept:
                return kept.outcome  # rolled back: nothing to write after all
            except EntityAlreadyExists:
                # Created meanwhile by a writer that does not take turns (CreatePolicy):
                # read again and decide on what is there now.
                attempts -= 1
                if not attempts:
                    raise

    def _canned(self, s: Session, name: str) -> ManagedPolicy | None:
        return s.exec(
            select(ManagedPolicy).where(
                ManagedPolicy.account_id == self.account_id,
                ManagedPolicy.name_key == name.lower(),
            )
        ).first()

    def _upsert_canned(self, s: Session, name: str, document: str, digest: str) -> str:
        policy = self._canned(s, name)
        if policy is None:
            policy = ManagedPolicy(
                account_id=self.account_id,
                name=name,
                name_key=name.lower(),
                policy_id=new_id("ANPA"),
                source="canned",
                source_hash=digest,
                description=f"iamgw canned policy {name}",
            )
            s.add(policy)
            s.add(
                PolicyVersion(
                    policy_id=policy.policy_id,
                    version_id="v1",
                    account_id=self.account_id,
                    document=document,
                )
            )
            return "created"
        if policy.source != "canned":
            raise Unchanged("conflict")
        if policy.source_hash == digest:
            raise Unchanged("unchanged")
        versions = sorted(
            s.exec(select(PolicyVersion).where(PolicyVersion.policy_id == policy.policy_id)),
            key=lambda v: int(v.version_id[1:]),
        )
        old = [v for v in versions if v.version_id != policy.default_version]
        while len(versions) >= MAX_POLICY_VERSIONS and old:
            stale = old.pop(0)
            versions.remove(stale)
            s.delete(stale)
        policy.source_hash = digest
        self._add_version(s, policy, document, set_default=True)
        return "updated"

    # -- attachments, inline policies, boundaries ---------------------------------

    def _principal_row(self, s: Session, ptype: str, name: str) -> User | Group | Role:
        if ptype == "user":
            return self._user(s, name)
        if ptype == "group":
            return self._group(s, name)
        if ptype == "role":
            return self._role(s, name)
        raise InvalidInput(f"unknown principal type {ptype}")

    def attach_policy(self, ptype: str, name: str, arn: str) -> None:
        with self._write() as s:
            principal = self._principal_row(s, ptype, name)
            policy = self._policy(s, arn)
            key = (self.account_id, ptype, principal.name, self.policy_arn(policy))
            if s.get(PolicyAttachment, key) is None:
                s.lock(principal)  # concurrent attaches must not pass the quota together
                held = count(
                    s,
                    PolicyAttachment,
                    PolicyAttachment.account_id == self.account_id,
                    _principal(PolicyAttachment, ptype, principal.name),
                )
                if held >= MAX_ATTACHED_POLICIES:
                    raise LimitExceeded(
                        f"Cannot exceed quota for PoliciesPer{ptype.capitalize()}: "
                        f"{MAX_ATTACHED_POLICIES}."
                    )
                s.add(
                    PolicyAttachment(
                        account_id=self.account_id,
                        principal_type=ptype,
                        principal_name=principal.name,
                        policy_arn=self.policy_arn(policy),
                    )
                )
                s.flush_unique("The policy is already attached.")

    def detach_policy(self, ptype: str, name: str, arn: str) -> None:
        with self._write() as s:
            principal = self._principal_row(s, ptype, name)
            row = s.get(PolicyAttachment, (self.account_id, ptype, principal.name, arn))
            if row is None:
                raise NoSuchEntity(f"Policy {arn} was not found.")
            s.delete(row)

    def attached_policies(self, ptype: str, name: str) -> list[str]:
        with self._read() as s:
            principal = self._principal_row(s, ptype, name)
            stmt = select(PolicyAttachment.policy_arn).where(
                PolicyAttachment.account_id == self.account_id,
                _principal(PolicyAttachment, ptype, principal.name),
            )
            return sorted(s.exec(stmt))

    def put_inline_policy(self, ptype: str, name: str, policy_name: str, document: str) -> None:
        with self._write() as s:
            principal = self._principal_row(s, ptype, name)
            row = s.get(InlinePolicy, (self.account_id, ptype, principal.name, policy_name))
            if row is None:
                row = InlinePolicy(
                    account_id=self.account_id,
                    principal_type=ptype,
                    principal_name=principal.name,
                    policy_name=policy_name,
                    document=document,
                )
            row.document = document
            s.add(row)

    def get_inline_policy(self, ptype: str, name: str, policy_name: str) -> str:
        with self._read() as s:
            principal = self._principal_row(s, ptype, name)
            row = s.get(InlinePolicy, (self.account_id, ptype, principal.name, policy_name))
            if row is None:
                raise NoSuchEntity(f"The {ptype} policy with name {policy_name} cannot be found.")
            return row.document

    def delete_inline_policy(self, ptype: str, name: str, policy_name: str) -> None:
        with self._write() as s:
            principal = self._principal_row(s, ptype, name)
            row = s.get(InlinePolicy, (self.account_id, ptype, principal.name, policy_name))
            if row is None:
                raise NoSuchEntity(f"The {ptype} policy with name {policy_name} cannot be found.")
            s.delete(row)

    def inline_policies(self, ptype: str, name: str) -> dict[str, str]:
        with self._read() as s:
            principal = self._principal_row(s, ptype, name)
            stmt = select(InlinePolicy).where(
                InlinePolicy.account_id == self.account_id,
                _principal(InlinePolicy, ptype, principal.name),
            )
            return {row.policy_name: row.document for row in s.exec(stmt)}

    def set_permissions_boundary(self, ptype: str, name: str, arn: str | None) -> None:
        """Set (or remove, with None) the permissions boundary of a user or role."""
        if ptype not in ("user", "role"):
            raise InvalidInput("Permissions boundaries apply to users and roles only.")
        with self._write() as s:
            principal = self._principal_row(s, ptype, name)
            if arn is not None:
                arn = self.policy_arn(self._policy(s, arn))
            principal.permissions_boundary = arn  # type: ignore[union-attr]
            s.add(principal)

    # -- roles ----------------------------------------------------------------

    def create_role(
        self,
        name: str,
        trust_policy: str,
        path: str = "/",
        description: str = "",
        max_session_duration: int = 3600,
        tags: dict[str, str] | None = None,
        permissions_boundary: str | None = None,
    ) -> Role:
        role = Role(
            account_id=self.account_id,
            name=name,
            name_key=name.lower(),
            path=path,
            role_id=new_id("AROA"),
            trust_policy=trust_policy,
            description=description,
            max_session_duration=max_session_duration,
            tags=dict(tags or {}),
        )
        with self._write() as s:
            if permissions_boundary is not None:
                role.permissions_boundary = self.policy_arn(self._policy(s, permissions_boundary))
            s.add(role)
            s.flush_unique(f"Role with name {name} already exists.")
        return role

    def _role(self, s: Session, name: str) -> Role:
        return one(
            s,
            Role,
            f"role with name {name}",
            Role.account_id == self.account_id,
            Role.name_key == name.lower(),
        )

    def get_role(self, name: str) -> Role:
        with self._read() as s:
            return self._role(s, name)

    def list_roles(self, path_prefix: str = "/") -> list[Role]:
        with self._read() as s:
            stmt = select(Role).where(
                Role.account_id == self.account_id, col(Role.path).startswith(path_prefix)
            )
            return list(s.exec(stmt.order_by(Role.name_key)))

    def update_role(self, name: str, **changes: Any) -> Role:
        allowed = {"description", "max_session_duration", "trust_policy", "tags"}
        if not set(changes) <= allowed:
            raise InvalidInput(f"cannot change {sorted(set(changes) - allowed)}")
        with self._write() as s:
            role = self._role(s, name)
            for key, value in changes.items():
                setattr(role, key, value)
            s.add(role)
            return role

    def set_role_tags(self, name: str, tags: dict[str, str]) -> None:
        with self._write() as s:
            role = self._role(s, name)
            role.tags = {**role.tags, **tags}
            if len(role.tags) > MAX_TAGS:
                raise LimitExceeded(f"Cannot exceed quota for TagsPerRole: {MAX_TAGS}.")
            s.add(role)

    def remove_role_tags(self, name: str, keys: Iterable[str]) -> None:
        with self._write() as s:
            role = self._role(s, name)
            drop = set(keys)
            role.tags = {k: v for k, v in role.tags.items() if k not in drop}
            s.add(role)

    def delete_role(self, name: str) -> None:
        with self._write() as s:
            role = self._role(s, name)
            for what, model in (
                ("attached policies", PolicyAttachment),
                ("inline policies", InlinePolicy),
            ):
                if count(
                    s,
                    model,
                    model.account_id == self.account_id,
                    _principal(model, "role", role.name),
                ):
                    raise DeleteConflict(f"Cannot delete entity, must remove {what} first.")
            s.delete(role)

    # -- OIDC providers (IAM objects) ---------------------------------------------

    def oidc_provider_arn(self, url: str) -> str:
        return f"arn:aws:iam::{self.account_id}:oidc-provider/{url}"

    def create_oidc_provider(
        self,
        url: str,
        client_ids: list[str],
        thumbprints: list[str],
        tags: dict[str, str] | None = None,
    ) -> OidcProvider:
        """`url` is the issuer without its scheme (host and path), as IAM keys it."""
        row = OidcProvider(
            account_id=self.account_id,
            url=url,
            client_ids=list(client_ids),
            thumbprints=list(thumbprints),
            tags=dict(tags or {}),
        )
        with self._write() as s:
            if s.get(OidcProvider, (self.account_id, url)) is not None:
                raise EntityAlreadyExists(f"Provider with url https://{url} already exists.")
            s.add(row)
        return row

    def get_oidc_provider(self, url: str) -> OidcProvider:
        with self._read() as s:
            row = s.get(OidcProvider, (self.account_id, url))
            if row is None:
                raise NoSuchEntity(
                    f"OpenIDConnect Provider not found for arn {self.oidc_provider_arn(url)}"
                )
            return row

    def list_oidc_providers(self) -> list[OidcProvider]:
        with self._read() as s:
            stmt = select(OidcProvider).where(OidcProvider.account_id == self.account_id)
            return list(s.exec(stmt.order_by(OidcProvider.url)))

    def update_oidc_provider(self, url: str, **changes: Any) -> OidcProvider:
        allowed = {"client_ids", "thumbprints", "tags"}
        if not set(changes) <= allowed:
            raise InvalidInput(f"cannot change {sorted(set(changes) - allowed)}")
        with self._write() as s:
            row = s.get(OidcProvider, (self.account_id, url))
            if row is None:
                raise NoSuchEntity(
                    f"OpenIDConnect Provider not found for arn {self.oidc_provider_arn(url)}"
                )
            for key, value in changes.items():
                setattr(row, key, value)
            s.add(row)
            return row

    def edit_oidc_provider(self, url: str, edit: Callable[[OidcProvider], None]) -> OidcProvider:
        """Read, change (`edit` mutates the row) and write a provider in one transaction."""
        with self._write() as s:
            row = s.get(OidcProvider, (self.account_id, url))
            if row is None:
                raise NoSuchEntity(
                    f"OpenIDConnect Provider not found for arn {self.oidc_provider_arn(url)}"
                )
            s.lock(row)
            edit(row)
            for column in ("client_ids", "thumbprints", "tags"):
                flag_modified(row, column)  # JSON columns changed in place are written too
            s.add(row)
            return row

    def delete_oidc_provider(self, url: str) -> None:
        with self._write() as s:
            row = s.get(OidcProvider, (self.account_id, url))
            if row is None:
                raise NoSuchEntity(
                    f"OpenIDConnect Provider not found for arn {self.oidc_provider_arn(url)}"
                )
            s.delete(row)

    # -- bucket policies ----------------------------------------------------------

    def put_bucket_policy(self, bucket: str, document: str) -> None:
        with self._write() as s:
            row = s.get(BucketPolicy, (self.account_id, bucket)) or BucketPolicy(
                account_id=self.account_id, bucket=bucket, document=document
            )
            row.document, row.updated = document, utcnow()
            s.add(row)

    def get_bucket_policy(self, bucket: str) -> str | None:
        with self._read() as s:
            row = s.get(BucketPolicy, (self.account_id, bucket))
            return row.document if row else None

    def delete_bucket_policy(self, bucket: str) -> bool:
        with self._write() as s:
            row = s.get(BucketPolicy, (self.account_id, bucket))
            if row is not None:
                s.delete(row)
            return row is not None

    # -- LDAP DN -> policy mappings -----------------------------------------------

    def attach_ldap_policies(self, dn_type: str, dn: str, policy_names: Iterable[str]) -> None:
        if dn_type not in ("user", "group"):
            raise InvalidInput("dn_type must be user or group")
        key = normalise_dn(dn)
        with self._write() as s:
            for name in policy_names:
                if s.get(LdapPolicyMapping, (self.account_id, dn_type, key, name)) is None:
                    s.add(
                        LdapPolicyMapping(
                            account_id=self.account_id, dn_type=dn_type, dn=key, policy_name=name
                        )
                    )

    def detach_ldap_policies(self, dn_type: str, dn: str, policy_names: Iterable[str]) -> None:
        with self._write() as s:
            s.exec(
                delete(LdapPolicyMapping).where(
                    LdapPolicyMapping.account_id == self.account_id,
                    LdapPolicyMapping.dn_type == dn_type,
                    LdapPolicyMapping.dn == normalise_dn(dn),
                    col(LdapPolicyMapping.policy_name).in_(list(policy_names)),
                )
            )

    def ldap_policies(self, user_dn: str, group_dns: Iterable[str] = ()) -> list[str]:
        """Policy names mapped to the user's DN or any of its groups' DNs."""
        groups = [normalise_dn(g) for g in group_dns]
        with self._read() as s:
            stmt = select(LdapPolicyMapping.policy_name).where(
                LdapPolicyMapping.account_id == self.account_id,
                or_(
                    (LdapPolicyMapping.dn_type == "user")
                    & (LdapPolicyMapping.dn == normalise_dn(user_dn)),
                    (LdapPolicyMapping.dn_type == "group") & col(LdapPolicyMapping.dn).in_(groups),
                ),
            )
            return sorted(set(s.exec(stmt)))

    # -- revoked sessions -----------------------------------------------------------

    def revoke(
        self,
        kind: str,
        subject: str = "",
        issued_before: datetime | None = None,
        max_lifetime: timedelta = timedelta(hours=36),
    ) -> None:
        """Deny-list a session id, a principal ARN, or everything issued before a time.
        Entries expire once no credential they could hit can still be valid."""
        if kind not in ("session", "user", "before"):
            raise InvalidInput("kind must be session, user or before")
        now = utcnow()
        with self._write() as s:
            s.add(
                RevokedSession(
                    account_id=self.account_id,
                    kind=kind,
                    subject=subject,
                    issued_before=issued_before or now,
                    expires=now + max_lifetime,
                )
            )

    def revocations(self) -> list[RevokedSession]:
        """The live deny-list (expired entries are dropped by `prune_revocations`)."""
        with self._read() as s:
            stmt = select(RevokedSession).where(
                RevokedSession.account_id == self.account_id, RevokedSession.expires > utcnow()
            )
            return list(s.exec(stmt))

    def prune_revocations(self) -> int:
        with database.transaction(self.engine) as s:
            result = s.exec(delete(RevokedSession).where(RevokedSession.expires <= utcnow()))
            return int(result.rowcount or 0)


def _principal(model: Any, ptype: str, name: str) -> Any:
    return (model.principal_type == ptype) & (model.principal_name == name)
