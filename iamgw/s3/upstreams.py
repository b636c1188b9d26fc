"""The storage nodes behind the gateway: which are up, which to use next, and the
transport that talks to them.

A node is up when it answers HTTP at all (an unsigned `GET /` gets 403 from a
node that verifies SigV4); connection errors, a 5xx to the check and a request left unanswered
(see `proxy`) take it out until a later check succeeds. The checks run in the
background every `check_interval` seconds; `/readyz` reads their outcome.

Requests and checks go through an `UpstreamTransport` (as httpx's transports):
`AiohttpTransport` by default, a fake one in tests (tests/s3/test_proxy_transport.py).
The upstream client is aiohttp: under many concurrent requests its connection pool
and C parser cost a fraction of httpx's (measured with bench/proxy.py: 1 KiB GETs
at 16 clients).

`https://` nodes are verified with their `ca_file` (else the system's CAs), host name
included, and shown the `client_cert` when they require one (mTLS): each node's
`ssl.SSLContext` is made once (`client_tls`) and given to aiohttp with every request
to that node's host and port.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import ssl
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import aiohttp
from yarl import URL

from iamgw.config import UpstreamSettings
from iamgw.sigv4 import Credentials

log = logging.getLogger("iamgw.upstreams")
HEALTH_CHECK_SECONDS = 2.0  # a node that does not answer a check within this is down
# The node's answer head: aiohttp's defaults (8190 bytes a field, 128 fields) refuse
# answers that nodes legitimately send, e.g. an object's user metadata stored by
# another client, or an Origin echoed in Access-Control-Allow-Origin. These bounds
# are far above what a request through the gateway can make a node send
# (iamgw.s3.limits) and still keep a broken node from making the parser hoard memory.
ANSWER_FIELD_MAX = 128 * 1024
ANSWER_HEADERS_MAX = 4096


Headers = Mapping[str, str]
Body = AsyncIterator[bytes] | bytes | None  # a body is sent as it comes


class NodeUnreachable(Exception):  # noqa: N818 - what the node is, as ConnectionError
    """The node could not be reached, or the connection failed before its answer's head."""


class UnreadableAnswer(Exception):  # noqa: N818
    """The node answered, but its answer (head, or a body read whole) cannot be parsed."""


class UpstreamResponse(Protocol):
    """A node's answer, its head read and its body not yet."""

    status: int
    content_length: int | None
    raw_headers: Sequence[tuple[bytes, bytes]]

    async def read(self) -> bytes:
        """The whole body; UnreadableAnswer when it is broken (e.g. cut short)."""
        ...

    def iter_chunks(self) -> AsyncIterator[bytes]: ...

    def release(self) -> None:
        """Done with the answer: the connection may serve another request."""
        ...

    def close(self) -> None:
        """Drop the connection, whatever it still carries."""
        ...


class UpstreamTransport(Protocol):
    """Sends one request to a node, exactly as given (URL already encoded, headers
    already signed), and returns once the answer's head is in. Raises NodeUnreachable
    or UnreadableAnswer; deadlines are the caller's (it cancels the call)."""

    async def send(
        self, method: str, url: str, headers: Headers, body: Body
    ) -> UpstreamResponse: ...

    async def aclose(self) -> None: ...


class _AiohttpResponse:
    def __init__(self, answer: aiohttp.ClientResponse) -> None:
        self._answer = answer
        self.status = answer.status
        self.content_length = answer.content_length
        self.raw_headers = answer.raw_headers

    async def read(self) -> bytes:
        try:
            return await self._answer.read()
        except aiohttp.ClientPayloadError as exc:  # e.g. shorter than its Content-Length
            raise UnreadableAnswer(str(exc)) from exc

    def iter_chunks(self) -> AsyncIterator[bytes]:
        return self._answer.content.iter_any()

    def release(self) -> None:
        self._answer.release()

    def close(self) -> None:
        self._answer.close()


def client_tls(settings: UpstreamSettings) -> ssl.SSLContext | None:
    """The TLS client context of an `https://` node (None for `http://`): certificate
    and host name verified against `ca_file` or the system's CAs, and the client
    certificate presented when the node asks for one."""
    if URL(settings.endpoint).scheme != "https":
        return None
    context = ssl.create_default_context(cafile=settings.ca_file or None)
    if settings.client_cert:
        context.load_cert_chain(settings.client_cert, settings.client_key, password="")
    return context


class AiohttpTransport:
    """The real transport: one aiohttp session, bodies passed through untouched.

    `tls`: the TLS context of each `https://` node by (host, port); a node not in it
    is verified with aiohttp's default (the system's CAs)."""

    def __init__(self, tls: Mapping[tuple[str, int], ssl.SSLContext] | None = None) -> None:
        self._session: aiohttp.ClientSession | None = None
        self._tls = dict(tls or {})

    @property
    def session(self) -> aiohttp.ClientSession:
        # Created on first use: it belongs to the event loop that serves requests.
        if self._session is None:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=512, keepalive_timeout=30),
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=5, sock_read=300),
                auto_decompress=False,  # bodies pass through as the node sent them
                skip_auto_headers=("Accept", "Accept-Encoding", "User-Agent", "Content-Type"),
                max_line_size=ANSWER_FIELD_MAX,
                max_field_size=ANSWER_FIELD_MAX,
                max_headers=ANSWER_HEADERS_MAX,
            )
        return self._session

    async def send(self, method: str, url: str, headers: Headers, body: Body) -> UpstreamResponse:
        target = URL(url, encoded=True)  # sent exactly as signed: never re-quoted
        tls: ssl.SSLContext | bool = True
        if self._tls and target.scheme == "https":
            tls = self._tls.get((target.host or "", target.port or 443), True)
        try:
            answer = await self.session.request(
                method,
                target,
                headers=dict(headers),
                data=body,
                allow_redirects=False,
                ssl=tls,
            )
        except aiohttp.ClientResponseError as exc:
            raise UnreadableAnswer(str(exc)) from exc
        except (aiohttp.ClientConnectionError, TimeoutError) as exc:
            raise NodeUnreachable(str(exc)) from exc
        return _AiohttpResponse(answer)

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


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
    tls: ssl.SSLContext | None = field(default=None, repr=False)  # https:// nodes

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
            tls=client_tls(s),
        )

    @property
    def address(self) -> tuple[str, int]:
        """(host, port) of the endpoint, as a request URL to this node names them."""
        url = URL(self.endpoint)
        return url.host or "", url.port or (443 if url.scheme == "https" else 80)


class UpstreamPool:
    def __init__(
        self,
        nodes: list[Upstream],
        *,
        transport: UpstreamTransport | None = None,
        check_interval: float = 5.0,
    ) -> None:
        self.nodes = nodes
        self.check_interval = check_interval
        if transport is None:
            tls = {n.address: n.tls for n in nodes if n.tls is not None}
            transport = AiohttpTransport(tls)
        self.transport: UpstreamTransport = transport
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
        why = ""
        try:
            async with asyncio.timeout(HEALTH_CHECK_SECONDS):
                response = await self.transport.send("GET", node.endpoint + "/", {}, None)
            response.close()  # the status is all a check needs
            up = response.status < 500
        except (NodeUnreachable, UnreadableAnswer) as exc:
            up, why = False, f" ({str(exc)[:300]})"  # e.g. a certificate that fails
        except TimeoutError:
            up = False
        if up != node.up:
            state = "back up" if up else "down"
            log.warning("storage node %s is %s%s", node.endpoint, state, why)
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
        await self.transport.aclose()
