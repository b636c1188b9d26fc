"""What the directory's entries say: the user's entry, its account state, its groups.

RFC 4515 (filters: every value put into one is escaped), RFC 4514 (DNs, compared
normalised), RFC 2696 (paged results), MS-ADTS 3.1.1.3.4.4.3 (AD's
LDAP_MATCHING_RULE_IN_CHAIN), 2.2.16 (userAccountControl) and slapo-ppolicy(5).
Searches run on a service-account connection in a worker thread.
"""

from __future__ import annotations

import functools
import logging
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from typing import Any

from ..config import LdapSettings
from .ldap_conn import TRANSPORT_ERRORS, result

try:
    import ldap
    import ldap.dn
    import ldap.filter
    from ldap.controls import SimplePagedResultsControl
except ImportError:  # pragma: no cover - iamgw[ldap] not installed: LdapDirectory says so
    ldap = None  # type: ignore[assignment]

log = logging.getLogger("iamgw.ldap")

Attrs = dict[str, list[bytes]]

PAGE_SIZE = 500
NESTED_DEPTH = 8  # levels of groups in groups walked beyond the user's own groups
MAX_GROUPS = 1000
NESTED_BATCH = 50  # groups per nested-walk filter
UF_ACCOUNTDISABLE = 0x2  # userAccountControl
UF_LOCKOUT = 0x10  # msDS-User-Account-Control-Computed (AD works out lockout expiry)
AD_CAPABILITY = "1.2.840.113556.1.4.800"  # LDAP_CAP_ACTIVE_DIRECTORY_OID
IN_CHAIN = "1.2.840.113556.1.4.1941"  # LDAP_MATCHING_RULE_IN_CHAIN
PPOLICY_LOCKED_FOR_GOOD = "000001010000Z"  # pwdAccountLockedTime: until an admin unlocks
USER_ATTRS = ["memberOf", "userAccountControl", "lockoutTime", "pwdAccountLockedTime"]


def normalise_dn(dn: str) -> str:
    """The DN in one canonical form, so that two spellings of one entry compare equal:
    attribute types and values lower-cased, escapes decoded and written one way, runs of
    spaces folded (caseIgnoreMatch, RFC 4518), the AVAs of a multi-valued RDN sorted.
    ValueError when `dn` is not a DN (RFC 4514)."""
    # Every login normalises its user's and groups' DNs, mostly the same ones again.
    return _normalised(dn) if len(dn) <= 1024 else _normalise(dn)


def _normalise(dn: str) -> str:
    if ldap is None:  # pragma: no cover
        raise RuntimeError("python-ldap is not installed: pip install 'iamgw[ldap]'")
    try:
        rdns = ldap.dn.str2dn(dn)
    except (ldap.DECODING_ERROR, UnicodeError):
        raise ValueError("not a DN") from None
    out = []
    for rdn in rdns:
        avas = []
        for typ, value, flags in rdn:
            if flags & ldap.AVA_BINARY:  # #hex BER value: compared as written
                text = "#" + value.encode("utf-8", "surrogateescape").hex()
            else:
                text = _escape_value(" ".join(value.split()).lower())
            avas.append(f"{typ.lower()}={text}")
        out.append("+".join(sorted(avas)))
    return ",".join(out)


_normalised = functools.lru_cache(maxsize=4096)(_normalise)


def _escape_value(value: str) -> str:
    # RFC 4514 §2.4: these are escaped wherever they occur, '#' and ' ' only first.
    out = "".join(f"\\{c}" if c in '"+,;<>\\' else "\\00" if c == "\x00" else c for c in value)
    return "\\" + out if out.startswith(("#", " ")) else out


def dn_key(dn: str) -> str:
    """normalise_dn, or the lower-cased text of a DN python-ldap cannot parse."""
    try:
        return normalise_dn(dn)
    except ValueError:
        return dn.lower()


def fill(template: str, **values: str) -> str:
    """`{username}` / `{user_dn}` in a filter, each value escaped (RFC 4515 §3); in one
    pass, so that a value holding the text `{user_dn}` is not filled in again."""
    escaped = {key: ldap.filter.escape_filter_chars(value) for key, value in values.items()}
    return re.sub(r"\{(username|user_dn)\}", lambda m: escaped.get(m[1], m[0]), template)


