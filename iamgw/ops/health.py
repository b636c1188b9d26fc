"""Liveness (`/healthz`: the process answers) and readiness (`/readyz`: store and a node).

`/readyz` answers from the storage nodes' health as the background checks (and failed
requests) last saw it: it never waits for a node itself, so a hung node cannot hold a
load balancer's probe.
"""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from iamgw.gateway import gateway_of


async def healthz(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> JSONResponse:
    gateway = gateway_of(request)
    store_ok = await run_in_threadpool(gateway.repo.ping)
    nodes = [
        {"endpoint": n.endpoint, "up": n.up, "requests": n.requests}
        for n in gateway.upstreams.nodes
    ]
    ready = store_ok and any(n["up"] for n in nodes)
    body = {"status": "ready" if ready else "not ready", "store": store_ok, "upstreams": nodes}
    return JSONResponse(body, status_code=200 if ready else 503)
