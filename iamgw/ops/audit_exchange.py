"""The exchange of one request, as the audit and the access log see it.

`AuditMiddleware` (pure ASGI, around the routes) counts the bytes that come in and
go out, notes the status and the AWS error code, and holds back the answer's last
bytes until the request's record is on disk: the head and a body of one chunk
wait for the record; a streamed body goes out as it comes, but always one chunk
behind, so the chunk that completes it leaves only after the record is written.
A client therefore never holds a whole answer whose record could still be lost.

It also writes the access log line of every request (`access_log`), unless
`[audit] access_log = false`.
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from iamgw.errors import ServiceUnavailable

from . import access_log
from .audit import FIELDS, PENDING, AuditUnavailable, bind, unbind

_CODE = re.compile(rb"<Code>([A-Za-z0-9.]{1,64})</Code>")


@dataclass
class Exchange:
    """What was answered: given to the record builder when the answer is complete."""

    method: str
    started: float = field(default_factory=time.perf_counter)
    time: datetime = field(default_factory=lambda: datetime.now(UTC))
    status: int = 0
    error_code: str | None = None
    bytes_in: int = 0
    bytes_out: int = 0
    complete: bool = False  # the whole answer was produced
    duration: float = 0.0

    def finish(self) -> None:
        self.duration = time.perf_counter() - self.started


class AuditMiddleware:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        exchange = Exchange(scope.get("method", ""))
        fields: dict[str, Any] = {}
        scope[FIELDS] = fields
        token = bind(fields)
        held: list[Message] = []
        recorded = False
        started = False  # the head went out

        async def counting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                exchange.bytes_in += len(message.get("body", b""))
            return message

        async def record() -> bool:
            """Write the record (if the request is audited); False if it cannot be."""
            nonlocal recorded
            recorded = True
            exchange.finish()
            pending = scope.get(PENDING)
            if pending is None:
                return True
            auditor, build = pending
            try:
                await auditor.commit(build(exchange))
            except AuditUnavailable:
                return False
            return True

        async def holding_send(message: Message) -> None:
            nonlocal started
            kind = message["type"]
            if kind == "http.response.start":
                exchange.status = message["status"]
                held.append(message)
                return
            if kind != "http.response.body":
                await send(message)
                return
            body = message.get("body", b"")
            if exchange.method != "HEAD":
                exchange.bytes_out += len(body)
            if exchange.status >= 400 and exchange.error_code is None and body:
                found = _CODE.search(body[:4096])
                exchange.error_code = found.group(1).decode() if found else ""
            if not message.get("more_body", False):
                exchange.complete = True
                if not await record():
                    if not started:
                        await _unavailable(scope, send)
                        held.clear()
                        return
                    raise RuntimeError("the audit record could not be written")
                for waiting in held:
                    await send(waiting)
                held.clear()
                started = True
                await send(message)
                return
            if body:  # this chunk is held; everything before it may go
                for waiting in held:
                    await send(waiting)
                held.clear()
                started = True
            held.append(message)

        try:
            await self.app(scope, counting_receive, holding_send)
        finally:
            try:
                if not recorded:
                    # The answer never completed (the client left, or the app failed):
                    # recorded all the same, with what was sent.
                    if not exchange.status:
                        exchange.status = 500
                    await record()
            finally:
                unbind(token)
                if _access_log_on(scope):
                    _log_access(scope, exchange, fields)


async def _unavailable(scope: Scope, send: Send) -> None:
    """The answer when its record could not be written (the disk failed, refuse mode)."""
    error = ServiceUnavailable("The audit record of this request could not be written.")
    body = error.to_xml("s3", scope.get("iamgw.request_id", "")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 503,
            "headers": [
                (b"content-type", b"application/xml"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _access_log_on(scope: Scope) -> bool:
    gateway = getattr(getattr(scope.get("app"), "state", None), "gateway", None)
    auditor = getattr(gateway, "auditor", None)
    return bool(getattr(auditor, "access_log", False))


def _log_access(scope: Scope, exchange: Exchange, fields: dict[str, Any]) -> None:
    client = scope.get("client") or ("-", 0)
    raw = scope.get("raw_path") or scope.get("path", "").encode()
    status = str(exchange.status) if exchange.complete else f"{exchange.status or 500}!"
    access_log.line(
        str(client[0]),
        exchange.method,
        raw,
        status,
        exchange.duration or (time.perf_counter() - exchange.started),
        str(fields.get("principal") or "anonymous"),
        str(scope.get("iamgw.request_id", "")),
    )
