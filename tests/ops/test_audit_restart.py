"""Issue 13: a gateway killed (SIGKILL) while its collector is down, then started again,
delivers the record of every request it had answered. The gateway is a real `iamgw
serve` process; with two workers, the second worker's queue is left without an owner
when the gateway comes back with one, and is delivered all the same."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore.exceptions
import httpx
import pytest
from botocore.config import Config

from tests.gateway_server import ROOT_KEY, ROOT_SECRET, free_port
from tests.ops.audit_collector import Collector
from tests.waiting import wait_until

ANSWERED_BEFORE_THE_KILL = 300


@pytest.fixture
def collector() -> Iterator[Collector]:
    collector = Collector()  # down: everything waits in the gateway's queue
    yield collector
    collector.close()


def serve(data: Path, port: int, node, targets: list[str], workers: int) -> subprocess.Popen:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IAMGW_")}
    env.update(
        {
            "IAMGW_SERVER_ADDRESS": f"127.0.0.1:{port}",
            "IAMGW_SERVER_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "IAMGW_SERVER_DATA_DIR": str(data),
            "IAMGW_ROOT_ACCESS_KEY": ROOT_KEY,
            "IAMGW_ROOT_SECRET_KEY": ROOT_SECRET,
            "IAMGW_UPSTREAM_ENDPOINT": node.endpoint,
            "IAMGW_UPSTREAM_ACCESS_KEY": node.access_key,
            "IAMGW_UPSTREAM_SECRET_KEY": node.secret_key,
            "IAMGW_AUDIT_TARGETS": json.dumps(targets),
        }
    )
    log = (data.parent / f"serve-{port}-{workers}.log").open("a")
    proc = subprocess.Popen(
        [sys.executable, "-m", "iamgw.cli", "serve", "--workers", str(workers)],
        env=env,
        stdout=log,
        stderr=log,
        start_new_session=True,  # its own process group: the kill takes every worker
    )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert proc.poll() is None, f"iamgw serve exited: {(data.parent / log.name).read_text()}"
        try:
            return httpx.get(url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, 60, interval=0.1, what="iamgw serve is ready")
    return proc


def client(url: str, service: str):
    made = boto3.client(
        service,
        endpoint_url=url,
        aws_access_key_id=ROOT_KEY,
        aws_secret_access_key=ROOT_SECRET,
        region_name="us-east-1",
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}),
    )

    def close_after(request, **_) -> None:
        # A connection per request: the workers take turns at accepting them.
        request.headers["Connection"] = "close"

    made.meta.events.register("before-send.*.*", close_after)
    return made


@pytest.mark.parametrize("workers", [1, 2])
def test_records_of_answered_requests_arrive_after_a_sigkill(
    seaweedfs, collector: Collector, tmp_path: Path, workers: int
) -> None:
    data = tmp_path / "gateway"
    data.mkdir()
    port = free_port()
    targets = [f"{collector.url}/records", f"file:{data / 'audit.log'}"]
    gateway = serve(data, port, seaweedfs, targets, workers)
    url = f"http://127.0.0.1:{port}"
    queues = data / "audit-queue"
    for slot in [f"w{i}" for i in range(workers)]:  # every worker has started
        wait_until(lambda: (queues / slot).is_dir(), 60, what=f"queue {slot}")  # noqa: B023
    bucket = f"restart-{workers}"
    client(url, "s3").create_bucket(Bucket=bucket)

    answered: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def load(n: int) -> None:
        s3, iam, sts = client(url, "s3"), client(url, "iam"), client(url, "sts")
        calls = [
            lambda i: s3.put_object(Bucket=bucket, Key=f"{n}/{i}", Body=b"x" * (i % 100)),
            lambda i: s3.list_objects_v2(Bucket=bucket, Prefix=f"{n}/"),
            lambda i: iam.list_users(),
            lambda i: sts.get_caller_identity(),
        ]
        i = 0
        while not stop.is_set():
            try:
                answer = calls[i % len(calls)](i)
            except (botocore.exceptions.BotoCoreError, botocore.exceptions.ClientError):
                return  # the gateway is gone
            with lock:
                answered.append(answer["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"])
            i += 1

    threads = [threading.Thread(target=load, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    wait_until(lambda: len(answered) >= ANSWERED_BEFORE_THE_KILL, 120, what="requests answered")
    os.killpg(gateway.pid, signal.SIGKILL)  # while requests are in flight
    gateway.wait(30)
    stop.set()
    for thread in threads:
        thread.join(30)
    with lock:
        done = set(answered)
    assert len(done) >= ANSWERED_BEFORE_THE_KILL
    assert not collector.snapshot(), "the collector was down: nothing could arrive"
    for slot in [f"w{i}" for i in range(workers)]:  # each worker had a queue of its own
        assert sum(f.stat().st_size for f in (queues / slot).glob("*.log")) > 0, slot

    # Back with one worker and the collector up: every answered request's record arrives.
    collector.up()
    again = serve(data, port, seaweedfs, targets, 1)
    try:

        def delivered() -> bool:
            return done <= set(collector.by_request())

        wait_until(delivered, 120, interval=0.2, what="every answered request's record")

        def in_file() -> bool:
            text = (data / "audit.log").read_text()
            return done <= {json.loads(line)["request_id"] for line in text.splitlines()}

        wait_until(in_file, 60, what="every answered request's record in the file target")
        if workers == 2:
            # The second worker's queue had no owner after the restart: it was delivered
            # by the new worker, then deleted.
            wait_until(lambda: not (queues / "w1").exists(), 60, what="w1 delivered, deleted")
    finally:
        os.killpg(again.pid, signal.SIGTERM)
        again.wait(60)
