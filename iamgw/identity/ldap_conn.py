"""Connections to the directory servers: TLS, timeouts, the order of failover, pools.

Every call here blocks (python-ldap) and runs in a worker thread. Each one waits no
longer than its timeout cut to the login's deadline. Connections are opened with
OPT_CONNECT_ASYNC: without it libldap's TLS handshake (ldaps://, and StartTLS after
the server's yes) blocks with no timeout at all on a server that accepted the TCP
connection and then hangs; with it, OPT_NETWORK_TIMEOUT bounds the handshake too.
"""

from __future__ import annotations

import asyncio
import queue
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import anyio

from ..config import LdapSettings

try:
    import ldap
except ImportError:  # pragma: no cover - iamgw[ldap] not installed: LdapDirectory says so
    ldap = None  # type: ignore[assignment]

T = TypeVar("T")
_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]

CONNECT_TIMEOUT = 1.5  # TCP connect and TLS handshake (OPT_NETWORK_TIMEOUT)
OPERATION_TIMEOUT = 2.0  # one request's answer: two hung servers fit a login's budget
BACKOFF = 3.0  # a failed server is tried after the others this long (never skipped)
IDLE_MAX = 60.0  # a pooled connection idle longer is reopened (servers drop idle ones)

# Network trouble: this server may answer again later, another may answer now.
TRANSPORT_ERRORS: tuple[type[Exception], ...] = ()
if ldap is not None:
    TRANSPORT_ERRORS = (
        ldap.SERVER_DOWN,
        ldap.TIMEOUT,
        ldap.CONNECT_ERROR,
        ldap.UNAVAILABLE,
        ldap.BUSY,
        ldap.LOCAL_ERROR,
        ldap.PROTOCOL_ERROR,
        ldap.DECODING_ERROR,
        ldap.ENCODING_ERROR,
    )


class ServerFailed(Exception):
    """One server did not answer properly (the message says how): try the next."""


class Servers:
    """The URLs in order of preference: those that failed lately go last (thread-safe)."""

    def __init__(self, urls: list[str]) -> None:
        self.urls = list(urls)
        self._failed_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def order(self) -> list[str]:
        now = time.monotonic()
        with self._lock:
            late = {u: t for u, t in self._failed_until.items() if t > now}
        healthy = [u for u in self.urls if u not in late]
        return healthy + sorted(late, key=late.__getitem__)

    def failed(self, url: str) -> None:
        with self._lock:
            self._failed_until[url] = time.monotonic() + BACKOFF

    def answered(self, url: str) -> None:
        with self._lock:
            self._failed_until.pop(url, None)


@dataclass
class Conn:
    url: str
    ld: Any  # ldap.ldapobject.LDAPObject
    last_used: float = 0.0


class Pool:
    """At most `size` open connections (idle and in use), reused per server URL;
    `opener(url, deadline)` makes a new one."""

    def __init__(self, size: int, opener: Callable[[str, float], Any]) -> None:
        self.size = size
        self._open = opener
        self._idle: list[Conn] = []
        self._live = 0
        self._closed = False
        self._cond = threading.Condition()

    def take(self, url: str, deadline: float) -> tuple[Conn, bool]:
        """A connection to `url` and whether it was reused; opens one if none is idle."""
        stale: list[Conn] = []  # closed once out of the lock: unbinding is I/O
        try:
            with self._cond:
                while True:
                    if self._closed:
                        raise ServerFailed("the directory client is closed")
                    now = time.monotonic()
                    for conn in [c for c in self._idle if now - c.last_used > IDLE_MAX]:
                        self._drop_idle(conn, stale)
                    mine = [c for c in self._idle if c.url == url]
                    if mine:
                        self._idle.remove(mine[-1])
                        return mine[-1], True
                    if self._live >= self.size and self._idle:
                        self._drop_idle(self._idle[0], stale)  # another server's: make room
                    if self._live < self.size:
                        self._live += 1
                        break
                    if not self._cond.wait(timeout=max(0.0, deadline - now)):
                        raise ServerFailed("every connection stayed busy until the deadline")
        finally:
            close_all(stale)
        try:
            return Conn(url, self._open(url, deadline), time.monotonic()), False
        except BaseException:
            self._release()
            raise

    def give(self, conn: Conn) -> None:
        conn.last_used = time.monotonic()
        with self._cond:
            if not self._closed:
                self._idle.append(conn)
                self._cond.notify()
                return
        self.discard(conn)

    def discard(self, conn: Conn) -> None:
        close_all([conn])
        self._release()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            idle, self._idle = self._idle, []
            self._live -= len(idle)
            self._cond.notify_all()
        close_all(idle)

    def _drop_idle(self, conn: Conn, into: list[Conn]) -> None:
        self._idle.remove(conn)
        self._live -= 1
        into.append(conn)

    def _release(self) -> None:
        with self._cond:
            self._live -= 1
            self._cond.notify()


