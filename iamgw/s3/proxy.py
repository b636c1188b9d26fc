"""Forward an allowed request to a storage node, re-signed with the node's credentials.

Bodies stream both ways: the request body is read from the client as the node
reads it, and the node's answer is passed on chunk by chunk, so memory stays
constant for any object size. Requests go out through the pool's transport
(`iamgw.s3.upstreams.UpstreamTransport`).

A request whose body has not been sent yet (GET, HEAD, DELETE, or a body that
is still unread) is retried on another node when its node cannot be reached or
answers 5xx; a failed node is taken out until its health check passes.

A node that accepts a request and then says nothing (hung, stopped, swapping)
is given a bounded time: an idempotent request that is not a server-side copy
must see the answer's head within the node's `first_byte_timeout_seconds`
(counted while the node owes us an answer, never while the client's body is
still on its way), or the node is taken out and the request retried elsewhere
(503 when there is nowhere else to go); any other request gets at most
`SLOW_ANSWER_SECONDS`, then 503, and its node is left to the health check.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote

from starlette.background import BackgroundTask
from starlette.responses import Response, StreamingResponse

from iamgw.errors import ServiceUnavailable
from iamgw.ops import note, upstream_error, upstream_request
from iamgw.s3.limits import check_user_metadata
from iamgw.s3.upstreams import (
    NodeUnreachable,
    UnreadableAnswer,
    Upstream,
    UpstreamPool,
    UpstreamResponse,
    UpstreamTransport,
)
from iamgw.sigv4 import sign_request

log = logging.getLogger("iamgw.proxy")
# Hop-by-hop headers (RFC 9110 §7.6.1): never passed on, either way.
_HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
}
# Not forwarded to the node either: what the gateway re-signs or answers itself.
_DROP_REQUEST = _HOP_BY_HOP | {
    "host",
    "proxy-authorization",
    "expect",
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "x-amz-decoded-content-length",
    "x-amz-trailer",
    "content-length",
}
# Not passed back to the client: the node's own identity and the gateway's to set.
_DROP_RESPONSE = _HOP_BY_HOP | {"server", "date", "x-amz-request-id", "x-amz-id-2"}
_RETRY_STATUS = {500, 502, 503, 504}
_IDEMPOTENT = {"GET", "HEAD", "PUT", "DELETE"}  # RFC 9110 §9.2.2
UNSIGNED = "UNSIGNED-PAYLOAD"
SMALL_ANSWER = 64 * 1024  # answers up to this size are read whole, larger ones streamed
# The wait for a request that is not retried (POST, copies, a streamed body already
# sent): an SDK gives up after 60 s (botocore's read timeout), waiting longer helps nobody.
SLOW_ANSWER_SECONDS = 60.0


def upstream_path(bucket: str | None, key: str | None) -> str:
    """Path-style, each character outside RFC 3986's unreserved set encoded once."""
    if not bucket:
        return "/"
    path = "/" + quote(bucket, safe="")
    if key is not None:
        path += "/" + quote(key, safe="/~")
    return path


def upstream_query(params: list[tuple[str, str]]) -> str:
    parts = [f"{quote(k, safe='~')}={quote(v, safe='~')}" for k, v in params]
    return "&".join(parts)


class _Body:
    """Wraps the request body: a retry must know whether any of it was sent, a failure
    of the client's side (it went away) must not be blamed on the node, and neither
    must the time spent waiting for the client's next chunk."""

    def __init__(self, source: AsyncIterator[bytes]) -> None:
        self.source = source
        self.started = False
        self.failed: BaseException | None = None
        self.reading = False  # waiting for the client's next chunk
        self.handed = 0.0  # monotonic time the node last took a chunk (or the end)

    def node_owes_since(self, sent: float) -> float | None:
        """Since when the node has had all it needs to make progress: None while the
        client's body is awaited (its pace, not the node's)."""
        if not self.started:
            return sent
        return None if self.reading else self.handed

    async def __aiter__(self) -> AsyncIterator[bytes]:
        self.started = True
        try:
            source = self.source.__aiter__()
            while True:
                self.reading = True
                try:
                    chunk = await anext(source)
                except StopAsyncIteration:
                    break
                finally:
                    self.reading, self.handed = False, time.monotonic()
                if chunk:
                    yield chunk
        except Exception as exc:
            self.failed = exc
            raise


class _Stalled(Exception):  # noqa: N818 - what the node did, not an error of ours
    """The node owed an answer for longer than its limit."""


