"""LDAP and Active Directory logins: find the user, bind as them, find their groups.

RFC 4511 (operations), RFC 4513 §5.1 (simple bind: an empty password would be an
unauthenticated bind, so it is refused before any bind), RFC 4515 and RFC 4514 (the
user name escaped in filters, DNs compared normalised: `ldap_entries`), and for
Active Directory MS-ADTS (memberOf, the in-chain rule, userAccountControl).

    LdapError
    ├── LdapUnavailable   no server answered in time (says which, and why)
    ├── LdapDenied        wrong password, unknown user, empty password, disabled or
    │                     locked account: one message, never saying which
    └── LdapThrottled     too many failed logins for this user name or source address

python-ldap blocks, so a login's directory work (search, bind, groups) runs in one
go in one of this directory's own THREADS threads: a hung directory holds those
threads only, never the ones the gateway needs. Every call in it has a timeout cut
to what is left of LOGIN_BUDGET (every server and retry included: `ldap_conn`). A
server that fails is tried after the others for a few seconds, never skipped, so
logins work again as soon as it answers. What groups hold other groups (the nested
walk beyond the user's own groups, which are read at every login) is kept
NESTED_SECONDS (`ldap_entries.NestedGroups`).
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import logging
import secrets
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import anyio

from ..config import LdapSettings
from .ldap_conn import (
    TRANSPORT_ERRORS,
    Pool,
    ServerFailed,
    Servers,
    Threads,
    closed_on_error,
    describe,
    open_connection,
    result,
    set_timeouts,
)
from .ldap_entries import (
    NestedGroups,
    directory_name,
    find_groups,
    find_user,
    locked_now,
    may_be_locked,
    normalise_dn,
    read_account,
    refused_before_bind,
    supports_in_chain,
    username_attribute,
)
from .throttle import FailedLogins

try:
    import ldap
except ImportError:  # pragma: no cover - iamgw[ldap] not installed: LdapDirectory says so
    ldap = None  # type: ignore[assignment]

__all__ = [
    "LdapDenied",
    "LdapDirectory",
    "LdapError",
    "LdapLogin",
    "LdapThrottled",
    "LdapUnavailable",
    "normalise_dn",
]

log = logging.getLogger("iamgw.ldap")

T = TypeVar("T")

LOGIN_BUDGET = 4.5  # seconds for a whole login, every server tried (the issue: < 5 s)
POOL_SIZE = 4  # service-account connections
THREADS = 8  # worker threads a directory may hold at once (and bind-only connections)
NAME_FAILURES = 5  # failed logins per user name ...
SOURCE_FAILURES = 20  # ... and per source address ...
FAILURE_WINDOW = 60.0  # ... within this many seconds, then LdapThrottled
MAX_NAME_LENGTH = 256
NESTED_SECONDS = 5.0  # the groups above a user's groups are looked up again after this
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


@dataclass(frozen=True)
class LdapLogin:
    """Who logged in: the user name and DN as the directory holds them, and every group
    (nested ones included, up to 8 levels and 1000 groups) as DNs."""

    username: str
    user_dn: str
    group_dns: tuple[str, ...]


class LdapError(Exception):
    """An LDAP login did not succeed."""


class LdapUnavailable(LdapError):
    """No directory server answered in time."""


class LdapDenied(LdapError):
    """The user name and password do not open a login (the reason is never told)."""

    MESSAGE = "LDAP login refused: wrong user name or password, or the account is disabled"

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class LdapThrottled(LdapError):
    """Too many failed logins for this user name or source address."""

    MESSAGE = "too many failed LDAP logins; try again later"

    def __init__(self) -> None:
        super().__init__(self.MESSAGE)


class LdapDirectory:
    """Logins against the `[ldap]` directory; one per gateway process. `metrics`: an
    object with `ldap_logins`, `ldap_latency`, `ldap_errors` (iamgw.ops.Metrics), each
    optional."""

    def __init__(self, settings: LdapSettings, *, metrics: object | None = None) -> None:
        if ldap is None:  # pragma: no cover
            raise LdapError("python-ldap is not installed: pip install 'iamgw[ldap]'")
        if not settings.urls:
            raise ValueError("[ldap] url is empty: LDAP logins are off")
        self.settings = settings
        self._metrics = metrics
        self._children: dict[tuple[str, str], Any] = {}  # metric children by label
        self._servers = Servers(settings.urls)
        self._service = Pool(POOL_SIZE, self._open_service)
        # User binds never run on the service account's connections: a search after
        # them would run as the user (or, after a refused bind, as nobody).
        self._binds = Pool(THREADS, lambda url, deadline: open_connection(url, settings, deadline))
        self._in_chain: dict[str, bool] = {}
        self._nested = NestedGroups(NESTED_SECONDS)
        self._username_attr = username_attribute(settings.user_search_filter)
        self._names = FailedLogins(NAME_FAILURES, FAILURE_WINDOW)
        self._sources = FailedLogins(SOURCE_FAILURES, FAILURE_WINDOW)
        self._threads = Threads(THREADS)  # its own: not those the rest of the gateway uses
        self._closed = False
        for url in settings.urls:
            plain = url.lower().startswith("ldap://") and not settings.start_tls
            if plain and urlsplit(url).hostname not in LOOPBACK_HOSTS:
                log.warning("LDAP: %s without start_tls: passwords cross the network in clear", url)

    def __repr__(self) -> str:
        return f"LdapDirectory({' '.join(self._servers.urls)!r})"

    async def login(
        self, username: str, password: str, source: str | None = None, *, confirm: bool = True
    ) -> LdapLogin:
        """The user's login, or LdapDenied / LdapThrottled / LdapUnavailable. `source`:
        the client's address, for the per-address limit of failed logins.

        `confirm=False`: a success leaves the name's failures counted until the caller
        says `confirm(username)` (it grants the login) or `refuse(username)` (it does not,
        which counts as a wrong password), so that a right password refused afterwards
        (no policy, a trust policy) cannot be told from a wrong one by the throttling."""
        deadline = time.monotonic() + LOGIN_BUDGET
        keys = [(self._names, name_key(username))]
        if source is not None:
            keys.append((self._sources, source_key(source)))
        started: list[tuple[FailedLogins, str]] = []
        failed = False
        try:
            for counter, key in keys:
                verdict = counter.try_begin(key)
                if verdict is None:  # attempts in flight: wait for one, within the budget
                    with anyio.move_on_after(max(0.0, deadline - time.monotonic())):
                        verdict = await counter.begin(key)
                    if verdict is None:
                        self._count("unavailable")
                        raise LdapUnavailable("LDAP: earlier logins of this name are still waiting")
                if not verdict:
                    self._count("throttled")
                    log.info("LDAP login throttled: %r from %s", keys[0][1], source)
                    raise LdapThrottled
                started.append((counter, key))
            try:
                found = await self._login(username, password, deadline)
            except LdapDenied:
                failed = True
                self._count("denied")
                log.info("LDAP login refused: %r from %s", keys[0][1], source)
                raise
            except LdapUnavailable as exc:
                self._count("unavailable")
                log.warning("%s", exc)
                raise
        finally:
            for counter, key in started:
                counter.end(key, failed=failed)
        if confirm:
            self._names.clear(keys[0][1])
        self._count("ok")
        return found

    def confirm(self, username: str) -> None:
        """The login of `username` was granted: its failures are forgotten."""
        self._names.clear(name_key(username))

    def refuse(self, username: str) -> None:
        """The login of `username` succeeded at the directory but was refused."""
        self._names.fail(name_key(username))

    async def aclose(self) -> None:
        """Close the pooled connections; later logins are LdapUnavailable."""
        self._closed = True
        try:
            await self._threads.start(self._close)
        finally:
            self._threads.stop()

    def _close(self) -> None:
        self._service.close()
        self._binds.close()

    async def _login(self, username: str, password: str, deadline: float) -> LdapLogin:
        if not _acceptable(username, password):
            raise LdapDenied  # before any bind: an empty password would be anonymous
        if self._threads.busy >= THREADS:
            # The thread's calls end by the deadline; the wait for a free thread might not.
            with anyio.move_on_after(max(0.0, deadline - time.monotonic()) + 0.2):
                await self._threads.free()
            if self._threads.busy >= THREADS:
                raise LdapUnavailable(
                    f"LDAP: no server answered within {LOGIN_BUDGET:g}s (all busy)"
                )
        if self._closed:
            raise LdapUnavailable("LDAP: the directory client is closed")
        work = self._threads.start(self._login_sync, username, password, deadline)
        # Shielded: a caller cancelled meanwhile leaves the work to end by its deadline.
        return await asyncio.shield(work)

    # ---- in a worker thread -----------------------------------------------------------

    def _login_sync(self, username: str, password: str, deadline: float) -> LdapLogin:
        reasons = []
        for url in self._servers.order():
            if time.monotonic() >= deadline:
                reasons.append(f"{url}: not tried, out of time")
                continue
            began = time.monotonic()
            try:
                login = self._login_on(url, username, password, deadline)
            except ServerFailed as exc:
                self._servers.failed(url)
                self._observe("ldap_errors", url)
                reasons.append(f"{url}: {exc}{self._tls_hint(url, str(exc))}")
                continue
            except LdapDenied:
                self._servers.answered(url)
                raise
            finally:
                self._observe("ldap_latency", url, time.monotonic() - began)
            self._servers.answered(url)
            return login
        raise LdapUnavailable(
            f"LDAP: no server answered within {LOGIN_BUDGET:g}s: " + "; ".join(reasons)
        )

    def _login_on(self, url: str, username: str, password: str, deadline: float) -> LdapLogin:
        s = self.settings
        entry = self._service_call(
            url, lambda ld: find_user(ld, s, username, self._username_attr, deadline), deadline
        )
        if entry is None or refused_before_bind(entry[1]):
            # The same work as a wrong password (one bind), so that the answer takes as
            # long and tells nothing about whether the user exists.
            dummy_dn = f"cn=iamgw-no-such-user-{secrets.token_hex(8)},{s.user_search_base}"
            self._bind_as(url, dummy_dn, secrets.token_urlsafe(16), deadline)
            raise LdapDenied
        user_dn, attrs = entry
        if not self._bind_as(url, user_dn, password, deadline):
            raise LdapDenied
        if may_be_locked(attrs):
            again = self._service_call(
                url, lambda ld: read_account(ld, user_dn, deadline), deadline
            )
            if again is None or locked_now(again):
                raise LdapDenied
        name = directory_name(attrs, self._username_attr, username)
        in_chain = self._in_chain.get(url, False)
        groups = self._service_call(
            url,
            lambda ld: find_groups(ld, s, in_chain, deadline, user_dn, name, attrs, self._nested),
            deadline,
        )
        return LdapLogin(username=name, user_dn=user_dn, group_dns=tuple(groups))

    def _service_call(self, url: str, work: Callable[[Any], T], deadline: float) -> T:
        """`work(ld)` on a pooled service connection. One the server has closed meanwhile
        is replaced once before the server counts as failed; any other error closes the
        connection (the next one is bound afresh)."""
        for attempt in range(2):
            conn, reused = self._service.take(url, deadline)
            try:
                set_timeouts(conn.ld, deadline)
                answer = work(conn.ld)
            except ldap.SERVER_DOWN as exc:
                self._service.discard(conn)
                if reused and attempt == 0:
                    continue
                raise ServerFailed(describe(exc)) from None
            except ldap.LDAPError as exc:
                self._service.discard(conn)
                raise ServerFailed(describe(exc)) from None
            except BaseException:
                self._service.discard(conn)
                raise
            self._service.give(conn)
            return answer
        raise AssertionError("unreachable")  # pragma: no cover

    def _bind_as(self, url: str, dn: str, password: str, deadline: float) -> bool:
        """Whether the directory takes `password` for `dn` (on a bind-only connection)."""
        conn, _ = self._binds.take(url, deadline)
        try:
            set_timeouts(conn.ld, deadline)
            result(conn.ld, conn.ld.simple_bind(dn, password), deadline)
        except TRANSPORT_ERRORS as exc:
            self._binds.discard(conn)
            raise ServerFailed(describe(exc)) from None
        except ldap.LDAPError:
            # invalidCredentials, also what AD and ppolicy answer for a locked account.
            self._binds.give(conn)
            return False
        except BaseException:
            self._binds.discard(conn)
            raise
        self._binds.give(conn)
        return True

    def _open_service(self, url: str, deadline: float) -> Any:
        """A connection bound as the service account (anonymous when bind_dn is empty)."""
        s = self.settings
        ld = open_connection(url, s, deadline)
        with closed_on_error(url, ld):
            if s.bind_dn:
                try:
                    result(ld, ld.simple_bind(s.bind_dn, s.bind_password), deadline)
                except ldap.INVALID_CREDENTIALS:
                    raise ServerFailed("the service account (bind_dn) was refused") from None
            if url not in self._in_chain:
                self._in_chain[url] = supports_in_chain(ld, deadline)
        return ld

    def _tls_hint(self, url: str, reason: str) -> str:
        # libldap says no more than this when the TLS handshake or its checks fail.
        tls = url.lower().startswith("ldaps://") or self.settings.start_tls
        if tls and reason in ("Can't contact LDAP server", "Connect error"):
            return " (TLS: is the certificate from ca_file's CA, and for this host name?)"
        return ""

    def _count(self, outcome: str) -> None:
        counter = self._child("ldap_logins", outcome)
        if counter is not None:
            counter.inc()

    def _observe(self, metric: str, server: str, seconds: float | None = None) -> None:
        family = self._child(metric, server)
        if family is None:
            return
        if seconds is None:
            family.inc()
        else:
            family.observe(seconds)

    def _child(self, metric: str, label: str) -> Any:
        """The metric's child for `label` (looked up once: `labels()` takes a lock and
        builds a key every time), None without that metric."""
        key = (metric, label)
        child = self._children.get(key)
        if child is None:
            family = getattr(self._metrics, metric, None)
            if family is None:
                return None
            child = self._children[key] = family.labels(label)
        return child


def source_key(source: str) -> str:
    """The throttling key of a client address: an IPv6 client is counted by its /64 (one
    host is given a whole /64, and could otherwise take a new address per guess)."""
    return _source_key(source) if len(source) <= 64 else _address_key(source)


def _address_key(source: str) -> str:
    try:
        address = ipaddress.ip_address(source)
    except ValueError:
        return source[:64]
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


def name_key(username: str) -> str:
    """The throttling key of a user name: the directory matches names loosely (OpenLDAP
    folds case and compatibility forms: `ａｌｉｃｅ` and `𝐚lice` log in as alice), so every
    spelling that could name the same entry shares one key: compatibility-decomposed,
    case-folded, without combining marks, format characters or spaces. Bounded in size:
    a refused 1 MB name is not kept whole."""
    return _name_key(username) if len(username) <= MAX_NAME_LENGTH else _folded(username)


def _folded(username: str) -> str:
    folded = unicodedata.normalize("NFKD", unicodedata.normalize("NFKC", username).casefold())
    kept = (c for c in folded if not c.isspace() and unicodedata.category(c) not in ("Mn", "Cf"))
    return "".join(kept)[: MAX_NAME_LENGTH + 1]


# Both are asked at every login (a name twice: as it starts, and when it is granted);
# only short inputs are kept.
_source_key = functools.lru_cache(maxsize=1024)(_address_key)
_name_key = functools.lru_cache(maxsize=1024)(_folded)


def _acceptable(username: str, password: str) -> bool:
    if not password or not username.strip() or len(username) > MAX_NAME_LENGTH:
        return False
    try:
        username.encode("utf-8")
        password.encode("utf-8")
    except UnicodeError:  # lone surrogates: no directory holds such a name
        return False
    return True