class Threads:
    """Up to `size` daemon threads of their own running the blocking calls the event loop
    hands them (`start`), each outcome set on the caller's loop. One queue put per call:
    a ThreadPoolExecutor hop (its semaphore, locks and concurrent Future) took ~9% of the
    event loop's time per LDAP login, anyio's twice that. `busy`, `free` and `start` are
    the event loop's; the threads only run the calls."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.busy = 0  # calls started and not yet ended
        self._started = 0
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._freed: anyio.Event | None = None

    async def free(self) -> None:
        """Return once fewer than `size` calls are running."""
        while self.busy >= self.size:
            if self._freed is None:
                self._freed = anyio.Event()
            await self._freed.wait()

    def start(self, func: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """`func(*args)` in a thread (queued while `size` are busy); the future is settled
        when the call ends. Cancelling the future does not stop the call, which counts as
        busy until it has ended."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self.busy += 1
        if self._started < min(self.busy, self.size):
            self._started += 1
            threading.Thread(target=self._work, name="iamgw-ldap", daemon=True).start()
        self._jobs.put((loop, future, func, args))
        return future

    def stop(self) -> None:
        """Let the threads end once the calls queued before have."""
        for _ in range(self._started):
            self._jobs.put(None)
        self._started = 0

    def _work(self) -> None:
        while (job := self._jobs.get()) is not None:
            loop, future, func, args = job
            try:
                outcome: tuple[Any, BaseException | None] = (func(*args), None)
            except BaseException as exc:  # handed to the caller, whatever it is
                outcome = (None, exc)
            try:
                loop.call_soon_threadsafe(self._ended, future, *outcome)
            except RuntimeError:  # the loop is closed: nobody is waiting any more
                continue

    def _ended(self, future: asyncio.Future[Any], value: Any, error: BaseException | None) -> None:
        self.busy -= 1
        if self._freed is not None:
            self._freed.set()
            self._freed = None
        if future.cancelled():
            return
        if error is None:
            future.set_result(value)
        else:
            future.set_exception(error)


def close_all(conns: Iterable[Conn]) -> None:
    for conn in conns:
        try:
            conn.ld.unbind_ext()
        except Exception:  # noqa: S112 - closing a connection that is already gone
            continue


def open_connection(url: str, settings: LdapSettings, deadline: float) -> Any:
    """A new connection to `url`, TLS set up (ldaps:// or StartTLS), not bound yet."""
    try:
        ld = ldap.initialize(url)  # no I/O yet
    except ldap.LDAPError as exc:
        raise ServerFailed(describe(exc)) from None
    with closed_on_error(url, ld):
        ld.set_option(ldap.OPT_PROTOCOL_VERSION, ldap.VERSION3)
        ld.set_option(ldap.OPT_REFERRALS, 0)  # never follow (AD's) referrals elsewhere
        ld.set_option(ldap.OPT_CONNECT_ASYNC, ldap.OPT_ON)  # see the module's docstring
        ld.set_option(ldap.OPT_X_TLS_REQUIRE_CERT, ldap.OPT_X_TLS_DEMAND)  # and host name
        ld.set_option(ldap.OPT_X_TLS_PROTOCOL_MIN, 0x303)  # TLS 1.2
        if settings.ca_file:
            ld.set_option(ldap.OPT_X_TLS_CACERTFILE, settings.ca_file)
        ld.set_option(ldap.OPT_X_TLS_NEWCTX, 0)  # the TLS options above, for this connection
        set_timeouts(ld, deadline)
        if settings.start_tls and url.lower().startswith("ldap://"):
            ld.start_tls_s()
    return ld


@contextmanager
def closed_on_error(url: str, ld: Any) -> Iterator[None]:
    """Close `ld` when the block fails; python-ldap's errors become ServerFailed."""
    try:
        yield
    except ldap.LDAPError as exc:
        close_all([Conn(url, ld)])
        raise ServerFailed(describe(exc)) from None
    except BaseException:
        close_all([Conn(url, ld)])
        raise


def remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise ServerFailed("out of time")
    return left


def set_timeouts(ld: Any, deadline: float) -> None:
    """Connect and synchronous-call timeouts, none beyond the deadline."""
    left = remaining(deadline)
    ld.set_option(ldap.OPT_NETWORK_TIMEOUT, min(CONNECT_TIMEOUT, left))
    ld.set_option(ldap.OPT_TIMEOUT, min(OPERATION_TIMEOUT, left))


def result(ld: Any, msgid: int, deadline: float) -> tuple[Any, Any, Any, Any]:
    """The answer to `msgid`, waited for no longer than OPERATION_TIMEOUT or the deadline."""
    timeout = min(OPERATION_TIMEOUT, remaining(deadline))
    try:
        return ld.result3(msgid, all=1, timeout=timeout)
    except ldap.TIMEOUT:
        raise ServerFailed(f"no answer within {timeout:.1f}s") from None


def describe(exc: BaseException) -> str:
    """python-ldap's error in words; it never holds a password (binds do not echo it)."""
    detail = exc.args[0] if exc.args and isinstance(exc.args[0], dict) else {}
    text = str(detail.get("desc") or type(exc).__name__)
    info = detail.get("info")
    return f"{text} ({info})" if info and info != "(unknown error code)" else text