class _Retry(Exception):  # noqa: N818 - not an error: try the next node
    """The attempt failed in a way another node may not: `reason` (None: the one before)."""

    def __init__(self, reason: str | None = None) -> None:
        self.reason = reason


def _forwarded_headers(headers: dict[str, str], content_length: int | None) -> dict[str, str]:
    forwarded = {k: v for k, v in headers.items() if k not in _DROP_REQUEST}
    if "content-encoding" in forwarded:  # aws-chunked is the client's framing, not ours
        codings = [c.strip() for c in forwarded.pop("content-encoding").split(",")]
        kept = [c for c in codings if c and c.lower() != "aws-chunked"]
        if kept:
            forwarded["content-encoding"] = ",".join(kept)
    if content_length is not None:
        forwarded["content-length"] = str(content_length)
    return forwarded


@dataclass
class _Outgoing:
    """One request on its way to the nodes, over its attempts."""

    method: str
    path: str
    query: str
    headers: dict[str, str]  # as forwarded, before signing
    payload_hash: str
    body: bytes | None
    stream: _Body | None
    replay: Callable[[], AsyncIterator[bytes]] | None

    @property
    def quick(self) -> bool:
        # Idempotent and quick at the node: a copy makes the node read a whole object
        # before it answers, which can take long on a node that is perfectly well.
        return self.method in _IDEMPOTENT and "x-amz-copy-source" not in self.headers

    def can_resend(self) -> bool:
        return self.stream is None or not self.stream.started or self.replay is not None

    def content(self) -> _Body | bytes | None:
        """The body for the next attempt: from its start again when it was spooled."""
        if self.stream is not None and self.stream.started and self.replay is not None:
            self.stream = _Body(self.replay())
        return self.stream if self.stream is not None else self.body


class Proxy:
    def __init__(self, pool: UpstreamPool) -> None:
        self.pool = pool
        self.transport: UpstreamTransport = pool.transport  # the pool's: it closes it

    async def forward(
        self,
        method: str,
        bucket: str | None,
        key: str | None,
        params: list[tuple[str, str]],
        headers: dict[str, str],
        body: AsyncIterator[bytes] | bytes | None = None,
        content_length: int | None = None,
        payload_hash: str = UNSIGNED,
        replay: Callable[[], AsyncIterator[bytes]] | None = None,
    ) -> Response:
        """Send the request to a node that is up and stream its answer back.

        `replay` gives the body again from its start (a spooled body): with it, a
        request whose body was already sent can still be retried on another node.
        """
        check_user_metadata(method, headers)  # before any byte reaches a node
        stream = _Body(body) if body is not None and not isinstance(body, bytes) else None
        out = _Outgoing(
            method,
            upstream_path(bucket, key),
            upstream_query(params),
            _forwarded_headers(headers, content_length),
            payload_hash,
            body if isinstance(body, bytes) else None,
            stream,
            replay,
        )
        tried: set[int] = set()
        last_error = "no storage node is up"
        while True:
            node = self.pool.pick()
            if node is None or id(node) in tried:
                raise ServiceUnavailable(f"Service unavailable: {last_error}.")
            tried.add(id(node))
            try:
                return await self._attempt(node, out, tried)
            except _Retry as retry:
                last_error = retry.reason or last_error

    async def _attempt(self, node: Upstream, out: _Outgoing, tried: set[int]) -> Response:
        """`out` sent to `node` and its answer; _Retry to try the next node."""
        limit = node.first_byte_timeout if out.quick else SLOW_ANSWER_SECONDS
        note(upstream=node.endpoint)  # the audit record's: the node that was asked last
        content = out.content()  # before `out.stream` is read: it may start again
        try:
            response = await _within(self._send(node, out, content), limit, out.stream)
        except NodeUnreachable as exc:
            if out.stream is not None and out.stream.failed is not None:
                raise out.stream.failed from None  # the client's body failed, not the node
            upstream_error(node.endpoint, "unreachable")
            self.pool.mark_down(node)
            reason = f"{node.endpoint} failed ({type(exc.__cause__ or exc).__name__})"
            if not out.can_resend():
                raise ServiceUnavailable(f"Service unavailable: {reason}.") from None
            raise _Retry(reason) from None
        except UnreadableAnswer as exc:
            # The node answered, but its answer's head cannot be parsed: the node is
            # up (it is not taken out, nor is the request retried elsewhere, where the
            # same object gives the same answer), and the client gets a clean 503.
            raise _unreadable(node.endpoint, exc) from None
        except _Stalled:
            raise _Retry(self._stalled(node, limit, out.quick, out.can_resend())) from None
        retry = out.method in _IDEMPOTENT and out.can_resend() and self._others(tried)
        if response.status in _RETRY_STATUS and retry:
            response.release()
            log.warning("%s answered %d: retrying on another node", node.endpoint, response.status)
            raise _Retry()
        try:
            return await _answer(response, limit)
        except UnreadableAnswer as exc:
            response.release()
            raise _unreadable(node.endpoint, exc) from None
        except _Stalled:  # the head came, then nothing: the same as no head at all
            raise _Retry(self._stalled(node, limit, out.quick, out.can_resend())) from None

    def _stalled(self, node: Upstream, limit: float, quick: bool, can_resend: bool) -> str:
        """After `node` owed an answer for `limit` seconds: the reason, to retry elsewhere
        with; raises 503 when the request is not to be retried."""
        reason = f"{node.endpoint} did not answer within {limit:g} s"
        log.warning("%s", reason)
        upstream_error(node.endpoint, "timeout")
        if not quick:
            # Not retried, and maybe legitimate slow work: the health check judges the node.
            raise ServiceUnavailable(f"Service unavailable: {reason}.")
        self.pool.mark_down(node)
        if not can_resend:
            raise ServiceUnavailable(f"Service unavailable: {reason}.")
        return reason

    def _others(self, tried: set[int]) -> bool:
        return any(id(n) not in tried for n in self.pool.healthy())

    async def _send(
        self, node: Upstream, out: _Outgoing, content: _Body | bytes | None
    ) -> UpstreamResponse:
        url = node.endpoint + out.path + (f"?{out.query}" if out.query else "")
        signed = sign_request(
            out.method,
            url,
            out.headers,
            out.payload_hash,
            node.credentials,
            region=node.region,
            service="s3",
            now=datetime.now(UTC),
        )
        data = content.__aiter__() if isinstance(content, _Body) else content
        started, status = time.monotonic(), None
        try:
            response = await self.transport.send(out.method, url, {**out.headers, **signed}, data)
            status = response.status
            return response
        finally:
            upstream_request(node.endpoint, status, time.monotonic() - started)


