"""The audit journal: records appended to disk, fsync'd in groups, read back in order.

One journal per worker process lives in a directory of its own (`audit-queue/wN/`,
see `audit_slots`): segment files named by the byte offset where they start
(`00000000000000000000.log`, ...), each holding whole records, one JSON line each.
Offsets are global and only grow, so a target's cursor (how far it has been
delivered) is one number, and "how much is waiting" is `head - cursor`.

Writes come from one thread only (`GroupCommit`): every record submitted while
the previous batch was being fsync'd goes out as the next batch, with one
`write` and one `fdatasync`; a request is answered only when its batch is on
disk. Readers (the targets' deliverers) never read beyond `head`, the end of
what has been fsync'd.

After a crash the last segment may end in a torn record (written, never
fsync'd, so never acknowledged): it is cut off when the journal is opened.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import threading
from collections.abc import Callable
from pathlib import Path

SUFFIX = ".log"
RECORD_START = b'{"id":"'  # every record is a JSON object whose first key is its id


class Journal:
    """The segment files of one queue directory (module docstring)."""

    def __init__(self, directory: Path, segment_bytes: int, *, writable: bool = True) -> None:
        self.directory = directory
        self.segment_bytes = segment_bytes
        self._lock = threading.Lock()
        self._fd: int | None = None  # the last segment, open for appending
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        self._starts = sorted(
            int(p.name.removesuffix(SUFFIX))
            for p in directory.iterdir()
            if p.name.endswith(SUFFIX) and p.name.removesuffix(SUFFIX).isdigit()
        )
        if not self._starts:
            if not writable:
                self.head = 0
                return
            self._create(0)
        last = self._starts[-1]
        valid = _valid_length(self._path(last))
        if writable and valid != self._path(last).stat().st_size:
            os.truncate(self._path(last), valid)
        self.head = last + valid
        if writable:
            self._open_last()

    # -- writing (the GroupCommit thread only) ----------------------------------------

    def append(self, data: bytes) -> int:
        """Write `data` (whole records) and fsync it; the new head."""
        assert self._fd is not None, "the journal is read-only"
        with self._lock:
            last = self._starts[-1]
        size = self.head - last
        if size > 0 and size + len(data) > self.segment_bytes:
            self._rotate()
        view = memoryview(data)
        while view:
            written = os.write(self._fd, view)
            view = view[written:]
        os.fdatasync(self._fd)
        with self._lock:
            self.head += len(data)
            return self.head

    def _rotate(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
        self._create(self.head)
        self._open_last()

    def _create(self, start: int) -> None:
        fd = os.open(self._path(start), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
        _fsync_dir(self.directory)  # the new file's name must survive a crash too
        with self._lock:
            self._starts.append(start)

    def _open_last(self) -> None:
        self._fd = os.open(self._path(self._starts[-1]), os.O_WRONLY | os.O_APPEND)

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    # -- reading (any thread) ---------------------------------------------------------

    def read(self, position: int, max_bytes: int, max_records: int) -> tuple[list[bytes], int]:
        """Whole records from `position` (a record boundary) on, at most `max_bytes`
        (at least one record) and `max_records`; and the position after them."""
        with self._lock:
            head = self.head
            starts = list(self._starts)
        while position < head:
            index = _segment_of(starts, position)
            if index is None:  # dropped or collected under us: the oldest still kept
                position = starts[0]
                continue
            start = starts[index]
            end = starts[index + 1] if index + 1 < len(starts) else head
            try:
                with open(self._path(start), "rb") as fh:
                    fh.seek(position - start)
                    data = fh.read(min(end - position, max(max_bytes, 1)))
            except FileNotFoundError:
                with self._lock:
                    starts = list(self._starts)
                continue
            cut = data.rfind(b"\n") + 1
            if cut == 0:  # one record longer than max_bytes: read it whole
                with open(self._path(start), "rb") as fh:
                    fh.seek(position - start)
                    data = fh.read(end - position)
                cut = data.find(b"\n") + 1
            if cut == 0:  # a segment ending without a newline: not written whole
                position = end
                continue
            lines = data[:cut].splitlines(keepends=True)[:max_records]
            return lines, position + sum(len(line) for line in lines)
        return [], position

    def count(self, start: int, end: int) -> int:
        """How many records lie between two record boundaries."""
        total = 0
        with self._lock:
            starts = list(self._starts)
            head = self.head
        for i, seg in enumerate(starts):
            seg_end = starts[i + 1] if i + 1 < len(starts) else head
            lo, hi = max(start, seg), min(end, seg_end)
            if lo >= hi:
                continue
            with contextlib.suppress(FileNotFoundError), open(self._path(seg), "rb") as fh:
                fh.seek(lo - seg)
                remaining = hi - lo
                while remaining > 0:
                    chunk = fh.read(min(remaining, 1 << 20))
                    if not chunk:
                        break
                    total += chunk.count(b"\n")
                    remaining -= len(chunk)
        return total

    def segment_starts(self) -> list[int]:
        with self._lock:
            return list(self._starts)

    def collect(self, keep_from: int) -> None:
        """Delete the segments that end at or before `keep_from` (never the last one)."""
        with self._lock:
            starts = list(self._starts)
        gone = [s for i, s in enumerate(starts[:-1]) if starts[i + 1] <= keep_from]
        for start in gone:
            with contextlib.suppress(FileNotFoundError):
                self._path(start).unlink()
        if gone:
            with self._lock:
                self._starts = [s for s in self._starts if s not in gone]

    def _path(self, start: int) -> Path:
        return self.directory / f"{start:020d}{SUFFIX}"


def _segment_of(starts: list[int], position: int) -> int | None:
    if not starts or position < starts[0]:
        return None
    index = 0
    for i, start in enumerate(starts):
        if start <= position:
            index = i
        else:
            break
    return index


def _valid_length(path: Path) -> int:
    """The length of the whole records at the start of the segment: a record must begin
    as every record does, end in `}` and a newline, and hold no NUL byte (a torn tail
    after a power loss may be zeros)."""
    data = path.read_bytes()
    valid = 0
    while valid < len(data):
        end = data.find(b"\n", valid)
        if end < 0:
            break
        line = data[valid:end]
        if not line.startswith(RECORD_START) or not line.endswith(b"}") or b"\0" in line:
            break
        valid = end + 1
    return valid


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class GroupCommit:
    """The journal's one writer: records submitted on the event loop are written and
    fsync'd by a thread, in batches (all that arrived while the last fsync ran), and
    each submitter's future is resolved once its batch is on disk."""

    def __init__(
        self,
        journal: Journal,
        loop: asyncio.AbstractEventLoop,
        on_commit: Callable[[int], None],
        after_commit: Callable[[], None] | None = None,
    ) -> None:
        self._journal = journal
        self._loop = loop
        self._on_commit = on_commit  # called on the loop with the new head
        self._after_commit = after_commit  # called in the writer thread (drops, collection)
        self._pending: list[tuple[bytes, asyncio.Future[None]]] = []
        self._wake = threading.Condition()
        self._closing = False
        self._thread = threading.Thread(target=self._run, name="audit-commit", daemon=True)
        self.batches = 0
        self.records = 0

    def start(self) -> None:
        self._thread.start()

    def submit(self, line: bytes) -> asyncio.Future[None]:
        future: asyncio.Future[None] = self._loop.create_future()
        with self._wake:
            if self._closing:
                raise RuntimeError("the audit journal is closed")
            self._pending.append((line, future))
            self._wake.notify()
        return future

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._pending and not self._closing:
                    self._wake.wait()
                if not self._pending:
                    return
                batch, self._pending = self._pending, []
            error: OSError | None = None
            head = 0
            try:
                head = self._journal.append(b"".join(line for line, _ in batch))
            except OSError as exc:
                error = exc
            self.batches += 1
            self.records += len(batch)
            futures = [future for _, future in batch]
            with contextlib.suppress(RuntimeError):  # the loop has closed
                self._loop.call_soon_threadsafe(self._resolve, futures, error, head)
            if self._after_commit is not None and error is None:
                self._after_commit()

    def _resolve(
        self, futures: list[asyncio.Future[None]], error: OSError | None, head: int
    ) -> None:
        for future in futures:
            if future.done():
                continue
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)
        if error is None:
            self._on_commit(head)

    def close(self) -> None:
        """Write what is pending, then stop the thread."""
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._thread.join()
