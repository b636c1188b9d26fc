"""Audit that loses nothing: a JSON record per request, on disk before the answer leaves.

Targets (`[audit] targets`): `file:PATH` (rotated by size), `stdout`, and
`http(s)://...` (JSON lines, or Elasticsearch's `_bulk` when the URL ends in
`/_bulk`). Every target has a queue on disk under `data_dir/audit-queue/`: a record
is appended to this worker's journal (fsync'd in groups: `audit_journal`), and the
answer to its request is sent only once that is done (`audit_exchange` holds the
answer's last bytes back). Each target's deliverer then sends the records in order,
at least once, each with an `id` for a collector to de-duplicate (`audit_queue`); a
target that is down or slow never holds up a request: its backlog waits on disk and
drains when it is back, and a restart resumes where delivery stopped.

A backlog is bounded by `queue_max_mb`; past 80% a loud line is logged, and when a
target's backlog is full `when_full` decides: `refuse` (the default: new requests
get 503 until the target catches up: an audited system does not serve unaudited
requests) or `drop-oldest` (requests are served, the oldest records of that target
are given up, counted and logged).

A record names who did what, what was decided and what was answered; it never
holds a secret key, a session token, a signature, a password or the query string.
Handlers add to it through `audit_fields(request)` or, where no request is at hand
(IAM handlers run in a worker thread), `note` and `note_decision`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import shutil
import time
import uuid
from collections.abc import Iterable
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from iamgw.config import AuditSettings
from iamgw.errors import ServiceUnavailable

from . import access_log, audit_slots
from .audit_journal import GroupCommit
from .audit_queue import Queue
from .audit_targets import make_target

log = logging.getLogger("iamgw.audit")
FIELDS = "iamgw.audit"  # scope key: the fields the handlers fill in
PENDING = "iamgw.audit.pending"  # scope key: (auditor, record builder) of an audited request
REFUSED = "iamgw.audit.refused"
NEAR_FULL = 0.8
ADOPT_EVERY = 10.0  # seconds between looks for queues left by workers that are gone
STOP_GRACE = 2.0  # seconds a stopping gateway gives its targets to take what waits
_current: ContextVar[dict[str, Any] | None] = ContextVar("iamgw_audit_fields", default=None)
# Never in a record, whoever put it there: a handler's field named like a secret.
_SECRET_NAME = re.compile(r"secret|token|password|signature|credential", re.IGNORECASE)
FULL_MESSAGE = (
    "The gateway's audit queue is full: requests are refused until its audit target "
    "takes records again."
)


# -- the fields of the request being answered -----------------------------------------


def audit_fields(request: Any) -> dict[str, Any]:
    """The audit fields of this request, filled in by the handlers as they learn them."""
    scope = request.scope
    if FIELDS not in scope:
        scope[FIELDS] = {}
    fields: dict[str, Any] = scope[FIELDS]
    return fields


def bind(fields: dict[str, Any]) -> Any:
    """Make `fields` the current request's (for `note`); a token for `unbind`."""
    return _current.set(fields)


def unbind(token: Any) -> None:
    _current.reset(token)


def note(**values: Any) -> None:
    """Add to the current request's audit fields (no-op outside a request)."""
    fields = _current.get()
    if fields is not None:
        fields.update(values)


def note_decision(action: str, resource: str, decision: Any, *, outcome: str | None = None) -> None:
    """An IAM or STS decision for the record: the first one made, or the one that
    denied. `decision` is an `iamgw.policy.Decision`, or None (nothing could allow);
    `outcome` names one made without policies ("Allowed (root)")."""
    fields = _current.get()
    if fields is None:
        return
    if outcome is None:
        outcome = str(decision.outcome) if decision is not None else "ImplicitlyDenied"
    denied = not outcome.startswith("Allowed")
    first = fields.get("decision") is None
    if not first and not denied:
        return
    if first:
        fields.update(action=action, resource=resource)
    elif action != fields.get("action"):
        outcome = f"{outcome} ({action})"
    fields.update(
        decision=outcome,
        policy=getattr(decision, "policy", None),
        statement=getattr(decision, "statement", None),
    )


