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
        # LDAP: counted by `iamgw.identity.LdapDirectory`, which is given this object.
        self.ldap_logins = Counter(
            "iamgw_ldap_logins",
            "LDAP logins, by result (ok, denied, throttled, unavailable)",
            ["result"],
            registry=self.registry,
        )
        self.ldap_latency = Histogram(
            "iamgw_ldap_seconds",
            "Time one directory server took over a login, by server URL",
            ["server"],
            registry=self.registry,
        )
        self.ldap_errors = Counter(
            "iamgw_ldap_errors",
            "Directory servers that failed a login (no answer, TLS, refused bind), by URL",
            ["server"],
            registry=self.registry,
        )

    async def endpoint(self, request: Request) -> Response:
        return Response(generate_latest(self.registry), media_type=CONTENT_TYPE_LATEST)
