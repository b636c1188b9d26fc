"""Prometheus metrics: what `/metrics` exports, and the hooks the code that counts calls.

Every metric is an attribute of `Metrics`, one per gateway process (the app's lifespan
makes it); docs/metrics.md lists them with their labels and what updates each. The
code that counts reaches the serving app's `Metrics` through `current()`: `dispatch`
binds it for the request (`Metrics.bind`), so the S3 proxy, the decision point, SigV4
authentication and the OpenID key fetches count with the helpers below without being
handed it; outside a request (unit tests of those parts) they count nothing.

With several workers (`iamgw serve --workers N`) each worker is a process of its own:
prometheus-client's multiprocess mode keeps every worker's values in files under
`data_dir/metrics/` (`PROMETHEUS_MULTIPROC_DIR`, emptied by `iamgw serve` before the
workers start, see `prepare_multiprocess_dir`), and whichever worker answers a scrape
adds them all up: counters and histograms are summed, gauges as each one says
(`multiprocess_mode`).

`[metrics] bearer_token` set: a scrape must send `Authorization: Bearer <token>`
(compared in constant time), else it gets 401.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import importlib.metadata
import os
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextvars import ContextVar
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar
from urllib.parse import unquote_plus

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    values,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from iamgw.errors import AWSError

if TYPE_CHECKING:
    from iamgw.policy import Decision

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
METRICS_DIR = "metrics"  # under data_dir: the workers' value files
# Seconds: from a millisecond (a cached decision) to two minutes (a large object's head).
LATENCY_BUCKETS = (
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0, 120.0,
)  # fmt: skip
UNKNOWN = "unknown"  # an operation the request never got as far as naming

# `_created` series add nothing a dashboard uses, and multiprocess mode has none:
# one output whatever the number of workers.
disable_created_metrics()


class Metrics:
    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        # Multiprocess mode is chosen when prometheus_client is imported (by the variable).
        multiprocess = values.ValueClass is not values.MutexValue
        self.multiprocess_dir = os.environ.get(MULTIPROC_ENV) if multiprocess else None

        # -- requests: counted by `app.dispatch`, through `count_request` ---------------
        self.requests = Counter(
            "iamgw_requests",
            "Requests answered, by API (s3, iam, sts, console, ops), operation and status",
            ["api", "operation", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "iamgw_request_seconds",
            "Time to answer a request (until its answer's head), by API and operation",
            ["api", "operation"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        # -- decisions and authentication: `identity.access` and `identity.authn` ------
        self.decisions = Counter(
            "iamgw_decisions",
            "Policy decisions, by result (allowed, explicit_deny, implicit_deny) and the "
            "type of the policy that decided (none: no statement applied)",
            ["result", "policy_type"],
            registry=registry,
        )
        self.auth_failures = Counter(
            "iamgw_auth_failures",
            "Signed requests whose authentication failed, by service and AWS error code",
            ["service", "reason"],
            registry=registry,
        )
        # -- STS: counted in one place, `iamgw.sts.handle` -------------------------------
        self.sts_issued = Counter(
            "iamgw_sts_credentials_issued",
            "Temporary credentials issued, by STS action",
            ["method"],
            registry=registry,
        )
        self.sts_failures = Counter(
            "iamgw_sts_failures",
            "STS requests refused, by error code",
            ["reason"],
            registry=registry,
        )
        # -- storage nodes: `s3.proxy` (requests), this module at scrape time (health) ---
        self.upstream_requests = Counter(
            "iamgw_upstream_requests",
            "Requests sent to a storage node, by node and the status it answered "
            "(error: no answer)",
            ["node", "status"],
            registry=registry,
        )
        self.upstream_errors = Counter(
            "iamgw_upstream_errors",
            "Requests a storage node failed, by node and reason (unreachable, timeout, unreadable)",
            ["node", "reason"],
            registry=registry,
        )
        self.upstream_latency = Histogram(
            "iamgw_upstream_request_seconds",
            "Time a storage node took to send its answer's head, by node",
            ["node"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        self.upstream_up = Gauge(
            "iamgw_upstream_up",
            "Whether a storage node is up (1) or taken out (0), as the health checks saw it",
            ["node"],
            multiprocess_mode="mostrecent",  # the view of the worker that answers the scrape
            registry=registry,
        )
        # -- OpenID providers: `identity.oidc` (discovery document and JWKS fetches) ------
        self.idp_requests = Counter(
            "iamgw_idp_requests",
            "Requests to OpenID providers, by issuer and document (discovery, jwks)",
            ["issuer", "document"],
            registry=registry,
        )
        self.idp_errors = Counter(
            "iamgw_idp_errors",
            "Requests to OpenID providers that failed (no answer, an HTTP error, or a "
            "document that cannot be used), by issuer and document",
            ["issuer", "document"],
            registry=registry,
        )
        self.idp_latency = Histogram(
            "iamgw_idp_request_seconds",
            "Time an OpenID provider took to answer, by issuer and document",
            ["issuer", "document"],
            buckets=LATENCY_BUCKETS,
            registry=registry,
        )
        # -- LDAP: counted by `iamgw.identity.LdapDirectory`, which is given this object --
        self.ldap_logins = Counter(
            "iamgw_ldap_logins",
            "LDAP logins, by result (ok, denied, throttled, unavailable)",
            ["result"],
            registry=registry,
        )
        self.ldap_latency = Histogram(
            "iamgw_ldap_seconds",
            "Time one directory server took over a login, by server URL",
            ["server"],
            registry=registry,
        )
        self.ldap_errors = Counter(
            "iamgw_ldap_errors",
            "Directory servers that failed a login (no answer, TLS, refused bind), by URL",
            ["server"],
            registry=registry,
        )
        # -- audit: updated by `iamgw.ops.audit` (the targets' queues and deliverers) ----
        self.audit_queue = Gauge(
            "iamgw_audit_queue_depth",
            "Bytes of audit records waiting on disk for a target, by target",
            ["target"],
            multiprocess_mode="livesum",  # each worker has its own queue
            registry=registry,
        )
        self.audit_delivered = Counter(
            "iamgw_audit_delivered",
            "Audit records a target took, by target",
            ["target"],
            registry=registry,
        )
        self.audit_dropped = Counter(
            "iamgw_audit_dropped",
            "Audit records given up (when_full = drop-oldest), by target",
            ["target"],
            registry=registry,
        )
        # -- the gateway itself --------------------------------------------------------
        self.build_info = Gauge(
            "iamgw_build_info",
            "Always 1: the version of iamgw that serves",
            ["version"],
            multiprocess_mode="max",
            registry=registry,
        )
        self.build_info.labels(version()).set(1)

    # -- counting ------------------------------------------------------------------------

    def bind(self) -> None:
        """Count the current request (its task, and the threads it hands work to) here:
        what `current()` returns to the code that counts."""
        _current.set(self)

    def count_request(self, request: Request, api: str, status: int, seconds: float) -> None:
        """One answered request (`app.dispatch`)."""
        operation = operation_of(request, api)
        self.requests.labels(api, operation, str(status)).inc()
        self.latency.labels(api, operation).observe(seconds)

    # -- /metrics ------------------------------------------------------------------------

    async def endpoint(self, request: Request) -> Response:
        from iamgw.gateway import gateway_of  # (imports nothing at module level: no cycle)

        gateway = gateway_of(request)
        token = gateway.settings.metrics.bearer_token
        if token and not bearer_matches(request.headers.get("authorization", ""), token):
            return Response(
                "401 Unauthorized: /metrics needs the [metrics] bearer_token\n",
                status_code=401,
                headers={"www-authenticate": 'Bearer realm="iamgw metrics"'},
                media_type="text/plain",
            )
        for node in gateway.upstreams.nodes:
            self.upstream_up.labels(node.endpoint).set(1 if node.up else 0)
        if self.multiprocess_dir is None:
            body = generate_latest(self.registry)
        else:
            body = await run_in_threadpool(self.exposition)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    def exposition(self) -> bytes:
        """The text format of every metric: this process's, or with multiprocess mode
        every worker's, added up."""
        if self.multiprocess_dir is None:
            return generate_latest(self.registry)
        forget_dead_workers(Path(self.multiprocess_dir))
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.multiprocess_dir)
        return generate_latest(registry)


