"""Audit: one JSON line per request, to files, stdout, or an HTTP collector.

Targets (`[audit] targets`): `file:PATH` (appended), `stdout`, and `http(s)://...`
(batched JSON lines, or Elasticsearch's `_bulk` format when the URL ends in
`/_bulk`). Recording never waits for a target: events go through a bounded
queue written by a background task; when a collector fails, or the queue is
full, events are dropped, counted (`Auditor.dropped`) and logged, so the data
path never stalls on auditing.

An event names who did what and what was decided; it never holds a secret key,
a session token or a presigned URL's signature (the query is left out).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import IO, Any

import httpx

log = logging.getLogger("iamgw.audit")
QUEUE_SIZE = 10_000
BATCH = 500


class Auditor:
    def __init__(self, targets: list[str], transport: httpx.AsyncBaseTransport | None = None):
        self._files: list[IO[str]] = []
        self._urls: list[str] = []
        for target in targets:
            if target == "stdout":
                self._files.append(sys.stdout)
            elif target.startswith("file:"):
                path = Path(target[len("file:") :])
                path.parent.mkdir(parents=True, exist_ok=True)
                self._files.append(path.open("a", encoding="utf-8", buffering=1))
            else:
                self._urls.append(target)
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(QUEUE_SIZE)
        self._client = httpx.AsyncClient(transport=transport, timeout=5.0)
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    def record(self, event: dict[str, Any]) -> None:
        """Queue one event; never blocks (a full queue drops the event and counts it)."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="audit")

    async def _run(self) -> None:
        while True:
            # Whatever is queued goes out at once, as one batch: under load the batches
            # grow by themselves, and a quiet gateway never holds a record back.
            batch = [await self._queue.get()]
            while len(batch) < BATCH and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            await self._write(batch)

    async def _write(self, batch: list[dict[str, Any]]) -> None:
        lines = [json.dumps(e, separators=(",", ":"), default=str) for e in batch]
        for fh in self._files:
            fh.write("\n".join(lines) + "\n")
            fh.flush()
        for url in self._urls:
            if url.rstrip("/").endswith("/_bulk"):
                body = "".join(f'{{"index":{{}}}}\n{line}\n' for line in lines)
            else:
                body = "\n".join(lines) + "\n"
            try:
                response = await self._client.post(
                    url, content=body, headers={"content-type": "application/x-ndjson"}
                )
                response.raise_for_status()
            except httpx.HTTPError as exc:
                self.dropped += len(batch)
                log.warning(
                    "audit target %s failed (%s): %d events dropped",
                    _redact(url),
                    type(exc).__name__,
                    len(batch),
                )

    async def aclose(self) -> None:
        """Write what is queued, then stop."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        pending = []
        while not self._queue.empty():
            pending.append(self._queue.get_nowait())
        if pending:
            await self._write(pending)
        for fh in self._files:
            if fh is not sys.stdout:
                fh.close()
        await self._client.aclose()


def audit_fields(request: Any) -> dict[str, Any]:
    """The audit fields of this request, filled in by the handlers as they learn them."""
    scope = request.scope
    if "iamgw.audit" not in scope:
        scope["iamgw.audit"] = {}
    fields: dict[str, Any] = scope["iamgw.audit"]
    return fields


def _redact(url: str) -> str:
    """A collector URL without its user:password part."""
    parts = httpx.URL(url)
    return str(parts.copy_with(username=None, password=None)) if parts.userinfo else url
