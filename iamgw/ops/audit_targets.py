"""Where audit records go: a file (rotated by size), stdout, or an HTTP collector.

A target's `send` delivers a batch of records (JSON lines, in order) or raises
`DeliveryFailed`; the queue keeps the batch and tries again later. Delivery is at
least once: a batch the collector took but whose answer was lost is sent again,
and the collector recognises it by each record's `id` (Elasticsearch's `_bulk`
gets it as the document `_id`, so a record sent twice is stored once).
"""

from __future__ import annotations

import asyncio
import fcntl
import hashlib
import json
import os
import re
import sys
import threading
from pathlib import Path

import httpx


class DeliveryFailed(Exception):
    """The target did not take the batch; the message says why (never a secret)."""


def redact(target: str) -> str:
    """A target as it may be shown: a collector URL without its user:password."""
    if target == "stdout" or target.startswith("file:"):
        return target
    try:
        url = httpx.URL(target)
    except httpx.InvalidURL:
        return "<invalid URL>"
    return str(url.copy_with(username=None, password=None)) if url.userinfo else target


def target_key(target: str) -> str:
    """A file name for the target's cursor: readable, stable, no credentials."""
    shown = redact(target)
    readable = re.sub(r"[^A-Za-z0-9.-]+", "-", shown.split("://", 1)[-1]).strip("-")[:48]
    digest = hashlib.sha256(shown.encode()).hexdigest()[:12]
    return f"{readable}-{digest}"


class Target:
    name: str  # as shown in logs and metrics
    # Seconds a deliverer lets records gather before it sends a small batch: one POST
    # per request would cost the gateway's event loop more than the request itself.
    linger = 0.05

    async def send(self, lines: list[bytes]) -> None:
        raise NotImplementedError

    def sync(self) -> None:
        """Make what was sent durable (before the cursor moves past it on disk)."""

    async def aclose(self) -> None:
        return None