def bearer_matches(header: str, token: str) -> bool:
    """Whether an Authorization header is `Bearer <token>`, in constant time (digests
    are compared, so neither the token's content nor its length shows in the timing)."""
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer":
        given = ""
    expected = hashlib.sha256(token.encode()).digest()
    offered = hashlib.sha256(given.strip().encode("utf-8", "surrogateescape")).digest()
    return hmac.compare_digest(expected, offered)


@functools.cache
def version() -> str:
    try:
        return importlib.metadata.version("iamgw")
    except importlib.metadata.PackageNotFoundError:
        return UNKNOWN


# -- the operation label: a bounded set of names, never what a client made up ----------------


def operation_of(request: Request, api: str) -> str:
    """The operation of an answered request: the S3 operation the handler recognised,
    the IAM or STS action when it is one of theirs, the ops endpoint; else `unknown`."""
    if api == "ops":
        return request.url.path.strip("/") or UNKNOWN
    if api == "console":
        return "console"
    known = _KNOWN.get(api, frozenset())
    name = (request.scope.get("iamgw.audit") or {}).get("operation")
    if isinstance(name, str) and name in known:
        return name
    if api in ("iam", "sts"):  # refused before its handler named it
        action = _query_action(request.scope)
        return action if action in known else UNKNOWN
    return UNKNOWN


# Each API's operation names, registered by the app (ops sits at the end of the request's
# path and imports none of the packages before it): anything else is `unknown`.
_KNOWN: dict[str, frozenset[str]] = {}


