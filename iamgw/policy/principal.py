"""Principals: who makes a request, and the Principal/NotPrincipal elements naming them.

https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_principal.html
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum, StrEnum
from functools import lru_cache


class PrincipalKind(StrEnum):
    ANONYMOUS = "anonymous"
    ROOT = "root"
    USER = "user"
    ROLE = "role"
    SESSION = "assumed-role"
    FEDERATED_USER = "federated-user"
    SERVICE = "service"
    OTHER = "other"


class Strength(IntEnum):
    """How a Principal element matched a request's principal.

    The strength decides which limits a same-account resource-policy allow bypasses
    (IAM User Guide, "Policy evaluation logic"): a grant to the user or to the
    session ARN itself is not limited by a permissions boundary's or a session
    policy's implicit deny; a grant to the role ARN is; a grant to the account
    delegates to the account's own identity policies.
    """

    NONE = 0
    ACCOUNT = 1
    ROLE = 2
    DIRECT = 3


@dataclass(frozen=True, slots=True)
class Principal:
    """The principal of a request, parsed from its ARN (or service name)."""

    kind: PrincipalKind
    arn: str = ""
    account: str | None = None
    role_name: str | None = None  # for roles and their sessions, without the path

    @classmethod
    def parse(cls, value: str | None) -> Principal:
        return _parse(value)

    @classmethod
    def _parse(cls, value: str | None) -> Principal:
        if not value:
            return ANONYMOUS
        if not value.startswith("arn:"):
            # A service, or an identity provider named by its domain (a Federated
            # `accounts.google.com`) or by a word (`ldap`): outside every account, such a
            # principal has no identity policies; only a resource (trust) policy grants.
            if value.endswith(".amazonaws.com") or "." in value or value in FEDERATED_NAMES:
                return cls(PrincipalKind.SERVICE, value)
            if value.isdigit():
                return cls(PrincipalKind.ROOT, f"arn:aws:iam::{value}:root", value)
            return cls(PrincipalKind.OTHER, value)
        parts = value.split(":", 5)
        if len(parts) < 6:
            return cls(PrincipalKind.OTHER, value)
        service, account, resource = parts[2], parts[4] or None, parts[5]
        rtype, _, rest = resource.partition("/")
        if service == "iam":
            if resource == "root":
                return cls(PrincipalKind.ROOT, value, account)
            if rtype == "user":
                return cls(PrincipalKind.USER, value, account)
            if rtype == "role":
                return cls(PrincipalKind.ROLE, value, account, rest.rsplit("/", 1)[-1])
        elif service == "sts":
            if rtype == "assumed-role":
                return cls(PrincipalKind.SESSION, value, account, rest.split("/", 1)[0])
            if rtype == "federated-user":
                return cls(PrincipalKind.FEDERATED_USER, value, account)
        return cls(PrincipalKind.OTHER, value, account)

    @property
    def anonymous(self) -> bool:
        return self.kind is PrincipalKind.ANONYMOUS

    @property
    def role_arn(self) -> str | None:
        """The role's ARN (path-less) for a role or one of its sessions."""
        if self.role_name is None or self.account is None:
            return None
        return f"arn:aws:iam::{self.account}:role/{self.role_name}"


ANONYMOUS = Principal(PrincipalKind.ANONYMOUS)
# Identity providers that a trust policy names by a word, `{"Federated": "ldap"}`: the
# LDAP directory of MinIO's (and iamgw's) AssumeRoleWithLDAPIdentity.
FEDERATED_NAMES = frozenset({"ldap"})


@lru_cache(maxsize=4096)
def _parse(value: str | None) -> Principal:
    return Principal._parse(value)


PRINCIPAL_TYPES = ("AWS", "Service", "Federated", "CanonicalUser")


def _role_key(arn: str) -> tuple[str, str] | None:
    p = Principal.parse(arn)
    if p.kind is PrincipalKind.ROLE and p.account and p.role_name:
        return (p.account, p.role_name)
    return None


class PrincipalSpec:
    """A compiled Principal or NotPrincipal element."""

    __slots__ = ("everyone", "arns", "accounts", "roles", "services", "others")

    def __init__(self, value: str | dict[str, tuple[str, ...]]) -> None:
        self.everyone = value == "*"
        self.arns: set[str] = set()
        self.accounts: set[str] = set()
        self.roles: set[tuple[str, str]] = set()
        self.services: set[str] = set()
        self.others: set[str] = set()
        if isinstance(value, str):
            return
        for kind, values in value.items():
            for v in values:
                if kind == "AWS":
                    self._add_aws(v)
                elif kind == "Service":
                    self.services.add(v)
                else:
                    self.others.add(v)

    def _add_aws(self, v: str) -> None:
        if v == "*":
            self.everyone = True
        elif v.isdigit():
            self.accounts.add(v)
        elif v.startswith("arn:") and v.endswith(":root"):
            parts = v.split(":")
            if len(parts) == 6 and parts[4]:
                self.accounts.add(parts[4])
        else:
            self.arns.add(v)
            role = _role_key(v)
            if role:
                self.roles.add(role)

    def match(self, p: Principal) -> Strength:
        if self.everyone:
            return Strength.DIRECT
        kind = p.kind
        if kind is PrincipalKind.ANONYMOUS:
            return Strength.NONE
        if kind is PrincipalKind.SERVICE:
            hit = p.arn in self.services or p.arn in self.others
            return Strength.DIRECT if hit else Strength.NONE
        if p.arn in self.arns:
            return Strength.ROLE if kind is PrincipalKind.ROLE else Strength.DIRECT
        if p.arn in self.others:
            return Strength.DIRECT
        if p.role_name is not None and p.account and (p.account, p.role_name) in self.roles:
            return Strength.ROLE
        if p.account is not None and p.account in self.accounts:
            return Strength.ACCOUNT
        return Strength.NONE
