"""The storage nodes behind the gateway: which are up, and which to use next.

A node is up when it answers HTTP at all (an unsigned `GET /` gets 403 from a
node that verifies SigV4); connection errors, 5xx and a request left unanswered
(see `proxy`) take it out until a later check succeeds. The checks run in the
background every `check_interval` seconds; `/readyz` reads their outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
from dataclasses import dataclass, field

import httpx

from iamgw.config import UpstreamSettings
from iamgw.sigv4 import Credentials

log = logging.getLogger("iamgw.upstreams")


@dataclass
class Upstream:
    endpoint: str
    access_key: str
    secret_key: str = field(repr=False)
    region: str = "us-east-1"
    up: bool = True
    last_checked: float = 0.0
    requests: int = 0  # requests sent to this node (shown by /readyz)
    first_byte_timeout: float = 10.0  # seconds to the answer's head (idempotent requests)

    @property
    def credentials(self) -> Credentials:
        return Credentials(self.access_key, self.secret_key)

    @classmethod
    def from_settings(cls, s: UpstreamSettings) -> Upstream:
        return cls(
            s.endpoint.rstrip("/"),
            s.access_key,
            s.secret_key,
            s.region,
            first_byte_timeout=float(s.first_byte_timeout_seconds),
        )


class UpstreamPool:
    def __init__(
        self,
        nodes: list[Upstream],
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        check_interval: float = 5.0,
    ) -> None:
        self.nodes = nodes
        self.check_interval = check_interval
        self._client = httpx.AsyncClient(transport=transport, timeout=httpx.Timeout(2.0))
        self._order = itertools.cycle(range(len(nodes))) if nodes else None
        self._task: asyncio.Task[None] | None = None

    def healthy(self) -> list[Upstream]:
        return [n for n in self.nodes if n.up]

    def pick(self) -> Upstream | None:
        """The next node that is up, round robin; None when every node is down."""
        if self._order is None:
            return None
        for _ in range(len(self.nodes)):
            node = self.nodes[next(self._order)]
            if node.up:
                node.requests += 1
                return node
        return None

    async def check(self) -> None:
        await asyncio.gather(*(self._check_one(n) for n in self.nodes))

    async def _check_one(self, node: Upstream) -> None:
        try:
            response = await self._client.get(node.endpoint + "/")
            up = response.status_code < 500
        except httpx.HTTPError:
            up = False
        if up != node.up:
            log.warning("storage node %s is %s", node.endpoint, "back up" if up else "down")
        node.up, node.last_checked = up, time.monotonic()

    def mark_down(self, node: Upstream) -> None:
        if node.up:
            log.warning("storage node %s is down (request failed)", node.endpoint)
        node.up = False

    async def start(self) -> None:
        await self.check()
        self._task = asyncio.create_task(self._loop(), name="upstream-health")

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.check_interval)
            await self.check()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()
