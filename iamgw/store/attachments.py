"""Managed policies attached to users, groups and roles; inline policies; permissions
boundaries."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from .base import RepositoryBase, count
from .errors import InvalidInput, LimitExceeded, NoSuchEntity
from .policies import managed_policy_arn, policy_row, resolve_arn
from .principals import principal_is, principal_row
from .tables import Group, InlinePolicy, PolicyAttachment, Role, User

MAX_ATTACHED_POLICIES = 10  # IAM quota: managed policies attached per user, group or role


class Attachments(RepositoryBase):
    def attach_policy(self, ptype: str, name: str, arn: str) -> None:
        with self._write() as s:
            principal = principal_row(s, self.account_id, ptype, name)
            arn = resolve_arn(s, self.account_id, arn)
            if s.get(PolicyAttachment, (self.account_id, ptype, principal.name, arn)) is None:
                s.lock(principal)  # concurrent attaches must not pass the quota together
                held = count(
                    s,
                    PolicyAttachment,
                    PolicyAttachment.account_id == self.account_id,
                    principal_is(PolicyAttachment, ptype, principal.name),
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
                        policy_arn=arn,
                    )
                )
                s.flush_unique("The policy is already attached.")

    def detach_policy(self, ptype: str, name: str, arn: str) -> None:
        with self._write() as s:
            principal = principal_row(s, self.account_id, ptype, name)
            row = s.get(PolicyAttachment, (self.account_id, ptype, principal.name, arn))
            if row is None:
                raise NoSuchEntity(f"Policy {arn} was not found.")
            s.delete(row)

    def attached_policies(self, ptype: str, name: str) -> list[str]:
        with self._read() as s:
            principal = principal_row(s, self.account_id, ptype, name)
            stmt = select(PolicyAttachment.policy_arn).where(
                PolicyAttachment.account_id == self.account_id,
                principal_is(PolicyAttachment, ptype, principal.name),
            )
            return sorted(s.exec(stmt))

    def attachment_count(self, arn: str) -> int:
        with self._read() as s:
            return count(
                s,
                PolicyAttachment,
                PolicyAttachment.account_id == self.account_id,
                PolicyAttachment.policy_arn == arn,
            )

    def policy_entities(self, arn: str) -> list[User | Group | Role]:
        """The users, groups and roles a managed policy is attached to."""
        with self._read() as s:
            policy = policy_row(s, self.account_id, arn)
            stmt = select(PolicyAttachment).where(
                PolicyAttachment.account_id == self.account_id,
                PolicyAttachment.policy_arn == managed_policy_arn(self.account_id, policy),
            )
            out: list[User | Group | Role] = []
            for row in s.exec(stmt):
                try:
                    out.append(
                        principal_row(s, self.account_id, row.principal_type, row.principal_name)
                    )
                except NoSuchEntity:
                    continue
            return out

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

    def set_permissions_boundary(self, ptype: str, name: str, arn: str | None) -> None:
        """Set (or remove, with None) the permissions boundary of a user or role."""
        if ptype not in ("user", "role"):
            raise InvalidInput("Permissions boundaries apply to users and roles only.")
        with self._write() as s:
            principal = principal_row(s, self.account_id, ptype, name)
            if arn is not None:
                arn = resolve_arn(s, self.account_id, arn)
            principal.permissions_boundary = arn  # type: ignore[union-attr]
            s.add(principal)


class InlinePolicies(RepositoryBase):
    def put_inline_policy(self, ptype: str, name: str, policy_name: str, document: str) -> None:
        with self._write() as s:
            principal = principal_row(s, self.account_id, ptype, name)
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
            return self._inline(s, ptype, name, policy_name).document

    def delete_inline_policy(self, ptype: str, name: str, policy_name: str) -> None:
        with self._write() as s:
            s.delete(self._inline(s, ptype, name, policy_name))

    def inline_policies(self, ptype: str, name: str) -> dict[str, str]:
        with self._read() as s:
            principal = principal_row(s, self.account_id, ptype, name)
            stmt = select(InlinePolicy).where(
                InlinePolicy.account_id == self.account_id,
                principal_is(InlinePolicy, ptype, principal.name),
            )
            return {row.policy_name: row.document for row in s.exec(stmt)}

    def _inline(self, s: Session, ptype: str, name: str, policy_name: str) -> InlinePolicy:
        principal = principal_row(s, self.account_id, ptype, name)
        row = s.get(InlinePolicy, (self.account_id, ptype, principal.name, policy_name))
        if row is None:
            raise NoSuchEntity(f"The {ptype} policy with name {policy_name} cannot be found.")
        return row
