"""A storage node that accepts requests and never answers (SIGSTOP): idempotent requests
go to another node after `first_byte_timeout_seconds`, a request with nowhere else to
go gets 503 in bounded time, and /readyz answers from the health state at once."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from collections.abc import Iterator

import botocore.exceptions
import httpx
import pytest

from iamgw.s3 import proxy
from iamgw.s3.embedded import SeaweedNode
from tests.gateway_server import GatewayServer, start_gateway
from tests.s3.multinode import start_s3_frontend
from tests.s3.test_attacks import signed

FIRST_BYTE = 2  # seconds: the gateways here give a silent node this long
# "Did not hang": far below the 27 s the finding saw and boto3's 60 s read timeout,
# far above FIRST_BYTE plus a retry on a loaded machine.
BOUND = 15.0


@pytest.fixture
def frontend(seaweedfs, tmp_path_factory) -> Iterator[SeaweedNode]:
    """A second S3 front end on the peer's filer: the node the tests stop."""
    node = start_s3_frontend(seaweedfs, tmp_path_factory.mktemp("hung-node"))
    try:
        yield node
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(node.pid, signal.SIGCONT)  # never leave a stopped process behind
        node.stop()


@contextlib.contextmanager
def stopped(node: SeaweedNode) -> Iterator[None]:
    os.kill(node.pid, signal.SIGSTOP)
    try:
        yield
    finally:
        os.kill(node.pid, signal.SIGCONT)


def gateway_for(tmp_path_factory, *nodes: SeaweedNode) -> GatewayServer:
    env = {
        f"IAMGW_UPSTREAM_{i}_FIRST_BYTE_TIMEOUT_SECONDS": str(FIRST_BYTE) for i in range(len(nodes))
    }
    upstreams = [(n.endpoint, n.access_key, n.secret_key) for n in nodes]
    return start_gateway(tmp_path_factory.mktemp("gw-hung"), upstreams, env)


def pool_nodes(gateway: GatewayServer) -> list:
    return gateway.server.config.app.state.gateway.upstreams.nodes


def timed(call, *args, **kwargs) -> tuple[object, float]:
    started = time.monotonic()
    result = call(*args, **kwargs)
    return result, time.monotonic() - started


def test_reads_and_writes_go_to_the_other_node(seaweedfs, frontend, tmp_path_factory) -> None:
    gateway = gateway_for(tmp_path_factory, seaweedfs, frontend)
    try:
        s3 = gateway.client(read_timeout=60)
        s3.create_bucket(Bucket="hung")
        s3.put_object(Bucket="hung", Key="k", Body=b"value")
        healthy, hung = pool_nodes(gateway)
        with stopped(frontend):
            # /readyz reports the state as the pool has it (the node was up a moment
            # ago), without a check of its own that would wait on the stopped node.
            before = [n.up for n in pool_nodes(gateway)]
            ready = httpx.get(gateway.url + "/readyz", timeout=BOUND)
            assert before == [True, True]
            assert [n["up"] for n in ready.json()["upstreams"]] == before
            assert [n.up for n in pool_nodes(gateway)] == before
            # Round robin: within two requests one is sent to the stopped node.
            sent_to_hung = hung.requests
            for _ in range(2):
                head, took = timed(s3.head_object, Bucket="hung", Key="k")
                assert head["ContentLength"] == 5
                assert took < BOUND
            assert hung.requests > sent_to_hung
            assert not hung.up  # taken out: the next requests do not wait for it
            got, took = timed(s3.get_object, Bucket="hung", Key="k")
            assert got["Body"].read() == b"value" and took < BOUND
            # A PUT (idempotent, its verified body spooled) meets the stopped node too.
            hung.up = True
            sent_to_hung = hung.requests
            for i in range(2):
                _, took = timed(s3.put_object, Bucket="hung", Key=f"p{i}", Body=b"v")
                assert took < BOUND
            assert hung.requests > sent_to_hung and not hung.up
            assert healthy.up
            ready = httpx.get(gateway.url + "/readyz", timeout=BOUND)
            assert ready.status_code == 200
        for i in range(2):
            assert s3.get_object(Bucket="hung", Key=f"p{i}")["Body"].read() == b"v"
    finally:
        gateway.stop()


def test_the_only_node_stopped_is_503_in_bounded_time(
    seaweedfs, frontend, tmp_path_factory, monkeypatch
) -> None:
    gateway = gateway_for(tmp_path_factory, frontend)
    # A request that is not retried (POST) waits SLOW_ANSWER_SECONDS: shortened here.
    monkeypatch.setattr(proxy, "SLOW_ANSWER_SECONDS", 3.0)
    try:
        s3 = gateway.client(read_timeout=60)
        s3.create_bucket(Bucket="alone")
        s3.put_object(Bucket="alone", Key="k", Body=b"value")
        with stopped(frontend):
            for call, kwargs in [
                (s3.create_multipart_upload, {"Bucket": "alone", "Key": "m"}),
                (s3.get_object, {"Bucket": "alone", "Key": "k"}),
                (s3.head_object, {"Bucket": "alone", "Key": "k"}),
            ]:
                started = time.monotonic()
                with pytest.raises(botocore.exceptions.ClientError) as info:
                    call(**kwargs)
                assert time.monotonic() - started < BOUND
                assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
            assert not pool_nodes(gateway)[0].up
            ready = httpx.get(gateway.url + "/readyz", timeout=BOUND)
            assert ready.status_code == 503
        # Resumed: the health check brings the node back.
        deadline = time.monotonic() + 30
        while not pool_nodes(gateway)[0].up and time.monotonic() < deadline:
            time.sleep(0.2)
        assert s3.get_object(Bucket="alone", Key="k")["Body"].read() == b"value"
    finally:
        gateway.stop()


def test_a_slow_client_is_not_taken_for_a_hung_node(seaweedfs, tmp_path_factory) -> None:
    """Only the time the node owes an answer counts: a streamed upload whose client pauses
    longer than FIRST_BYTE between chunks goes through, and its node stays in."""
    gateway = gateway_for(tmp_path_factory, seaweedfs)
    try:
        gateway.client().create_bucket(Bucket="slow-client")
        url = f"{gateway.url}/slow-client/k"
        request = signed("PUT", url, payload_hash="UNSIGNED-PAYLOAD")  # streamed through
        chunks = [b"a" * 1000, b"b" * 1000, b"c" * 1000]

        def body() -> Iterator[bytes]:
            for chunk in chunks:
                time.sleep(FIRST_BYTE + 0.5)
                yield chunk

        headers = {**dict(request.headers.items()), "Content-Length": "3000"}
        r = httpx.put(url, headers=headers, content=body(), timeout=BOUND * 2)
        assert r.status_code == 200, r.text
        assert pool_nodes(gateway)[0].up
        got = gateway.client().get_object(Bucket="slow-client", Key="k")["Body"].read()
        assert got == b"".join(chunks)
    finally:
        gateway.stop()