def _unreadable(origin: object, exc: Exception) -> ServiceUnavailable:
    log.warning("%s sent an answer that cannot be read: %s", origin, exc)
    upstream_error(str(origin), "unreadable")
    return ServiceUnavailable("The storage node's answer could not be read.")


async def _release(upstream: UpstreamResponse) -> None:
    # Async on purpose: Starlette runs a plain function in a worker thread.
    upstream.release()


async def _within(
    work: Awaitable[UpstreamResponse], limit: float, body: _Body | None
) -> UpstreamResponse:
    """`work` (a request until its answer's head), cancelled with `_Stalled` once the
    node has owed progress for `limit` seconds: the time the client's body takes to
    arrive does not count."""
    task = asyncio.ensure_future(work)
    sent = time.monotonic()
    try:
        while True:
            since = sent if body is None else body.node_owes_since(sent)
            wait = limit if since is None else since + limit - time.monotonic()
            if wait <= 0:
                raise _Stalled()
            done, _ = await asyncio.wait({task}, timeout=wait)
            if done:
                return task.result()
    finally:
        if not task.done():
            task.cancel()  # closes the connection: nothing more goes to that node
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _read_whole(upstream: UpstreamResponse, limit: float) -> bytes:
    try:
        async with asyncio.timeout(limit):
            return await upstream.read()
    except TimeoutError:
        upstream.close()
        raise _Stalled() from None


async def _answer(upstream: UpstreamResponse, limit: float) -> Response:
    """A small answer whole (one write, no streaming machinery); any other streamed."""
    length = upstream.content_length
    if length is not None and length <= SMALL_ANSWER:
        body = await _read_whole(upstream, limit)
        upstream.release()
        response = Response(body, status_code=upstream.status)
    else:
        response = StreamingResponse(
            upstream.iter_chunks(),
            status_code=upstream.status,
            background=BackgroundTask(_release, upstream),
        )
    # Raw pairs: a header the node sends twice is passed on twice.
    response.raw_headers = [
        (k.lower(), v) for k, v in upstream.raw_headers if k.lower().decode() not in _DROP_RESPONSE
    ]
    return response
