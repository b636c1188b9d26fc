"""Prometheus metrics: one registry per gateway process, counted in one place."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.requests import Request
from starlette.responses import Response


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "iamgw_requests",
            "Requests answered, by API and HTTP status",
            ["api", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "iamgw_request_seconds",
            "Time to answer a request, by API",
            ["api"],
            registry=self.registry,
        )
        # STS: counted in one place, `iamgw.sts.handle`.
        self.sts_issued = Counter(
            "iamgw_sts_credentials_issued",
            "Temporary credentials issued, by STS action",
            ["method"],
            registry=self.registry,
        )
        self.sts_failures = Counter(
            "iamgw_sts_failures",
            "STS requests refused, by error code",
            ["reason"],
            registry=self.registry,
        )

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
