"""The Starlette application: routes of DESIGN.md §4, request ids, error XML, lifespan.

One port serves everything. A request is routed by what it is, not by path
alone: a form (or query) with `Action` and `Version=2011-06-15` is STS, with
`Version=2010-05-08` IAM; `/healthz`, `/readyz`, `/metrics` and `/iamgw/...`
only when the request is not SigV4-signed (a bucket may be called `metrics`);
everything else is S3.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import secrets
import time
from collections.abc import AsyncIterator
from typing import Any

import anyio
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from iamgw import console, datadir, iam, identity, s3, sts
from iamgw.config import Settings, load_settings
from iamgw.errors import AWSError, InternalError, ServiceUnavailable
from iamgw.gateway import Gateway, gateway_of
from iamgw.iam import load_canned_policies
from iamgw.identity import Access, OidcVerifier, SessionTokens
from iamgw.ops import (
    AuditMiddleware,
    Auditor,
    Exchange,
    Metrics,
    audit_fields,
    healthz,
    kind_of_arn,
    readyz,
    register_operations,
)
from iamgw.queryapi import query_params
from iamgw.s3 import Proxy, Upstream, UpstreamPool
from iamgw.sigv4 import length_value
from iamgw.store import Repository, StoreUnavailable

log = logging.getLogger("iamgw")
STS_VERSION = "2011-06-15"
IAM_VERSION = "2010-05-08"
_OPS_PATHS = {"/healthz", "/readyz", "/metrics"}


def create_app(
    settings: Settings, *, upstream_transport: Any = None, audit_transport: Any = None
) -> Starlette:
    """The gateway for `settings`; `settings.upstream` must name at least one node
    (`iamgw serve` adds the embedded one when the file configures none)."""
    metrics = Metrics()
    for api, names in (("s3", s3.OPERATION_NAMES), ("iam", iam.ACTIONS), ("sts", sts.ACTIONS)):
        register_operations(api, names)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        master_key = datadir.master_key(settings)
        root = datadir.root_credentials(settings)
        repo = await run_in_threadpool(
            Repository.open, settings.store_url, master_key, settings.server.account_id
        )
        # A key that does not open the store's secrets stops the start (every replica).
        await run_in_threadpool(datadir.check_store_key, repo)
        await run_in_threadpool(load_canned_policies, repo)
        nodes = [Upstream.from_settings(u) for u in settings.upstream]
        pool = UpstreamPool(nodes, transport=upstream_transport)
        await pool.start()
        proxy = Proxy(pool)
        tokens = SessionTokens(master_key)
        access = Access(repo, tokens, root.access_key, root.secret_key)
        auditor = Auditor(
            settings.audit,
            settings.data_dir,
            transport=audit_transport,
            metrics=metrics,
        )
        await auditor.start()
        ldap = identity.LdapDirectory(settings.ldap, metrics=metrics) if settings.ldap.url else None
        app.state.gateway = Gateway(
            settings=settings,
            repo=repo,
            upstreams=pool,
            master_key=master_key,
            root=root,
            access=access,
            proxy=proxy,
            tokens=tokens,
            auditor=auditor,
            metrics=metrics,
            oidc=OidcVerifier(),
            iam_threads=anyio.CapacityLimiter(32),
            ldap=ldap,
            console=console.Console(settings, master_key),
        )
        try:
            yield
        finally:
            if ldap is not None:
                await ldap.aclose()
            await auditor.aclose()
            await pool.aclose()
            repo.close()

    routes = [Route("/{path:path}", dispatch, methods=_ALL_METHODS)]
    middleware = [Middleware(RequestIdMiddleware), Middleware(AuditMiddleware)]
    return Starlette(routes=routes, lifespan=lifespan, middleware=middleware)


def worker_app() -> Starlette:
    """Factory for `uvicorn --factory` workers: settings from IAMGW_CONFIG and the environment."""
    return create_app(load_settings(os.environ.get("IAMGW_CONFIG") or None))


_ALL_METHODS = ["GET", "HEAD", "PUT", "POST", "DELETE", "OPTIONS", "PATCH"]


async def dispatch(request: Request) -> Response:
    gateway = gateway_of(request)
    gateway.metrics.bind()  # what the proxy, decisions and authentication count with
    started = time.perf_counter()
    api = "s3"
    try:
        identity.request_headers(request)  # a repeated Host (and its kind) ends here
        api, handler = await _route(request)
        gateway.auditor.admit(request, api)  # 503 while a full audit queue refuses
        response = await handler(request)
    except AWSError as exc:
        response = error_response(request, exc, api)
    except ClientDisconnect:
        # The client went away before its request was whole: nobody to answer.
        log.info("client disconnected during %s %s", request.method, request.url.path)
        response = Response(status_code=499)
    except StoreUnavailable:
        log.error("IAM store unavailable while answering %s %s", request.method, request.url.path)
        response = error_response(request, ServiceUnavailable(_STORE_UNAVAILABLE), api)
    except Exception:  # noqa: BLE001 - never a stack trace to a client; the log keeps it
        log.exception("internal error answering %s %s", request.method, request.url.path)
        response = error_response(request, InternalError(), api)
    elapsed = time.perf_counter() - started
    gateway.metrics.count_request(request, api, response.status_code, elapsed)
    if api != "ops":  # recorded when the answer is complete, before its last bytes leave
        gateway.auditor.later(request, functools.partial(audit_event, request, api))
    return response


def audit_event(request: Request, api: str, sent: Exchange) -> dict[str, Any]:
    """The record of a request whose answer is complete (`sent`): who asked what, what
    was decided and answered. Never a secret, a token, a signature, a password or the
    query (it may hold a presigned URL's signature)."""
    fields = dict(audit_fields(request))
    principal = fields.pop("principal", None) or "anonymous"
    operation = fields.pop("operation", None)
    action = fields.pop("action", None)
    decision = fields.pop("decision", None)
    if api in ("iam", "sts") and operation:
        action = action or f"{api}:{operation}"
        if decision is None and sent.status < 400:
            decision = "Allowed"
        elif decision is None and (sent.error_code or "").startswith("AccessDenied"):
            decision = "Denied"
    peer = request.client.host if request.client else None
    source = identity.client_address(request)  # behind a trusted proxy: its client
    event: dict[str, Any] = {
        "time": sent.time.isoformat(timespec="milliseconds"),
        "request_id": request.scope.get("iamgw.request_id", ""),
        "source_ip": source,
        "user_agent": request.headers.get("user-agent", "")[:1024] or None,
        "principal": principal,
        "principal_kind": fields.pop("principal_kind", None)
        or kind_of_arn(principal, (o.name for o in gateway_of(request).settings.oidc)),
        "access_key": fields.pop("access_key", None),
        "api": api,
        "method": request.method,
        "path": request.url.path,
        "operation": operation,
        "action": action,
        "resource": fields.pop("resource", None),
        "decision": decision,
        "policy": fields.pop("policy", None),
        "statement": fields.pop("statement", None),
        "status": sent.status,
        "error_code": sent.error_code or None,
        "bytes_in": sent.bytes_in,
        "bytes_out": sent.bytes_out,
        "duration_ms": round(sent.duration * 1000, 3),
        "upstream": fields.pop("upstream", None),
    }
    if peer != source:
        event["peer"] = peer  # the trusted proxy the request came through
    if not sent.complete:
        event["complete"] = False  # the client left, or the answer failed midway
    event.update(fields)  # what a handler adds of its own (ldap_username, ...)
    return event


async def _route(request: Request) -> tuple[str, Any]:
    path = request.url.path
    signed = _is_signed(request)
    if not signed and path in _OPS_PATHS:
        gateway = gateway_of(request)
        ops = {"/healthz": healthz, "/readyz": readyz, "/metrics": gateway.metrics.endpoint}
        return "ops", ops[path]
    if not signed and (path == "/iamgw" or path.startswith("/iamgw/")):
        return "console", console.handle
    if path == "/":
        params = await query_params(request)
        if params is not None:
            version = params.get("Version")
            if version == STS_VERSION:
                return "sts", _with_params(sts.handle, params)
            if version == IAM_VERSION:
                return "iam", _with_params(iam.handle, params)
    return "s3", s3.handle


def _is_signed(request: Request) -> bool:
    auth = request.headers.get("authorization", "")
    return auth.startswith("AWS4-HMAC-SHA256") or "X-Amz-Signature" in request.query_params


def _with_params(handler: Any, params: dict[str, str]) -> Any:
    async def call(request: Request) -> Response:
        audit_fields(request)["operation"] = params.get("Action", "")[:128]
        return await handler(request, params)

    return call


_STORE_UNAVAILABLE = "The IAM store is unavailable; try again."


def error_response(request: Request, exc: AWSError, api: str) -> Response:
    """`exc` in the form the route's `api` answers it (S3's for any but "iam" and "sts")."""
    request_id = request.scope.get("iamgw.request_id", "")
    body = "" if request.method == "HEAD" else exc.to_xml(api, request_id)
    response = Response(body, status_code=exc.wire(api).status, media_type="application/xml")
    if _has_body(request):
        # The client may still be sending a body nobody will read: closing the
        # connection keeps its bytes from being taken for the next request.
        response.headers["connection"] = "close"
    return response


def _has_body(request: Request) -> bool:
    length = length_value(request.headers.get("content-length", "0"))
    return "transfer-encoding" in request.headers or length is None or length > 0


class RequestIdMiddleware:
    """Gives every request an id, answered as `x-amz-request-id` (and `x-amz-id-2`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = secrets.token_hex(8).upper()
        scope["iamgw.request_id"] = request_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-amz-request-id", request_id.encode()))
                headers.append((b"x-amz-id-2", secrets.token_urlsafe(24).encode()))
                headers.append((b"server", b"iamgw"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)