def principal_kind(identity: Any) -> str:
    """root, iam-user, assumed-role, oidc, ldap or anonymous, of an `Identity`."""
    kind = str(getattr(identity, "kind", "anonymous"))
    if kind == "root":
        return "root"
    if kind == "user":
        return "iam-user"
    if kind != "session":
        return "anonymous"
    session = getattr(identity, "session", None)
    idp = getattr(session, "idp", None) or {}
    if any(str(k).startswith("ldap:") for k in idp):
        return "ldap"
    if any(str(k).startswith("jwt:") for k in idp):
        return "oidc"
    if getattr(session, "typ", "") == "User":  # GetSessionToken: the user's own session
        return "iam-user"
    return "assumed-role"


def kind_of_arn(arn: str | None, oidc_roles: Iterable[str] = ()) -> str:
    """The principal kind told by an ARN (where no identity was recorded): the sessions
    of the gateway's own roles `ldap` and each `[[oidc]]` entry's name are logins."""
    if not arn or arn == "anonymous":
        return "anonymous"
    if arn.endswith(":root"):
        return "root"
    if ":user/" in arn:
        return "iam-user"
    if ":assumed-role/ldap/" in arn:
        return "ldap"
    if any(f":assumed-role/{name}/" in arn for name in oidc_roles):
        return "oidc"
    return "assumed-role"


def record_principal(request: Any, identity: Any, access_key: str | None) -> None:
    """The authenticated caller of `request`: ARN, access key id and kind."""
    audit_fields(request).update(
        principal=identity.arn, access_key=access_key, principal_kind=principal_kind(identity)
    )


def encode(record: dict[str, Any]) -> bytes:
    """One JSON line, the record id first; fields named like secrets are left out."""
    clean = {k: v for k, v in record.items() if not _SECRET_NAME.search(k) or k == "access_key"}
    clean.pop("id", None)
    body = json.dumps(clean, separators=(",", ":"), default=str, ensure_ascii=True)
    rest = "," + body[1:] if clean else "}"
    return f'{{"id":"{uuid.uuid4().hex}"{rest}\n'.encode()


class AuditUnavailable(Exception):
    """The record could not be written (the disk failed) and `when_full` is refuse."""


# -- the auditor ----------------------------------------------------------------------