def register_operations(api: str, names: Iterable[str]) -> None:
    """The operation names `api` may report (label values are a closed set)."""
    _KNOWN[api] = frozenset(names)


_ACTION = re.compile(rb"(?:^|&)Action=([^&]{1,128})")


def _query_action(scope: dict[str, Any]) -> str:
    """The `Action` of a Query API call, from the query string or the form body the
    router read (`queryapi.query_params` keeps it in the scope)."""
    for raw in (scope.get("query_string", b""), scope.get("iamgw.query_body", b"")):
        match = _ACTION.search(raw or b"")
        if match:
            return unquote_plus(match.group(1).decode("latin-1"))
    return ""


# -- the serving app's Metrics, for the code that counts -------------------------------------

_current: ContextVar[Metrics | None] = ContextVar("iamgw_metrics", default=None)


def current() -> Metrics | None:
    return _current.get()


def count_decision(decision: Decision) -> None:
    """A policy decision (`Access.decide`): its result and the type of the policy that
    made it; for an implicit deny, the first limiting type that did not allow, if any."""
    metrics = _current.get()
    if metrics is None:
        return
    outcome = str(decision.outcome)
    if outcome == "Allowed":
        result = "allowed"
    elif outcome == "ExplicitlyDenied":
        result = "explicit_deny"
    else:
        result = "implicit_deny"
    kind = decision.policy_type or (decision.blocked_by[0] if decision.blocked_by else None)
    metrics.decisions.labels(result, str(kind) if kind else "none").inc()


P = ParamSpec("P")
R = TypeVar("R")


def count_auth_failures(
    authenticate: Callable[P, Awaitable[R]],
) -> Callable[P, Awaitable[R]]:
    """Decorates `identity.authenticate`: an AWS error it raises is an authentication
    failure, counted by the service (its `service` argument) and the code the client gets."""

    @functools.wraps(authenticate)
    async def counted(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return await authenticate(*args, **kwargs)
        except AWSError as exc:
            metrics = _current.get()
            if metrics is not None:
                service = str(kwargs.get("service", UNKNOWN))
                metrics.auth_failures.labels(service, exc.wire(service).code).inc()
            raise

    return counted


def upstream_request(node: str, status: int | None, seconds: float) -> None:
    """One request sent to storage node `node`: the status of its answer (None: no
    answer's head came) and the time to that head."""
    metrics = _current.get()
    if metrics is None:
        return
    metrics.upstream_requests.labels(node, "error" if status is None else str(status)).inc()
    if status is not None:
        metrics.upstream_latency.labels(node).observe(seconds)


def upstream_error(node: str, reason: str) -> None:
    """Storage node `node` failed a request: unreachable, timeout or unreadable."""
    metrics = _current.get()
    if metrics is not None:
        metrics.upstream_errors.labels(node, reason).inc()


@contextlib.contextmanager
def idp_request(issuer: str, document: str) -> Iterator[None]:
    """One request to an OpenID provider (`document`: discovery or jwks): counted,
    timed, and counted as an error when the block raises."""
    metrics = _current.get()
    started = time.perf_counter()
    try:
        yield
    except Exception:
        if metrics is not None:
            metrics.idp_errors.labels(issuer, document).inc()
        raise
    finally:
        if metrics is not None:
            metrics.idp_requests.labels(issuer, document).inc()
            metrics.idp_latency.labels(issuer, document).observe(time.perf_counter() - started)


def idp_error(issuer: str, document: str) -> None:
    """A provider's document that came but cannot be used (e.g. no usable key)."""
    metrics = _current.get()
    if metrics is not None:
        metrics.idp_errors.labels(issuer, document).inc()


# -- several workers ---------------------------------------------------------------------------


def prepare_multiprocess_dir(data_dir: Path) -> Path:
    """Before the workers start (`iamgw serve --workers N`, N > 1): an empty
    `data_dir/metrics/` named in `PROMETHEUS_MULTIPROC_DIR`, which the workers inherit
    (and must have before they import prometheus_client: they are new interpreters).
    Files of an earlier run are removed: counters start again from zero with the
    gateway, as with one worker."""
    directory = data_dir / METRICS_DIR
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    directory.chmod(0o700)  # what /metrics may keep behind its bearer_token, files keep too
    for stale in directory.glob("*.db"):
        stale.unlink(missing_ok=True)
    os.environ[MULTIPROC_ENV] = str(directory.resolve())
    return directory


_LIVE_FILE = re.compile(r"gauge_live[a-z]+_(\d+)\.db")


def forget_dead_workers(directory: Path) -> None:
    """Drop the `live*` gauges of workers that are gone (a worker that crashed, or one
    uvicorn replaced): their last values must not count any more. Counters and
    histograms of a dead worker stay: what it counted happened."""
    pids = set()
    for path in directory.glob("gauge_live*.db"):
        match = _LIVE_FILE.fullmatch(path.name)
        if match:
            pids.add(int(match.group(1)))
    for pid in pids:
        if not _alive(pid):
            mark_process_dead(pid, str(directory))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
