"""/metrics after real traffic through a real gateway: S3 through the SeaweedFS peer, IAM,
STS with the OpenID provider peer, denied requests and bad signatures; and the
`[metrics] bearer_token`. Read with prometheus-client's text parser, as Prometheus would."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import botocore.exceptions
import httpx
import pytest

from iamgw.config import ConfigError, load_settings
from iamgw.ops import metrics as ops_metrics
from iamgw.ops.metrics import Metrics
from tests.gateway_server import GatewayServer, free_port, start_gateway
from tests.iam_helpers import ACCOUNT, Keys, make_user
from tests.ops.metrics_helpers import Samples, scrape, total, value
from tests.s3.test_proxy_transport import HANG, OK, REFUSE, make_proxy
from tests.sts.conftest import forge, id_token, oidc_env, web_identity
from tests.waiting import wait_until

READONLY = f"arn:aws:iam::{ACCOUNT}:policy/readonly"
BUCKET = "metered"
DEAD_NODE = f"http://127.0.0.1:{free_port()}"  # nothing listens: the health check takes it out
DEAD_ISSUER = f"http://127.0.0.1:{free_port()}/realms/nowhere"


@pytest.fixture(scope="module")
def gateway(seaweedfs, oidc_provider, tmp_path_factory) -> Iterator[GatewayServer]:
    env = {
        **oidc_env(0, "keycloak", oidc_provider.issuer, claim_name="policy"),
        **oidc_env(1, "dead", DEAD_ISSUER),
    }
    upstreams = [
        (seaweedfs.endpoint, seaweedfs.access_key, seaweedfs.secret_key),
        (DEAD_NODE, "nobody", "nobody-secret"),
    ]
    server = start_gateway(tmp_path_factory.mktemp("metered"), upstreams, env)
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def reader(gateway: GatewayServer) -> Keys:
    return make_user(gateway, "metrics-reader", managed=[READONLY])


@pytest.fixture(scope="module")
def bucket(gateway: GatewayServer, reader: Keys) -> str:
    s3 = gateway.client()
    s3.create_bucket(Bucket=BUCKET)
    s3.put_object(Bucket=BUCKET, Key="public", Body=b"hello")
    s3.put_object(Bucket=BUCKET, Key="secret", Body=b"not for readers")
    deny = {
        "Effect": "Deny",
        "Principal": {"AWS": reader.arn},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{BUCKET}/secret",
    }
    s3.put_bucket_policy(
        Bucket=BUCKET, Policy=json.dumps({"Version": "2012-10-17", "Statement": [deny]})
    )
    return BUCKET


def code_of(call, *args, **kwargs) -> str:
    try:
        call(*args, **kwargs)
    except botocore.exceptions.ClientError as exc:
        return str(exc.response["Error"]["Code"])
    raise AssertionError("the call succeeded")


def delta(before, after, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


# -- S3 ---------------------------------------------------------------------------------


def test_s3_requests_decisions_and_node_requests_move(gateway, reader, bucket, seaweedfs) -> None:
    root = gateway.client()
    as_reader = gateway.client(key=reader.key, secret=reader.secret)
    before = scrape(gateway.url)

    root.put_object(Bucket=bucket, Key="by-root", Body=b"x" * 100)
    assert as_reader.get_object(Bucket=bucket, Key="public")["Body"].read() == b"hello"
    assert code_of(as_reader.put_object, Bucket=bucket, Key="nope", Body=b"x") == "AccessDenied"
    assert code_of(as_reader.get_object, Bucket=bucket, Key="secret") == "AccessDenied"
    after = scrape(gateway.url)

    requests = "iamgw_requests_total"
    assert delta(before, after, requests, api="s3", operation="PutObject", status="200") == 1
    assert delta(before, after, requests, api="s3", operation="PutObject", status="403") == 1
    assert delta(before, after, requests, api="s3", operation="GetObject", status="200") == 1
    assert delta(before, after, requests, api="s3", operation="GetObject", status="403") == 1
    count = "iamgw_request_seconds_count"
    assert delta(before, after, count, api="s3", operation="GetObject") == 2
    assert delta(before, after, count, api="s3", operation="PutObject") == 2
    bucket_le_inf = ("iamgw_request_seconds_bucket", {"api": "s3", "operation": "GetObject"})
    assert value(after, bucket_le_inf[0], **bucket_le_inf[1], le="+Inf") >= 2

    # The reader's get was allowed by its identity policy; its put matched no statement;
    # the bucket policy's Deny refused the secret (root is never evaluated).
    decisions = "iamgw_decisions_total"
    assert delta(before, after, decisions, result="allowed", policy_type="identity") >= 1
    assert delta(before, after, decisions, result="implicit_deny", policy_type="none") >= 1
    assert delta(before, after, decisions, result="explicit_deny", policy_type="resource") >= 1

    # Two answered by the node (root's put, the reader's get); the dead node got nothing.
    node = seaweedfs.endpoint
    upstream = "iamgw_upstream_requests_total"
    assert delta(before, after, upstream, node=node, status="200") == 2
    assert delta(before, after, "iamgw_upstream_request_seconds_count", node=node) == 2
    assert total(after, upstream, node=DEAD_NODE) == 0
    assert value(after, "iamgw_upstream_up", node=node) == 1
    assert value(after, "iamgw_upstream_up", node=DEAD_NODE) == 0


def test_bad_signatures_and_unknown_keys_are_authentication_failures(gateway, reader) -> None:
    before = scrape(gateway.url)
    forged = gateway.client(key=reader.key, secret="not-the-secret-key")
    assert code_of(forged.list_objects_v2, Bucket=BUCKET) == "SignatureDoesNotMatch"
    stranger = gateway.client(key="AKIANOSUCHKEY0000000", secret="whatever-secret")
    assert code_of(stranger.list_objects_v2, Bucket=BUCKET) == "InvalidAccessKeyId"
    iam = gateway.client("iam", key=reader.key, secret="not-the-secret-key")
    assert code_of(iam.list_users) == "SignatureDoesNotMatch"
    after = scrape(gateway.url)

    failures = "iamgw_auth_failures_total"
    assert delta(before, after, failures, service="s3", reason="SignatureDoesNotMatch") == 1
    assert delta(before, after, failures, service="s3", reason="InvalidAccessKeyId") == 1
    assert delta(before, after, failures, service="iam", reason="SignatureDoesNotMatch") == 1
    # Refused before the operation was known: counted, under `unknown`.
    requests = "iamgw_requests_total"
    assert delta(before, after, requests, api="s3", operation="unknown", status="403") == 2
    assert delta(before, after, requests, api="iam", operation="ListUsers", status="403") == 1


# -- IAM and STS ----------------------------------------------------------------------------


def test_iam_calls_and_their_decisions(gateway, reader) -> None:
    before = scrape(gateway.url)
    gateway.client("iam").list_users()
    as_reader = gateway.client("iam", key=reader.key, secret=reader.secret)
    assert code_of(as_reader.list_users) == "AccessDenied"
    after = scrape(gateway.url)

    requests = "iamgw_requests_total"
    assert delta(before, after, requests, api="iam", operation="ListUsers", status="200") == 1
    assert delta(before, after, requests, api="iam", operation="ListUsers", status="403") == 1
    seconds = "iamgw_request_seconds_count"
    assert delta(before, after, seconds, api="iam", operation="ListUsers") == 2
    # Decided in the IAM handler's worker thread: counted all the same.
    decisions = "iamgw_decisions_total"
    assert delta(before, after, decisions, result="implicit_deny", policy_type="none") >= 1


def test_sts_issuance_and_the_providers_key_fetches(gateway, oidc_provider) -> None:
    before = scrape(gateway.url)
    answer = web_identity(gateway, id_token(oidc_provider, "alice"))
    assert answer["Credentials"]["AccessKeyId"].startswith("ASIA")
    # Signed with a key the dead issuer would have published: its keys cannot be fetched.
    token = forge(oidc_provider, iss=DEAD_ISSUER)
    assert code_of(web_identity, gateway, token) == "IDPCommunicationError"
    after = scrape(gateway.url)

    method = "AssumeRoleWithWebIdentity"
    assert delta(before, after, "iamgw_sts_credentials_issued_total", method=method) == 1
    requests = "iamgw_requests_total"
    assert delta(before, after, requests, api="sts", operation=method, status="200") == 1
    assert total(after, "iamgw_sts_failures_total") > total(before, "iamgw_sts_failures_total")
    # The first token of the provider made the gateway fetch its discovery document and keys.
    issuer = oidc_provider.issuer
    for document in ("discovery", "jwks"):
        assert value(after, "iamgw_idp_requests_total", issuer=issuer, document=document) >= 1
        assert value(after, "iamgw_idp_errors_total", issuer=issuer, document=document) == 0
        seconds = "iamgw_idp_request_seconds_count"
        assert value(after, seconds, issuer=issuer, document=document) >= 1
    dead = {"issuer": DEAD_ISSUER, "document": "discovery"}
    assert delta(before, after, "iamgw_idp_requests_total", **dead) == 1
    assert delta(before, after, "iamgw_idp_errors_total", **dead) == 1


def test_made_up_actions_do_not_become_label_values(gateway) -> None:
    made_up = "NoSuchActionXYZ"
    before = scrape(gateway.url)
    r = httpx.post(gateway.url, data={"Action": made_up, "Version": "2011-06-15"})
    assert r.status_code == 400
    text = httpx.get(gateway.url + "/metrics").text
    assert made_up not in text
    after = scrape(gateway.url)
    requests = "iamgw_requests_total"
    assert delta(before, after, requests, api="sts", operation="unknown", status="400") == 1


def test_build_info_and_the_ops_endpoints(gateway) -> None:
    httpx.get(gateway.url + "/healthz")
    samples = scrape(gateway.url)
    version = ops_metrics.version()
    assert version != "unknown"
    assert value(samples, "iamgw_build_info", version=version) == 1
    assert value(samples, "iamgw_requests_total", api="ops", operation="healthz", status="200") >= 1


def test_audit_delivery_is_counted(gateway) -> None:
    """The audit queues (iamgw.ops.audit) count into the metrics the dashboard reads."""
    before = total(scrape(gateway.url), "iamgw_audit_delivered_total")
    assert httpx.get(gateway.url + f"/{BUCKET}-anonymous/key").status_code == 403

    def delivered() -> Samples | None:
        samples = scrape(gateway.url)
        return samples if total(samples, "iamgw_audit_delivered_total") > before else None

    samples = wait_until(delivered, 30, what="the audit record counted as delivered")
    depths = [v for (name, _), v in samples.items() if name == "iamgw_audit_queue_depth"]
    assert depths and all(v >= 0 for v in depths)
    assert total(samples, "iamgw_audit_dropped_total") == 0


# -- [metrics] bearer_token -------------------------------------------------------------------

TOKEN = "metrics-scraper-token-0123456789"


@pytest.fixture(scope="module")
def protected(seaweedfs, tmp_path_factory) -> Iterator[GatewayServer]:
    upstreams = [(seaweedfs.endpoint, seaweedfs.access_key, seaweedfs.secret_key)]
    env = {"IAMGW_METRICS_BEARER_TOKEN": TOKEN}
    server = start_gateway(tmp_path_factory.mktemp("protected"), upstreams, env)
    try:
        yield server
    finally:
        server.stop()


@pytest.mark.parametrize(
    "authorization",
    [None, "", "Bearer", "Bearer wrong-token", f"Basic {TOKEN}", f"Bearer {TOKEN}x", TOKEN],
)
def test_bearer_token_needed(protected: GatewayServer, authorization: str | None) -> None:
    headers = {} if authorization is None else {"authorization": authorization}
    r = httpx.get(protected.url + "/metrics", headers=headers)
    assert r.status_code == 401
    assert r.headers["www-authenticate"].startswith("Bearer")
    assert "iamgw_" not in r.text and TOKEN not in r.text


@pytest.mark.parametrize("scheme", ["Bearer", "bearer"])
def test_bearer_token_given(protected: GatewayServer, scheme: str) -> None:
    samples = scrape(protected.url, {"authorization": f"{scheme} {TOKEN}"})
    assert value(samples, "iamgw_build_info", version=ops_metrics.version()) == 1


def test_bearer_token_leaves_the_other_ops_endpoints_open(protected: GatewayServer) -> None:
    assert httpx.get(protected.url + "/healthz").status_code == 200
    assert httpx.get(protected.url + "/readyz").status_code == 200


def test_a_bearer_token_that_cannot_be_sent_stops_startup() -> None:
    secret = "has a space"
    with pytest.raises(ConfigError) as info:
        load_settings(None, environ={"IAMGW_METRICS_BEARER_TOKEN": secret})
    assert "metrics.bearer_token" in str(info.value) and secret not in str(info.value)
    assert load_settings(None, environ={}).metrics.bearer_token == ""


# -- the storage nodes' failures, in process (a fake transport answers for the nodes) ------


def test_node_failures_are_counted_per_node_and_reason() -> None:
    metrics = Metrics()
    proxy, _ = make_proxy(REFUSE, HANG, OK, first_byte=0.05)

    async def run() -> int:
        metrics.bind()
        response = await proxy.forward("GET", "bucket", "key", [], {})
        return response.status_code

    assert asyncio.run(run()) == 200
    sample = metrics.registry.get_sample_value
    errors = "iamgw_upstream_errors_total"
    assert sample(errors, {"node": "http://node0", "reason": "unreachable"}) == 1
    assert sample(errors, {"node": "http://node1", "reason": "timeout"}) == 1
    assert sample(errors, {"node": "http://node2", "reason": "unreachable"}) is None
    requests = "iamgw_upstream_requests_total"
    assert sample(requests, {"node": "http://node0", "status": "error"}) == 1
    assert sample(requests, {"node": "http://node1", "status": "error"}) == 1
    assert sample(requests, {"node": "http://node2", "status": "200"}) == 1
    latency = "iamgw_upstream_request_seconds_count"
    assert sample(latency, {"node": "http://node2"}) == 1
    assert sample(latency, {"node": "http://node0"}) is None  # no answer, no latency


def test_nothing_is_counted_outside_a_request() -> None:
    """Parts used without a gateway (unit tests, the policy library) count nowhere."""
    proxy, _ = make_proxy(OK)
    response = asyncio.run(proxy.forward("GET", "bucket", "key", [], {}))
    assert response.status_code == 200 and ops_metrics.current() is None


# -- several workers: the files of workers that are gone ------------------------------------


def test_live_gauges_of_dead_workers_are_forgotten(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    dead = tmp_path / f"gauge_livesum_{gone.pid}.db"
    alive = tmp_path / f"gauge_livesum_{os.getpid()}.db"
    counted = tmp_path / f"counter_{gone.pid}.db"
    for path in (dead, alive, counted):
        path.write_bytes(b"")
    ops_metrics.forget_dead_workers(tmp_path)
    assert not dead.exists()
    assert alive.exists() and counted.exists()  # what a dead worker counted still counts


def test_the_multiprocess_directory_starts_empty(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(ops_metrics.MULTIPROC_ENV, "")  # put back as it was after the test
    directory = tmp_path / "data" / ops_metrics.METRICS_DIR
    directory.mkdir(parents=True)
    (directory / "counter_12345.db").write_bytes(b"from an earlier run")
    made = ops_metrics.prepare_multiprocess_dir(tmp_path / "data")
    assert made == directory and list(directory.iterdir()) == []
    assert os.environ[ops_metrics.MULTIPROC_ENV] == str(directory.resolve())
    assert directory.stat().st_mode & 0o777 == 0o700