def username_attribute(user_filter: str) -> str | None:
    """`uid` for `(uid={username})`, `sAMAccountName` for AD's filters: the attribute
    that holds the user name as the directory writes it."""
    match = re.search(r"\(([A-Za-z][A-Za-z0-9-]*)=\{username\}\)", user_filter)
    return match[1] if match else None


def values(attrs: Attrs, name: str) -> list[str]:
    for key, raw in attrs.items():
        if key.lower() == name.lower():
            return [v.decode("utf-8", "replace") for v in raw]
    return []


def _first(attrs: Attrs, name: str) -> str | None:
    found = values(attrs, name)
    return found[0] if found else None


def _int(text: str | None) -> int:
    try:
        return int(text) if text is not None else 0
    except ValueError:
        return 0


def refused_before_bind(attrs: Attrs) -> bool:
    """Disabled whatever the password: AD's ACCOUNTDISABLE, or ppolicy's lock set by an
    administrator."""
    if _int(_first(attrs, "userAccountControl")) & UF_ACCOUNTDISABLE:
        return True
    return _first(attrs, "pwdAccountLockedTime") == PPOLICY_LOCKED_FOR_GOOD


def may_be_locked(attrs: Attrs) -> bool:
    """A lockout that may have run out: AD keeps lockoutTime until the next good logon,
    ppolicy a timed pwdAccountLockedTime until the next good bind. Read again after the
    user's bind (`locked_now`), not refused for good."""
    return (
        _int(_first(attrs, "lockoutTime")) > 0 or _first(attrs, "pwdAccountLockedTime") is not None
    )


def locked_now(attrs: Attrs) -> bool:
    """The entry read again after a good bind: AD computes lockout expiry in
    msDS-User-Account-Control-Computed (base searches only); ppolicy has removed an
    expired pwdAccountLockedTime on that bind, so one still there is a lock."""
    if refused_before_bind(attrs):
        return True
    computed = _first(attrs, "msDS-User-Account-Control-Computed")
    if computed is not None:
        return bool(_int(computed) & (UF_LOCKOUT | UF_ACCOUNTDISABLE))
    return may_be_locked(attrs)


def directory_name(attrs: Attrs, attribute: str | None, typed: str) -> str:
    """The user name as the directory writes it (`Alice` typed, `alice` held)."""
    held = values(attrs, attribute) if attribute else []
    same = [v for v in held if v.casefold() == typed.strip().casefold()]
    return (same or held or [typed])[0]


def find_user(
    ld: Any, settings: LdapSettings, username: str, attribute: str | None, deadline: float
) -> tuple[str, Attrs] | None:
    """The one entry the user filter finds, or None (none, or more than one)."""
    attrs = USER_ATTRS + ([attribute] if attribute else [])
    query = fill(settings.user_search_filter, username=username)
    try:
        msgid = ld.search_ext(
            settings.user_search_base, ldap.SCOPE_SUBTREE, query, attrs, sizelimit=2
        )
        _, entries, _, _ = result(ld, msgid, deadline)
    except (ldap.SIZELIMIT_EXCEEDED, ldap.NO_SUCH_OBJECT):
        return None
    found = [(dn, a) for dn, a in entries if dn is not None]  # search references left out
    return found[0] if len(found) == 1 else None


def read_account(ld: Any, user_dn: str, deadline: float) -> Attrs | None:
    attrs = [*USER_ATTRS, "msDS-User-Account-Control-Computed"]
    try:
        msgid = ld.search_ext(user_dn, ldap.SCOPE_BASE, "(objectClass=*)", attrs)
        _, entries, _, _ = result(ld, msgid, deadline)
    except ldap.NO_SUCH_OBJECT:
        return None
    return next((a for dn, a in entries if dn is not None), None)


def supports_in_chain(ld: Any, deadline: float) -> bool:
    """Whether the rootDSE says Active Directory (every AD since 2003 SP2 has the
    in-chain rule) or names the rule itself."""
    names = ["supportedCapabilities", "supportedControl"]
    try:
        msgid = ld.search_ext("", ldap.SCOPE_BASE, "(objectClass=*)", names)
        _, entries, _, _ = result(ld, msgid, deadline)
    except TRANSPORT_ERRORS:
        raise
    except ldap.LDAPError:  # a rootDSE hidden from the service account: walk ourselves
        return False
    root = next((a for dn, a in entries if dn is not None), {})
    advertised = {v for name in names for v in values(root, name)}
    return AD_CAPABILITY in advertised or IN_CHAIN in advertised


