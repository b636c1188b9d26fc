"""deploy/grafana/iamgw.json: every PromQL expression parses, and names only metrics the
gateway exports (its /metrics after traffic); the dashboard covers what issue 13 asks."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import promql_parser
import pytest

from tests.gateway_server import GatewayServer, running_gateway
from tests.ops.metrics_helpers import exported_series, parse

DASHBOARD = Path(__file__).resolve().parents[2] / "deploy" / "grafana" / "iamgw.json"
# Grafana's interval variables, as Grafana puts them in before Prometheus sees a query.
INTERVALS = {"$__rate_interval": "1m", "$__interval": "15s", "$__range": "1h"}
# What the dashboard must show (issue 13), by the series it is built on.
REQUIRED = {
    "traffic": "iamgw_requests_total",
    "latency percentiles": "iamgw_request_seconds_bucket",
    "denials": "iamgw_decisions_total",
    "authentication failures": "iamgw_auth_failures_total",
    "STS issuance": "iamgw_sts_credentials_issued_total",
    "upstream health": "iamgw_upstream_up",
    "upstream errors": "iamgw_upstream_errors_total",
    "identity providers": "iamgw_idp_requests_total",
    "audit backlog": "iamgw_audit_queue_depth",
}


def expressions(node: Any) -> Iterator[str]:
    """Every PromQL expression of the dashboard: the panels' targets (rows included)."""
    if isinstance(node, dict):
        if isinstance(node.get("expr"), str):
            yield node["expr"]
        for child in node.values():
            yield from expressions(child)
    elif isinstance(node, list):
        for child in node:
            yield from expressions(child)


def variable_queries(dashboard: dict[str, Any]) -> Iterator[str]:
    """The metric of each `label_values(metric, label)` template variable."""
    for variable in dashboard.get("templating", {}).get("list", []):
        query = variable.get("query")
        text = query.get("query", "") if isinstance(query, dict) else str(query or "")
        match = re.fullmatch(r"\s*label_values\(\s*(.+?)\s*,\s*\w+\s*\)\s*", text)
        if variable.get("type") == "query":
            assert match, f"variable {variable.get('name')}: {text!r}"
            yield match.group(1)


def for_prometheus(expr: str) -> str:
    for variable, interval in INTERVALS.items():
        expr = expr.replace(variable, interval)
    assert "$__" not in expr, expr
    return expr


def metric_names(expr: Any) -> set[str]:
    """The metric names an expression selects, walking promql-parser's syntax tree."""
    if isinstance(expr, promql_parser.VectorSelector):
        names = {expr.name} if expr.name else set()
        for matcher in expr.matchers.matchers:
            if matcher.name == "__name__":
                names.add(matcher.value)
        assert names, f"a selector without a metric name: {expr}"
        return names
    if isinstance(expr, promql_parser.MatrixSelector):
        return metric_names(expr.vector_selector)
    if isinstance(expr, promql_parser.BinaryExpr):
        return metric_names(expr.lhs) | metric_names(expr.rhs)
    if isinstance(expr, promql_parser.AggregateExpr):
        return metric_names(expr.expr) | (metric_names(expr.param) if expr.param else set())
    if isinstance(expr, promql_parser.Call):
        return set().union(*(metric_names(arg) for arg in expr.args))
    if isinstance(expr, promql_parser.ParenExpr | promql_parser.UnaryExpr):
        return metric_names(expr.expr)
    if isinstance(expr, promql_parser.SubqueryExpr):
        return metric_names(expr.expr)
    if isinstance(expr, promql_parser.NumberLiteral | promql_parser.StringLiteral):
        return set()
    raise AssertionError(f"unexpected PromQL node {type(expr).__name__}: {expr}")


def test_the_parser_finds_every_name() -> None:
    expr = promql_parser.parse(
        'histogram_quantile(0.9, sum by (le, api) (rate(a_bucket{x="1"}[5m]))) / on (api) '
        "group_left count(b) > bool 3 or -c offset 5m + max_over_time(d[1h:1m])"
    )
    assert metric_names(expr) == {"a_bucket", "b", "c", "d"}


@pytest.fixture(scope="module")
def exported(seaweedfs, tmp_path_factory) -> set[str]:
    """The series names of a gateway's /metrics, after requests of each API."""
    data = tmp_path_factory.mktemp("dashboard")
    server: GatewayServer
    with running_gateway(data, seaweedfs) as server:
        s3 = server.client()
        s3.create_bucket(Bucket="dashboard")
        s3.put_object(Bucket="dashboard", Key="k", Body=b"v")
        s3.get_object(Bucket="dashboard", Key="k")["Body"].read()
        server.client("iam").list_users()
        server.client("sts").get_caller_identity()
        httpx.get(server.url + "/readyz")
        text = httpx.get(server.url + "/metrics").text
    samples, types = parse(text)
    assert samples, "no samples after traffic"
    return exported_series(types)


def test_every_expression_names_only_exported_metrics(exported: set[str]) -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    found = list(expressions(dashboard.get("panels", [])))
    assert len(found) >= 20
    used: set[str] = set()
    for text in [*found, *variable_queries(dashboard)]:
        names = metric_names(promql_parser.parse(for_prometheus(text)))
        assert names, f"an expression that names no metric: {text}"
        unknown = names - exported
        assert not unknown, f"{text}\n  names what the gateway does not export: {unknown}"
        used |= names
    missing = {what: name for what, name in REQUIRED.items() if name not in used}
    assert not missing, f"the dashboard does not show: {missing}"


def test_the_dashboard_is_importable_as_it_is() -> None:
    """What Grafana needs to import the file: a uid, panels with unique ids and positions,
    and one data source variable every panel uses (no data source uid baked in)."""
    dashboard = json.loads(DASHBOARD.read_text())
    assert dashboard["uid"] == "iamgw" and dashboard["title"]
    panels = dashboard["panels"]
    ids = [p["id"] for p in panels]
    assert len(ids) == len(set(ids))
    variables = {v["name"]: v for v in dashboard["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    for panel in panels:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24 and grid["h"] > 0
        if panel["type"] != "row":
            assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
            assert panel["targets"] and all(t["expr"] for t in panel["targets"])