class Auditor:
    """The audit of one gateway process (module docstring)."""

    def __init__(
        self,
        settings: AuditSettings,
        data_dir: Path,
        *,
        transport: Any = None,
        metrics: Any = None,
    ) -> None:
        self.settings = settings
        self.data_dir = data_dir
        self.access_log = settings.access_log
        self.max_bytes = settings.queue_max_mb << 20
        self.refuse = settings.when_full == "refuse"
        self._transport = transport
        # `Metrics`' audit_queue (gauge), audit_delivered and audit_dropped (counters),
        # each labelled by target, where the Metrics has them.
        self._gauge = getattr(metrics, "audit_queue", None)
        self._delivered = getattr(metrics, "audit_delivered", None)
        self._dropped = getattr(metrics, "audit_dropped", None)
        self._slot: audit_slots.Slot | None = None
        self.queue: Queue | None = None
        self._commit: GroupCommit | None = None
        self._adopter: asyncio.Task[None] | None = None
        self._drains: dict[int, asyncio.Task[None]] = {}
        self.full = False  # refusing new requests
        self._broken_since: float | None = None  # the journal's disk failed
        self._probe_at = 0.0
        self.refused = 0
        self.lost = 0  # records not written (a disk failure under drop-oldest)

    @property
    def segment_bytes(self) -> int:
        return max(64 << 10, min(16 << 20, self.max_bytes // 8))

    def _targets(self) -> list[Any]:
        return [
            make_target(
                spec, self._transport, self.settings.file_max_mb << 20, self.settings.file_keep
            )
            for spec in self.settings.targets
        ]

    async def start(self) -> None:
        if self.access_log:
            access_log.install()
        if not self.settings.targets:
            return
        loop = asyncio.get_running_loop()
        self._slot = await asyncio.to_thread(audit_slots.claim, self.data_dir)
        self.queue = await asyncio.to_thread(
            Queue,
            self._slot.directory,
            self._targets(),
            self.segment_bytes,
            writable=True,
            on_progress=self._levels,
        )
        waiting = {s.target.name: self.queue.waiting_bytes(s) for s in self.queue.states}
        if any(waiting.values()):
            log.info(
                "audit queue %s resumes delivery: %s",
                self._slot.directory,
                ", ".join(f"{n}: {b} bytes waiting" for n, b in waiting.items()),
            )
        self._commit = GroupCommit(self.queue.journal, loop, self._committed, self._after_commit)
        self._commit.start()
        self.queue.start()
        self._levels()
        self._adopter = asyncio.create_task(self._adopt(), name="audit-adopt")

    # -- the request path -------------------------------------------------------------

    def admit(self, request: Any, api: str) -> None:
        """Raise ServiceUnavailable (503) for a new request when the queue is full and
        `when_full` is refuse; the ops endpoints are always answered."""
        if api == "ops" or not self.refuse or self.queue is None:
            return
        refuse = self.full
        if self._broken_since is not None:
            now = time.monotonic()
            if now >= self._probe_at:
                self._probe_at = now + 1.0  # one request a second tries the disk again
            else:
                refuse = True
        if refuse:
            request.scope[REFUSED] = True
            self.refused += 1
            raise ServiceUnavailable(FULL_MESSAGE)

    def later(self, request: Any, build: Any) -> None:
        """Audit `request` when its answer is complete: `build(exchange)` makes the
        record (see `audit_exchange`); a refused request is not recorded."""
        if not request.scope.get(REFUSED):
            request.scope[PENDING] = (self, build)

    async def commit(self, record: dict[str, Any]) -> None:
        """Append `record` and wait until it is on disk."""
        if self._commit is None:
            return
        line = encode(record)
        try:
            await self._commit.submit(line)
        except (OSError, RuntimeError) as exc:
            self._disk_failed(exc)
            if self.refuse:
                raise AuditUnavailable(str(exc)) from None
            self.lost += 1
            if self.queue is not None:
                for state in self.queue.states:
                    state.dropped += 1
            return
        self._broken_since = None

    def _disk_failed(self, exc: Exception) -> None:
        now = time.monotonic()
        if self._broken_since is None:
            self._broken_since = now
            self._probe_at = now + 1.0
        log.error(
            "AUDIT RECORD NOT WRITTEN: the audit journal in %s failed (%s)%s",
            self._slot.directory if self._slot else self.data_dir,
            getattr(exc, "strerror", None) or type(exc).__name__,
            ": the request is failed" if self.refuse else " (when_full = drop-oldest)",
        )

    # -- after each commit and delivery ------------------------------------------------

    def _committed(self, head: int) -> None:  # on the event loop
        if self.queue is not None:
            self.queue.committed()
        self._levels()

    def _after_commit(self) -> None:  # in the writer thread
        if self.queue is not None and not self.refuse:
            self.queue.drop_oldest(self.max_bytes)

    def _levels(self) -> None:
        """Gauges, the full flag, and a loud line when a backlog crosses a level."""
        queue = self.queue
        if queue is None:
            return
        full = False
        for state in queue.states:
            waiting = queue.waiting_bytes(state)
            self._count(state, waiting)
            level = 0
            if waiting >= self.max_bytes:
                level = 2
            elif waiting >= NEAR_FULL * self.max_bytes:
                level = 1
            full = full or level == 2
            if level != state.level:
                self._level_changed(state, level, waiting)
                state.level = level
        self.full = full and self.refuse

    def _count(self, state: Any, waiting: int) -> None:
        name = state.target.name
        if self._gauge is not None:
            self._gauge.labels(name).set(waiting)
        delivered, dropped = state.counted
        if self._delivered is not None and state.delivered > delivered:
            self._delivered.labels(name).inc(state.delivered - delivered)
        if self._dropped is not None and state.dropped > dropped:
            self._dropped.labels(name).inc(state.dropped - dropped)
        state.counted = (state.delivered, state.dropped)

    def _level_changed(self, state: Any, level: int, waiting: int) -> None:
        name, limit = state.target.name, self.settings.queue_max_mb
        mib = waiting / (1 << 20)
        if level == 2:
            then = (
                "new requests are refused with 503 until it takes records again"
                if self.refuse
                else "its oldest records are dropped (when_full = drop-oldest)"
            )
            log.error("AUDIT QUEUE FULL for target %s (%.1f of %d MB): %s", name, mib, limit, then)
        elif level == 1 and state.level < 1:
            log.warning(
                "AUDIT QUEUE NEARLY FULL for target %s: %.1f of %d MB waiting (the target "
                "fails or is slow; at %d MB %s)",
                name,
                mib,
                limit,
                limit,
                "requests are refused" if self.refuse else "the oldest records are dropped",
            )
        elif level == 0:
            log.warning(
                "audit queue of target %s is below %d%% again: %.1f of %d MB waiting",
                name,
                NEAR_FULL * 100,
                mib,
                limit,
            )

    # -- queues left by workers that are gone -------------------------------------------

    async def _adopt(self) -> None:
        assert self._slot is not None
        while True:
            mine = {self._slot.index, *self._drains}
            try:
                found = await asyncio.to_thread(audit_slots.orphans, self.data_dir, mine)
            except OSError as exc:
                log.warning("audit: cannot look for queues left by other workers: %s", exc)
                found = []
            for slot in found:
                self._drains[slot.index] = asyncio.create_task(self._drain(slot))
            await asyncio.sleep(ADOPT_EVERY)

    async def _drain(self, slot: audit_slots.Slot) -> None:
        """Deliver what a worker that is gone left in its queue, then delete the queue."""
        queue: Queue | None = None
        try:
            queue = await asyncio.to_thread(
                Queue, slot.directory, self._targets(), self.segment_bytes, writable=False
            )
            if not queue.caught_up():
                log.warning(
                    "audit: delivering the records a worker that is gone left in %s",
                    slot.directory,
                )
            queue.start()
            while not queue.caught_up():
                await asyncio.sleep(0.5)
            await queue.stop(0)
            await asyncio.to_thread(shutil.rmtree, slot.directory, True)
        finally:
            if queue is not None:
                await queue.stop(0)
                for state in queue.states:
                    await state.target.aclose()
            slot.release()
            self._drains.pop(slot.index, None)

    # -- stopping -----------------------------------------------------------------------

    async def aclose(self) -> None:
        """Write what is submitted, give the targets a moment to take it, then stop;
        what they did not take is delivered by the next start."""
        if self._adopter is not None:
            self._adopter.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._adopter
        for task in list(self._drains.values()):
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._commit is not None:
            await asyncio.to_thread(self._commit.close)
            self._commit = None
        if self.queue is not None:
            self.queue.committed()
            await self.queue.stop(STOP_GRACE)
            for state in self.queue.states:
                await state.target.aclose()
            self.queue.journal.close()
        if self._slot is not None:
            self._slot.release()

    # -- for tests and operators ----------------------------------------------------------

    def waiting(self) -> dict[str, int]:
        """Bytes waiting per target."""
        if self.queue is None:
            return {}
        return {s.target.name: self.queue.waiting_bytes(s) for s in self.queue.states}

    @property
    def dropped(self) -> int:
        """Records given up for the target that lost most: dropped by drop-oldest, or
        never written (a disk failure under drop-oldest)."""
        states = self.queue.states if self.queue is not None else []
        return max((s.dropped for s in states), default=self.lost)