class NestedGroups:
    """What the breadth-first walk found above a set of groups (the groups those are in,
    at any depth), kept `seconds`; at most `size` sets, the oldest dropped first.
    Thread-safe."""

    def __init__(self, seconds: float, size: int = 1024) -> None:
        self.seconds = seconds
        self.size = size
        self._found: OrderedDict[frozenset[str], tuple[float, list[str]]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, groups: frozenset[str]) -> list[str] | None:
        with self._lock:
            kept = self._found.get(groups)
            if kept is None or time.monotonic() - kept[0] >= self.seconds:
                return None
            return kept[1]

    def put(self, groups: frozenset[str], above: list[str]) -> None:
        with self._lock:
            self._found.pop(groups, None)
            self._found[groups] = (time.monotonic(), above)
            while len(self._found) > self.size:
                self._found.popitem(last=False)


def find_groups(
    ld: Any,
    settings: LdapSettings,
    in_chain: bool,
    deadline: float,
    user_dn: str,
    username: str,
    attrs: Attrs,
    nested: NestedGroups | None = None,
) -> list[str]:
    """The user's groups as DNs: memberOf on the entry, what `group_search_filter` finds,
    and the groups those are in (AD's in-chain rule, else a bounded breadth-first walk,
    whose outcome `nested` keeps a few seconds: the user's own groups are always read)."""
    base = settings.group_search_base
    found: dict[str, str] = {}  # normalised -> as the directory wrote it

    def add(dns: Iterable[str]) -> list[str]:
        new = []
        for dn in dns:
            key = dn_key(dn)
            if key not in found and len(found) < MAX_GROUPS:
                found[key] = dn
                new.append(dn)
        return new

    add(values(attrs, "memberOf"))  # AD, and OpenLDAP's memberof overlay
    if not base:
        return list(found.values())
    if settings.group_search_filter:
        query = fill(settings.group_search_filter, user_dn=user_dn, username=username)
        add(paged_dns(ld, base, query, deadline))
    if in_chain:  # AD follows the nesting itself, however deep
        chain = f"(member:{IN_CHAIN}:={ldap.filter.escape_filter_chars(user_dn)})"
        add(paged_dns(ld, base, chain, deadline))
        return list(found.values())
    own = frozenset(found)
    above = nested.get(own) if nested is not None and own else None
    if above is not None:
        add(above)
        return list(found.values())
    frontier = list(found.values())
    for _ in range(NESTED_DEPTH):
        if not frontier or len(found) >= MAX_GROUPS:
            break
        below, frontier = frontier, []
        for start in range(0, len(below), NESTED_BATCH):
            query = _parents(below[start : start + NESTED_BATCH])
            frontier += add(paged_dns(ld, base, query, deadline))
    if frontier or len(found) >= MAX_GROUPS:
        log.warning(
            "LDAP: the groups of %s cut at %d groups or %d levels of nesting",
            user_dn,
            MAX_GROUPS,
            NESTED_DEPTH,
        )
    if nested is not None and own:
        nested.put(own, [dn for key, dn in found.items() if key not in own])
    return list(found.values())


def _parents(groups: list[str]) -> str:
    """Groups that have any of `groups` as a member (groupOfNames, groupOfUniqueNames).
    Not `group_search_filter`: its `{username}` means nothing for a group, and filling in
    a group's name there could match a user who happens to bear it."""
    escaped = (ldap.filter.escape_filter_chars(g) for g in groups)
    return "(|" + "".join(f"(member={e})(uniqueMember={e})" for e in escaped) + ")"


def paged_dns(ld: Any, base: str, query: str, deadline: float) -> Iterator[str]:
    """The DNs a subtree search finds, page by page (RFC 2696; AD gives at most 1000
    entries per search without it); a server without paging answers in one go."""
    page = SimplePagedResultsControl(criticality=False, size=PAGE_SIZE, cookie=b"")
    while True:
        try:
            msgid = ld.search_ext(base, ldap.SCOPE_SUBTREE, query, ["1.1"], serverctrls=[page])
            _, entries, _, controls = result(ld, msgid, deadline)
        except ldap.NO_SUCH_OBJECT:
            return
        yield from (dn for dn, _ in entries if dn is not None)
        cookie = next(
            (c.cookie for c in controls if c.controlType == SimplePagedResultsControl.controlType),
            b"",
        )
        if not cookie:
            return
        page.cookie = cookie
