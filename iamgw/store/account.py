"""What the account holds, counted (GetAccountSummary)."""

from __future__ import annotations

from .base import RepositoryBase, count
from .tables import Group, ManagedPolicy, OidcProvider, PolicyVersion, Role, User


class Account(RepositoryBase):
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