class FileTarget(Target):
    """Appends to a file, rotated when it would grow beyond `max_bytes` (0: never):
    `audit.log` becomes `audit.log.1`, `.1` becomes `.2`, ... and the one beyond `keep`
    is deleted. A batch goes whole into one file, so no line is ever split or lost by
    a rotation. Several worker processes may share the file: a lock beside it
    (`.audit.log.lock`) covers each write and rotation, and a writer whose file was
    rotated by another process opens the new one. Writes are fsync'd by `sync` (the
    queue's checkpoint) and before a rotation."""

    def __init__(self, path: Path, max_bytes: int = 0, keep: int = 10) -> None:
        self.path = path
        self.name = f"file:{path}"
        self.max_bytes = max_bytes
        self.keep = max(keep, 1)
        self._fd: int | None = None
        self._guard = threading.Lock()  # the descriptor: writes, syncs and rotations

    async def send(self, lines: list[bytes]) -> None:
        try:
            await asyncio.to_thread(self._write, b"".join(lines))
        except OSError as exc:
            raise DeliveryFailed(f"{exc.strerror or type(exc).__name__}") from None

    def _write(self, data: bytes) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock = os.open(
            self.path.with_name(f".{self.path.name}.lock"), os.O_RDWR | os.O_CREAT, 0o600
        )
        try:
            fcntl.flock(lock, fcntl.LOCK_EX)
            with self._guard:
                fd = self._current()
                size = os.fstat(fd).st_size
                if self.max_bytes and size > 0 and size + len(data) > self.max_bytes:
                    self._rotate()
                    fd = self._current()
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
        finally:
            os.close(lock)  # drops the flock

    def sync(self) -> None:
        with self._guard:
            if self._fd is not None:
                os.fsync(self._fd)

    def _current(self) -> int:
        """The descriptor of the file now at `path` (reopened if another process rotated)."""
        if self._fd is not None:
            try:
                same = os.path.samestat(os.fstat(self._fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if same:
                return self._fd
            os.fsync(self._fd)  # rotated by another process: what went there stays
            os.close(self._fd)
            self._fd = None
        self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        return self._fd

    def _rotate(self) -> None:
        prefix = f"{self.path.name}."
        numbers = sorted(
            (
                int(p.name[len(prefix) :])
                for p in self.path.parent.iterdir()
                if p.name.startswith(prefix) and p.name[len(prefix) :].isdigit()
            ),
            reverse=True,
        )
        for n in numbers:  # the highest first, so that no name is taken twice
            older = self.path.with_name(f"{prefix}{n}")
            if n >= self.keep:
                older.unlink(missing_ok=True)
            else:
                older.rename(self.path.with_name(f"{prefix}{n + 1}"))
        if self._fd is not None:
            os.fsync(self._fd)  # every line of the old file on disk before it is renamed
            os.close(self._fd)
            self._fd = None
        self.path.rename(f"{self.path}.1")

    async def aclose(self) -> None:
        with self._guard:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


class StdoutTarget(Target):
    """JSON lines on standard output, a line per write (whole lines even when several
    worker processes share the stream)."""

    name = "stdout"

    async def send(self, lines: list[bytes]) -> None:
        try:
            await asyncio.to_thread(self._write, lines)
        except (OSError, ValueError) as exc:
            raise DeliveryFailed(type(exc).__name__) from None

    @staticmethod
    def _write(lines: list[bytes]) -> None:
        sys.stdout.flush()  # what Python's own buffer holds goes first
        fd = sys.stdout.fileno()
        for line in lines:
            view = memoryview(line)
            while view:
                view = view[os.write(fd, view) :]


class HttpTarget(Target):
    """POSTs a batch as JSON lines, or in Elasticsearch's `_bulk` format when the URL
    ends in `/_bulk` (the record id as `_id`). Any answer but 2xx is a failure; so is a
    `_bulk` answer with items refused for a reason that may pass (429, 5xx). Items
    refused for good (a mapping error) would block the queue forever: they are logged
    by the caller and passed over."""

    linger = 0.05

    def __init__(self, url: str, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.url = url
        self.name = redact(url)
        self.bulk = url.rstrip("/").endswith("/_bulk")
        self._client = httpx.AsyncClient(
            transport=transport, timeout=httpx.Timeout(10.0, connect=3.0), follow_redirects=False
        )
        self.rejected = 0  # records an Elasticsearch refused for good

    async def send(self, lines: list[bytes]) -> None:
        body = b"".join(_bulk_item(line) if self.bulk else line for line in lines)
        try:
            response = await self._client.post(
                self.url, content=body, headers={"content-type": "application/x-ndjson"}
            )
        except httpx.HTTPError as exc:
            raise DeliveryFailed(type(exc).__name__) from None
        if not 200 <= response.status_code < 300:
            raise DeliveryFailed(f"HTTP {response.status_code}")
        if self.bulk:
            self._check_bulk(response)

    def _check_bulk(self, response: httpx.Response) -> None:
        try:
            answer = response.json()
        except ValueError:
            return  # not Elasticsearch's answer shape: the 2xx is all we know
        if not isinstance(answer, dict) or not answer.get("errors"):
            return
        statuses = [
            next(iter(item.values()), {}).get("status", 0)
            for item in answer.get("items", [])
            if isinstance(item, dict)
        ]
        if any(s == 429 or s >= 500 for s in statuses):
            raise DeliveryFailed("the collector refused some records for now (429/5xx)")
        self.rejected += sum(1 for s in statuses if s >= 400)

    async def aclose(self) -> None:
        await self._client.aclose()


def _bulk_item(line: bytes) -> bytes:
    try:
        record_id = json.loads(line)["id"]
    except (ValueError, KeyError, TypeError):
        return b'{"index":{}}\n' + line
    return json.dumps({"index": {"_id": record_id}}, separators=(",", ":")).encode() + b"\n" + line


def make_target(spec: str, transport: httpx.AsyncBaseTransport | None = None,
                file_max_bytes: int = 0, file_keep: int = 10) -> Target:  # fmt: skip
    if spec == "stdout":
        return StdoutTarget()
    if spec.startswith("file:"):
        return FileTarget(Path(spec[len("file:") :]), file_max_bytes, file_keep)
    return HttpTarget(spec, transport)
