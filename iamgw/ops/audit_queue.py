"""One audit queue: a journal on disk and, for each target, a cursor and a deliverer.

A target's cursor is the journal offset up to which the target has taken every
record. A deliverer sends the records after its cursor in order, in batches; a batch
that fails is sent again (with a growing pause, at most `MAX_PAUSE`), so a target
that is down or slow only makes its backlog grow, and drains it when it is back.

Every `CHECKPOINT_EVERY` seconds at most (and when it stops), a deliverer makes what
its target took durable (a file target is fsync'd) and then writes the cursor in
`cursors/<target>` (whole: temporary file, fsync, rename). A restarted gateway
resumes from there: what was delivered after the last checkpoint is delivered again
(at least once; each record's `id` tells a collector it has it). Journal segments
are deleted only below every target's saved cursor.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .audit_journal import Journal
from .audit_targets import DeliveryFailed, HttpTarget, Target, target_key

log = logging.getLogger("iamgw.audit")
BATCH_BYTES = 1 << 20
BATCH_RECORDS = 1000
FIRST_PAUSE = 0.25
MAX_PAUSE = 5.0
CHECKPOINT_EVERY = 0.2  # seconds: the most a restart delivers again, per target
REPORT_EVERY = 30.0  # seconds between the lines that say a target is still failing


@dataclass
class TargetState:
    target: Target
    key: str
    cursor: int  # delivered up to here
    saved: int  # ... and up to here durably, with the cursor file written
    wake: asyncio.Event = field(default_factory=asyncio.Event)
    failing_since: float | None = None
    reported: float = 0.0
    delivered: int = 0  # records
    dropped: int = 0  # records dropped by drop-oldest (or never written: a disk failure)
    counted: tuple[int, int] = (0, 0)  # (delivered, dropped) as the metrics know them
    level: int = 0  # 0: fine, 1: near full, 2: full (for the log lines on changes)


class Queue:
    """The journal of one slot directory and its targets' cursors."""

    def __init__(
        self,
        directory: Path,
        targets: list[Target],
        segment_bytes: int,
        *,
        writable: bool,
        on_progress: Callable[[], None] | None = None,
    ) -> None:
        self.directory = directory
        self.journal = Journal(directory, segment_bytes, writable=writable)
        self._cursor_dir = directory / "cursors"
        self._cursor_dir.mkdir(mode=0o700, exist_ok=True)
        self._persist_lock = threading.RLock()
        self.lock = threading.Lock()  # cursors: moved by deliverers and by drop-oldest
        self._on_progress = on_progress
        self.states: list[TargetState] = []
        known = set()
        for target in targets:
            key = target_key(target.name)
            known.add(key)
            cursor = self._load(key)
            if cursor is None or cursor > self.journal.head:
                # A new target takes the records from now on. Its cursor is written at
                # once: after a crash, what came after this point is still owed to it.
                cursor = self.journal.head
                self._write_cursor(key, target.name, cursor)
            self.states.append(TargetState(target, key, cursor, cursor))
        self._forget_unknown(known)
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = False

    # -- cursors ----------------------------------------------------------------------

    def _load(self, key: str) -> int | None:
        try:
            data = json.loads((self._cursor_dir / key).read_text())
            return int(data["offset"])
        except (FileNotFoundError, ValueError, KeyError, TypeError):
            return None

    def _write_cursor(self, key: str, name: str, offset: int) -> None:
        path = self._cursor_dir / key
        tmp = path.with_name(f".{key}.tmp")
        with open(tmp, "w") as fh:
            json.dump({"target": name, "offset": offset}, fh)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)

    def _forget_unknown(self, known: set[str]) -> None:
        """Cursors of targets no longer configured: what they were owed is given up,
        loudly (it would otherwise hold the journal on disk forever)."""
        for path in self._cursor_dir.iterdir():
            if path.name.startswith(".") or path.name in known:
                continue
            try:
                data = json.loads(path.read_text())
                offset, name = int(data["offset"]), str(data.get("target", path.name))
            except (ValueError, KeyError, TypeError, OSError):
                offset, name = self.journal.head, path.name
            owed = self.journal.count(offset, self.journal.head)
            if owed:
                log.warning(
                    "audit target %s is no longer configured: the %d records it had not "
                    "received are given up",
                    name,
                    owed,
                )
            path.unlink(missing_ok=True)

    def waiting_bytes(self, state: TargetState) -> int:
        return max(0, self.journal.head - state.cursor)

    def caught_up(self) -> bool:
        """Every target has taken and saved everything."""
        return all(s.saved >= self.journal.head for s in self.states)

    def advance(self, state: TargetState, offset: int) -> None:
        with self.lock:
            state.cursor = max(state.cursor, offset)

    def checkpoint(self, state: TargetState) -> None:
        """Make what the target took durable, then save its cursor (in a thread)."""
        with self._persist_lock:  # the value written is the newest, whoever writes last
            with self.lock:
                offset = state.cursor
            if offset <= state.saved:
                return
            state.target.sync()
            self._write_cursor(state.key, state.target.name, offset)
            state.saved = offset
        self.journal.collect(min(s.saved for s in self.states))

    # -- drop-oldest (in the writer thread, after a commit) ------------------------------

    def drop_oldest(self, max_bytes: int) -> None:
        """Move every cursor that lags more than `max_bytes` to the oldest segment that
        fits, counting and logging the records given up; then delete what nobody needs."""
        head = self.journal.head
        for state in self.states:
            if head - state.cursor <= max_bytes:
                continue
            starts = self.journal.segment_starts()
            fits = next((s for s in starts if s > state.cursor and head - s <= max_bytes), None)
            if fits is None:
                continue  # the newest segment alone is too big: the next rotation frees it
            lost = self.journal.count(state.cursor, fits)
            self.advance(state, fits)
            self.checkpoint(state)
            state.dropped += lost
            log.error(
                "AUDIT RECORDS DROPPED: the queue of target %s is full (when_full = "
                "drop-oldest): its %d oldest records were given up (%s)",
                state.target.name,
                lost,
                _failing(state),
            )

    # -- delivery ---------------------------------------------------------------------

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._deliver(state), name=f"audit-{state.key}")
            for state in self.states
        ]

    def committed(self) -> None:
        """New records are on disk: wake the deliverers."""
        for state in self.states:
            state.wake.set()

    async def _deliver(self, state: TargetState) -> None:
        pause = FIRST_PAUSE
        last_checkpoint = time.monotonic()
        while not self._stopping:
            if state.cursor >= self.journal.head:
                state.wake.clear()
                if state.cursor >= self.journal.head:
                    if state.saved >= state.cursor:
                        await state.wake.wait()
                        continue
                    # Idle with a checkpoint owed: make it when its time comes.
                    due = last_checkpoint + CHECKPOINT_EVERY - time.monotonic()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(state.wake.wait(), max(due, 0))
            if state.saved < state.cursor and (
                time.monotonic() - last_checkpoint >= CHECKPOINT_EVERY
            ):
                await self._checkpoint(state)
                last_checkpoint = time.monotonic()
            if state.cursor >= self.journal.head:
                continue
            linger = state.target.linger
            if linger and self.journal.head - state.cursor < BATCH_BYTES // 2:
                await asyncio.sleep(linger)  # a small batch: let more records join it
            lines, end = await asyncio.to_thread(
                self.journal.read, state.cursor, BATCH_BYTES, BATCH_RECORDS
            )
            if not lines:
                self.advance(state, end)
                continue
            try:
                await state.target.send(lines)
            except DeliveryFailed as exc:
                self._failed(state, str(exc))
                await asyncio.sleep(pause)
                pause = min(pause * 2, MAX_PAUSE)
                continue
            except Exception:  # noqa: BLE001 - a target's bug must not end its delivery
                log.exception("audit target %s failed unexpectedly", state.target.name)
                await asyncio.sleep(MAX_PAUSE)
                continue
            pause = FIRST_PAUSE
            self._succeeded(state)
            state.delivered += len(lines)
            self.advance(state, end)
            if self._on_progress is not None:
                self._on_progress()

    async def _checkpoint(self, state: TargetState) -> None:
        try:
            await asyncio.to_thread(self.checkpoint, state)
        except OSError as exc:  # the next checkpoint tries again; nothing is lost
            log.warning("audit: cannot save the cursor of target %s: %s", state.target.name, exc)

    def _succeeded(self, state: TargetState) -> None:
        if state.failing_since is not None:
            log.warning(
                "audit target %s is back after %.0f s: delivering the records it missed",
                state.target.name,
                time.monotonic() - state.failing_since,
            )
            state.failing_since = None
        target = state.target
        if isinstance(target, HttpTarget) and target.rejected:
            log.error(
                "audit target %s refused %d records for good (see the collector's mapping): "
                "they are not sent again",
                target.name,
                target.rejected,
            )
            target.rejected = 0

    def _failed(self, state: TargetState, why: str) -> None:
        now = time.monotonic()
        waiting = self.waiting_bytes(state)
        if state.failing_since is None:
            state.failing_since = now
            state.reported = now
            log.warning(
                "audit target %s failed (%s): its records wait on disk (%d bytes) and are "
                "sent again until it takes them",
                state.target.name,
                why,
                waiting,
            )
        elif now - state.reported >= REPORT_EVERY:
            state.reported = now
            log.warning(
                "audit target %s still failing (%s) after %.0f s: %d bytes of records waiting",
                state.target.name,
                why,
                now - state.failing_since,
                waiting,
            )

    async def stop(self, grace: float) -> None:
        """Let the deliverers catch up for up to `grace` seconds, then stop them and
        save their cursors."""
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(
            s.cursor < self.journal.head for s in self.states
        ):
            await asyncio.sleep(0.05)
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks = []
        for state in self.states:
            await self._checkpoint(state)


def _failing(state: TargetState) -> str:
    if state.failing_since is None:
        return "the target is slower than the requests"
    return f"the target has failed for {time.monotonic() - state.failing_since:.0f} s"
