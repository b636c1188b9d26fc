"""An HTTP audit collector the tests start, stop and start again on the same port.

A real aiohttp server on loopback in a thread of its own. It takes JSON lines or
Elasticsearch `_bulk` bodies, keeps every record in the order it arrived (duplicates
included: delivery is at least once) and the raw bodies, and answers 200. `down()`
closes its listening socket (the gateway's connections are refused) and `up()` opens
it again on the same port.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from typing import Any

from aiohttp import web


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Collector:
    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.records: list[dict[str, Any]] = []  # in arrival order, duplicates kept
        self.bodies: list[bytes] = []
        self._lock = threading.Lock()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._runner: web.AppRunner | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _run(self, coroutine: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(30)

    def up(self) -> Collector:
        self._run(self._up())
        return self

    def down(self) -> None:
        self._run(self._down())

    def close(self) -> None:
        self.down()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)

    async def _up(self) -> None:
        if self._runner is not None:
            return
        app = web.Application(client_max_size=64 << 20)
        app.router.add_post("/{tail:.*}", self._take)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True).start()
        self._runner = runner

    async def _down(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    async def _take(self, request: web.Request) -> web.Response:
        body = await request.read()
        lines = [json.loads(line) for line in body.splitlines() if line.strip()]
        records = [r for r in lines if "index" not in r]  # _bulk: action lines left out
        with self._lock:
            self.bodies.append(body)
            self.records.extend(records)
        return web.Response(status=200)

    # -- what arrived -------------------------------------------------------------------

    def snapshot(self) -> list[dict[str, Any]]:
        with self._lock:
            return list(self.records)

    def by_request(self) -> dict[str, set[str]]:
        """Request id -> the distinct record ids that arrived for it."""
        found: dict[str, set[str]] = {}
        for record in self.snapshot():
            found.setdefault(record["request_id"], set()).add(record["id"])
        return found

    def first_arrivals(self) -> list[dict[str, Any]]:
        """Each record once, where it first arrived."""
        seen: set[str] = set()
        first = []
        for record in self.snapshot():
            if record["id"] not in seen:
                seen.add(record["id"])
                first.append(record)
        return first
