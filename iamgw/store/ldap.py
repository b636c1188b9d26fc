"""LDAP user and group DNs mapped to policy names (`iamgw ldap attach-policy`)."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import or_
from sqlmodel import col, select

from .base import RepositoryBase
from .errors import InvalidInput
from .tables import LdapPolicyMapping


def normalise_dn(dn: str) -> str:
    """LDAP DNs compare case-insensitively and ignore spaces around separators."""
    parts = [rdn.strip() for rdn in dn.split(",")]
    return ",".join("=".join(p.strip() for p in rdn.split("=", 1)) for rdn in parts).lower()


class LdapMappings(RepositoryBase):
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
