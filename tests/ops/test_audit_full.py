"""Issue 13: a full audit queue behaves as `[audit] when_full` says. `refuse` (the
default) answers new requests 503 with an AWS error until the target takes records
again; `drop-oldest` serves them and gives up the target's oldest records, counted and
logged. The queue is 1 MB (`queue_max_mb = 1`) and the records are made large (a long
key and user agent), so a few hundred requests fill it."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import botocore.exceptions
import httpx
import pytest

from tests.gateway_server import GatewayServer, running_gateway
from tests.ops.audit_collector import Collector
from tests.waiting import wait_until

BUCKET = "full"
AGENT = "a" * 1024  # the most of a user agent a record keeps
LIMIT = 5000  # requests: far more than 1 MB of records of ~2.4 KB


@pytest.fixture
def collector() -> Iterator[Collector]:
    collector = Collector()  # down until the test brings it up
    yield collector
    collector.close()


def gateway_with(seaweedfs, tmp_path, collector: Collector, when_full: str):
    env = {
        "IAMGW_AUDIT_TARGETS": json.dumps([f"{collector.url}/records"]),
        "IAMGW_AUDIT_QUEUE_MAX_MB": "1",
        "IAMGW_AUDIT_WHEN_FULL": when_full,
    }
    return running_gateway(tmp_path / "gateway", seaweedfs, env)


def anonymous_get(http: httpx.Client, gateway: GatewayServer, i: int) -> httpx.Response:
    """A request the gateway answers itself (403: anonymous), with a large record."""
    return http.get(f"{gateway.url}/{BUCKET}/{'k' * 900}-{i}", headers={"user-agent": AGENT})


def test_refuse_answers_503_until_the_target_takes_records_again(
    seaweedfs, tmp_path, collector: Collector, caplog
) -> None:
    caplog.set_level(logging.WARNING, logger="iamgw.audit")
    with gateway_with(seaweedfs, tmp_path, collector, "refuse") as gateway, httpx.Client() as http:
        answered = []
        for i in range(LIMIT):
            answer = anonymous_get(http, gateway, i)
            if answer.status_code == 503:
                break
            assert answer.status_code == 403, answer.text
            answered.append(answer.headers["x-amz-request-id"])
        else:
            pytest.fail(f"{LIMIT} requests and the 1 MB queue never refused one")
        assert answer.headers["content-type"].startswith("application/xml")
        assert "<Code>ServiceUnavailable</Code>" in answer.text
        assert "audit queue is full" in answer.text
        # Every API is refused, each in its own error form; the ops endpoints still answer.
        with pytest.raises(botocore.exceptions.ClientError) as refused:
            gateway.client("iam").list_users()
        assert refused.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert http.get(f"{gateway.url}/healthz").status_code == 200
        assert "AUDIT QUEUE NEARLY FULL" in caplog.text and "AUDIT QUEUE FULL" in caplog.text
        assert "refused with 503" in caplog.text
        assert len(answered) > 100  # the queue held a megabyte of records first

        # The target is back: its backlog drains and requests are served again.
        collector.up()
        wait_until(lambda: anonymous_get(http, gateway, -1).status_code == 403, 60,
                   what="requests served again")  # fmt: skip
        wait_until(lambda: set(answered) <= set(collector.by_request()), 60,
                   what="every answered request's record delivered")  # fmt: skip
        refused_ids = {r["request_id"] for r in collector.snapshot() if r["status"] == 503}
        assert not refused_ids, "a refused request was recorded (and grew the full queue)"


def test_drop_oldest_serves_and_gives_up_the_oldest_records(
    seaweedfs, tmp_path, collector: Collector, caplog
) -> None:
    caplog.set_level(logging.WARNING, logger="iamgw.audit")
    count = 1200  # ~2.9 MB of records for a 1 MB queue
    with gateway_with(seaweedfs, tmp_path, collector, "drop-oldest") as gateway:
        sent = []
        with httpx.Client() as http:
            for i in range(count):
                answer = anonymous_get(http, gateway, i)
                assert answer.status_code == 403, answer.text  # served, however full
                sent.append(answer.headers["x-amz-request-id"])
        assert "AUDIT RECORDS DROPPED" in caplog.text
        auditor = gateway.server.config.app.state.gateway.auditor
        dropped = auditor.dropped
        assert 0 < dropped < count

        collector.up()
        last = sent[-1]
        wait_until(lambda: last in collector.by_request(), 60, what="the newest record")
        # The oldest records are the ones gone, exactly as many as were counted dropped.
        got = [r["request_id"] for r in collector.first_arrivals()]
        assert got == sent[dropped:]
