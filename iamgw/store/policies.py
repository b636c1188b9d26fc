"""Managed policies and their versions (IAM keeps up to five, one the default)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import delete
from sqlmodel import Session, col, select

from .base import RepositoryBase, count, new_id
from .errors import DeleteConflict, LimitExceeded, NoSuchEntity
from .tables import ManagedPolicy, PolicyAttachment, PolicyVersion, Role, User, utcnow
from .tags import add_tags, remove_tags

MAX_POLICY_VERSIONS = 5  # IAM quota: versions per managed policy


def managed_policy_arn(account_id: str, policy: ManagedPolicy) -> str:
    return f"arn:aws:iam::{account_id}:policy{policy.path}{policy.name}"


def policy_named(s: Session, account_id: str, name: str) -> ManagedPolicy | None:
    return s.exec(
        select(ManagedPolicy).where(
            ManagedPolicy.account_id == account_id, ManagedPolicy.name_key == name.lower()
        )
    ).first()


def policy_row(s: Session, account_id: str, arn_or_name: str) -> ManagedPolicy:
    """The policy by name or by ARN (whose path must match); NoSuchEntity otherwise."""
    name, path = arn_or_name, None
    prefix = f"arn:aws:iam::{account_id}:policy"
    if arn_or_name.startswith("arn:"):
        if not arn_or_name.startswith(prefix + "/"):
            raise NoSuchEntity(f"Policy {arn_or_name} does not exist or is not attachable.")
        path, _, name = arn_or_name[len(prefix) :].rpartition("/")
        path += "/"
    policy = policy_named(s, account_id, name)
    if policy is None or (path is not None and policy.path != path):
        raise NoSuchEntity(f"Policy {arn_or_name} does not exist or is not attachable.")
    return policy


def resolve_arn(s: Session, account_id: str, arn_or_name: str) -> str:
    """The ARN of an existing managed policy, as it is stored in attachments and boundaries."""
    return managed_policy_arn(account_id, policy_row(s, account_id, arn_or_name))


def first_version(policy: ManagedPolicy, document: str) -> PolicyVersion:
    return PolicyVersion(
        policy_id=policy.policy_id,
        version_id="v1",
        account_id=policy.account_id,
        document=document,
    )


def add_version(
    s: Session, policy: ManagedPolicy, document: str, set_default: bool
) -> PolicyVersion:
    version = PolicyVersion(
        policy_id=policy.policy_id,
        version_id=f"v{policy.next_version}",
        account_id=policy.account_id,
        document=document,
    )
    policy.next_version += 1
    policy.updated = utcnow()
    if set_default:
        policy.default_version = version.version_id
    s.add_all([policy, version])
    return version


class Policies(RepositoryBase):
    def policy_arn(self, policy: ManagedPolicy) -> str:
        return managed_policy_arn(self.account_id, policy)

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
            s.add(first_version(policy, document))
        return policy

    def get_policy(self, arn_or_name: str) -> ManagedPolicy:
        with self._read() as s:
            return policy_row(s, self.account_id, arn_or_name)

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
            policy = policy_row(s, self.account_id, arn)
            add_tags(policy, tags)
            s.add(policy)

    def remove_policy_tags(self, arn: str, keys: Iterable[str]) -> None:
        with self._write() as s:
            policy = policy_row(s, self.account_id, arn)
            remove_tags(policy, keys)
            s.add(policy)

    def delete_policy(self, arn: str) -> None:
        with self._write() as s:
            policy = policy_row(s, self.account_id, arn)
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
            policy = policy_row(s, self.account_id, arn_or_name)
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
            policy = policy_row(s, self.account_id, arn)
            stmt = select(PolicyVersion).where(PolicyVersion.policy_id == policy.policy_id)
            return sorted(s.exec(stmt), key=lambda v: -int(v.version_id[1:]))

    def create_policy_version(self, arn: str, document: str, set_default: bool) -> PolicyVersion:
        with self._write() as s:
            policy = policy_row(s, self.account_id, arn)
            s.lock(policy)
            if (
                count(s, PolicyVersion, PolicyVersion.policy_id == policy.policy_id)
                >= MAX_POLICY_VERSIONS
            ):
                raise LimitExceeded(
                    f"A managed policy can have up to {MAX_POLICY_VERSIONS} versions. "
                    "Before you create a new version, you must delete an existing version."
                )
            return add_version(s, policy, document, set_default)

    def set_default_policy_version(self, arn: str, version_id: str) -> None:
        with self._write() as s:
            policy = policy_row(s, self.account_id, arn)
            self._version(s, policy, version_id)
            policy.default_version, policy.updated = version_id, utcnow()
            s.add(policy)

    def delete_policy_version(self, arn: str, version_id: str) -> None:
        with self._write() as s:
            policy = policy_row(s, self.account_id, arn)
            version = self._version(s, policy, version_id)
            if version_id == policy.default_version:
                raise DeleteConflict("Cannot delete the default version of a policy.")
            s.delete(version)
