"""Federated users and groups mapped to policy names, applied at each login.

One table for both kinds of federation, keyed by provider: LDAP user and group DNs
under provider "ldap" (`iamgw ldap attach-policy`), the groups of an OpenID provider's
`groups_claim` under the `[[oidc]]` entry's name (`iamgw oidc attach-policy`).

DNs are compared as RFC 4514 (and RFC 4517's distinguishedNameMatch) says: attribute
types without regard to case, values after their escapes are decoded, the spaces
around separators ignored, the AVAs of a multi-valued RDN in any order; values
compare as caseIgnoreMatch does (RFC 4518: case and runs of spaces are
insignificant), which is what `cn`, `uid`, `ou` and `dc` use. Attribute types given
as OIDs are not mapped to their names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import and_, or_
from sqlmodel import col, select

from .base import RepositoryBase
from .errors import InvalidInput, NoSuchEntity
from .tables import FederatedPolicyMapping

LDAP_PROVIDER = "ldap"
KINDS = ("user", "group")
_TYPE = re.compile(r"[A-Za-z][A-Za-z0-9-]*|[0-9]+(\.[0-9]+)*")
_HEX_PAIR = re.compile(r"[0-9A-Fa-f]{2}")
_HEX_STRING = re.compile(r"#([0-9A-Fa-f]{2})+")
_ESCAPED = frozenset(' "#+,;<=>\\')  # RFC 4514 §3: what may follow a backslash
_SPECIAL = frozenset('"+,;<>\\')  # RFC 4514 §2.4: escaped wherever they occur


def normalise_dn(dn: str) -> str:
    """The DN in one canonical form: two DNs naming the same entry give the same text
    (`CN=S3  Readers , OU=Groups` and `cn=s3 readers,ou=groups`). InvalidInput when it
    is not a DN."""
    rdns = []
    for rdn in _parse(dn):
        avas = sorted(f"{typ}={_escape(value)}" for typ, value in rdn)
        rdns.append("+".join(avas))
    return ",".join(rdns)


def _parse(dn: str) -> list[list[tuple[str, str]]]:
    """RFC 4514 §3: RDNs separated by `,`, AVAs by `+`; (type, decoded value) pairs."""
    if not dn.strip():
        return []
    rdns: list[list[tuple[str, str]]] = []
    avas: list[tuple[str, str]] = []
    i, n = 0, len(dn)
    while True:
        equals = dn.find("=", i)
        if equals < 0:
            raise InvalidInput(f"not a DN: an attribute has no '=' ({dn[:128]!r})")
        typ = dn[i:equals].strip()
        if not _TYPE.fullmatch(typ):
            raise InvalidInput(f"not a DN: {typ[:64]!r} is not an attribute type")
        value, i = _value(dn, equals + 1)
        avas.append((typ.lower(), value))
        if i >= n:
            rdns.append(avas)
            return rdns
        if dn[i] == ",":
            rdns.append(avas)
            avas = []
        i += 1


def _value(dn: str, i: int) -> tuple[str, int]:
    """The value starting at `i` (decoded, case and spaces folded) and where it ends."""
    n = len(dn)
    while i < n and dn[i] == " ":
        i += 1
    end = i
    while end < n and dn[end] not in ",+":
        end += 2 if dn[end] == "\\" else 1
    if end > n:
        raise InvalidInput(f"not a DN: it ends with a lone backslash ({dn[:128]!r})")
    raw = dn[i:end].rstrip(" ")
    if len(raw) < end - i and (len(raw) - len(raw.rstrip("\\"))) % 2:
        raw += " "  # the last space was escaped: "\\ "
    if _HEX_STRING.fullmatch(raw):
        return raw.lower(), end  # a BER value (#04...): compared as written
    out = bytearray()
    j = 0
    while j < len(raw):
        c = raw[j]
        if c != "\\":
            out += c.encode()
            j += 1
            continue
        pair = raw[j + 1 : j + 3]
        if _HEX_PAIR.fullmatch(pair):
            out.append(int(pair, 16))
            j += 3
        elif j + 1 < len(raw) and raw[j + 1] in _ESCAPED:
            out += raw[j + 1].encode()
            j += 2
        else:
            raise InvalidInput(f"not a DN: a bad escape in {raw[:128]!r}")
    try:
        text = out.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidInput("not a DN: an escaped value is not UTF-8") from None
    return " ".join(text.split()).lower(), end


def _escape(value: str) -> str:
    if value.startswith("#") and _HEX_STRING.fullmatch(value):
        return value
    out = "".join(f"\\{c}" if c in _SPECIAL else "\\00" if c == "\x00" else c for c in value)
    if out.startswith(("#", " ")):
        out = "\\" + out
    return out


class LdapMappings(RepositoryBase):
    """LDAP DNs and OpenID groups -> policy names."""

    # -- LDAP ---------------------------------------------------------------------------

    def attach_ldap_policies(self, kind: str, dn: str, policy_names: Iterable[str]) -> None:
        self._attach(LDAP_PROVIDER, kind, normalise_dn(dn), policy_names)

    def detach_ldap_policies(self, kind: str, dn: str, policy_names: Iterable[str]) -> None:
        """NoSuchEntity (and nothing detached) when a policy is not mapped to the DN."""
        self._detach(LDAP_PROVIDER, kind, normalise_dn(dn), policy_names)

    def ldap_policies(self, user_dn: str, group_dns: Iterable[str] = ()) -> list[str]:
        """Policy names mapped to the user's DN or any of its groups' DNs."""
        groups = {normalise_dn(g) for g in group_dns}
        return self._mapped(LDAP_PROVIDER, normalise_dn(user_dn), groups)

    # -- OpenID groups ------------------------------------------------------------------

    def attach_oidc_group_policies(
        self, provider: str, group: str, policy_names: Iterable[str]
    ) -> None:
        self._attach(_oidc(provider), "group", _group(group), policy_names)

    def detach_oidc_group_policies(
        self, provider: str, group: str, policy_names: Iterable[str]
    ) -> None:
        self._detach(_oidc(provider), "group", _group(group), policy_names)

    def oidc_group_policies(self, provider: str, groups: Iterable[str]) -> list[str]:
        """Policy names mapped to any of `groups` of the OpenID provider `provider`."""
        return self._mapped(provider, None, set(groups))

    # -- listing ----------------------------------------------------------------------

    def ldap_mappings(self) -> list[FederatedPolicyMapping]:
        """The LDAP DN mappings, ordered by kind, DN and policy."""
        return self.policy_mappings(LDAP_PROVIDER)

    def policy_mappings(self, provider: str) -> list[FederatedPolicyMapping]:
        """The mappings of one provider (`ldap`, or an OpenID provider's name)."""
        return self._list(FederatedPolicyMapping.provider == provider)

    def oidc_group_mappings(self, provider: str | None = None) -> list[FederatedPolicyMapping]:
        """The OpenID group mappings (of one provider), ordered by provider, group, policy."""
        m = FederatedPolicyMapping
        return self._list(m.provider == provider if provider else m.provider != LDAP_PROVIDER)

    def _list(self, where: Any) -> list[FederatedPolicyMapping]:
        m = FederatedPolicyMapping
        with self._read() as s:
            stmt = select(m).where(m.account_id == self.account_id, where)
            return list(s.exec(stmt.order_by(m.provider, m.kind, m.subject, m.policy_name)))

    def _attach(self, provider: str, kind: str, subject: str, names: Iterable[str]) -> None:
        _check_kind(kind)
        with self._write() as s:
            for name in dict.fromkeys(names):
                key = (self.account_id, provider, kind, subject, name)
                if s.get(FederatedPolicyMapping, key) is None:
                    s.add(
                        FederatedPolicyMapping(
                            account_id=self.account_id,
                            provider=provider,
                            kind=kind,
                            subject=subject,
                            policy_name=name,
                        )
                    )

    def _detach(self, provider: str, kind: str, subject: str, names: Iterable[str]) -> None:
        _check_kind(kind)
        with self._write() as s:
            rows = []
            for name in dict.fromkeys(names):
                key = (self.account_id, provider, kind, subject, name)
                row = s.get(FederatedPolicyMapping, key)
                if row is None:
                    raise NoSuchEntity(f"Policy {name} is not attached to {kind} {subject}.")
                rows.append(row)
            for row in rows:
                s.delete(row)

    def _mapped(self, provider: str, user: str | None, groups: set[str]) -> list[str]:
        m = FederatedPolicyMapping
        matches = []
        if user is not None:
            matches.append(and_(m.kind == "user", m.subject == user))
        if groups:
            matches.append(and_(m.kind == "group", col(m.subject).in_(sorted(groups))))
        if not matches:
            return []
        with self._read() as s:
            stmt = select(m.policy_name).where(
                m.account_id == self.account_id, m.provider == provider, or_(*matches)
            )
            return sorted(set(s.exec(stmt)))


def _check_kind(kind: str) -> None:
    if kind not in KINDS:
        raise InvalidInput("kind must be user or group")


def _oidc(provider: str) -> str:
    if not provider or provider == LDAP_PROVIDER:
        raise InvalidInput(f"{provider!r} is not the name of an OpenID provider")
    return provider


def _group(group: str) -> str:
    if not group or len(group) > 1024:
        raise InvalidInput("a group name must be 1 to 1024 characters long")
    return group
