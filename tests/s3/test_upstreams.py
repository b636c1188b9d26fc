"""Several storage nodes: load spread, failed nodes taken out and back, retries, 503."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import botocore.exceptions
import httpx
import pytest

from tests.gateway_server import GatewayServer, free_port, start_gateway
from tests.s3.multinode import start_s3_frontend


class _Failing(BaseHTTPRequestHandler):
    """A node that passes health checks (403 to an unsigned `GET /`, as SigV4 nodes do)
    and answers every S3 request with 500 InternalError."""

    def _answer(self) -> None:
        status = 403 if self.path == "/" and "Authorization" not in self.headers else 500
        body = b"<Error><Code>InternalError</Code><Message>disk on fire</Message></Error>"
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        self.send_response(status)
        self.send_header("Content-Type", "application/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def failing_node() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Failing)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def second_node(seaweedfs, tmp_path_factory):
    node = start_s3_frontend(seaweedfs, tmp_path_factory.mktemp("second-node"))
    yield node
    node.stop()


def gateway_for(tmp_path_factory, *nodes: tuple[str, str, str]) -> GatewayServer:
    return start_gateway(tmp_path_factory.mktemp("gw"), list(nodes))


def nodes_of(gateway: GatewayServer):
    return gateway.server.config.app.state.gateway.upstreams.nodes


def test_load_is_spread_and_a_failed_node_is_taken_out(seaweedfs, second_node, tmp_path_factory):
    creds = (seaweedfs.access_key, seaweedfs.secret_key)
    gateway = gateway_for(
        tmp_path_factory, (seaweedfs.endpoint, *creds), (second_node.endpoint, *creds)
    )
    try:
        s3 = gateway.client()
        s3.create_bucket(Bucket="spread")
        for i in range(10):
            s3.put_object(Bucket="spread", Key=f"k{i}", Body=b"v")
            assert s3.get_object(Bucket="spread", Key=f"k{i}")["Body"].read() == b"v"
        counts = [n.requests for n in nodes_of(gateway)]
        assert min(counts) >= 5, counts  # round robin over both
        second_node.stop()
        # Reads go on: the dead node is retried elsewhere and taken out.
        for i in range(6):
            assert s3.get_object(Bucket="spread", Key=f"k{i}")["Body"].read() == b"v"
        assert [n.up for n in nodes_of(gateway)] == [True, False]
        assert httpx.get(gateway.url + "/readyz").status_code == 200
    finally:
        gateway.stop()


def test_a_node_that_comes_back_is_used_again(seaweedfs, tmp_path_factory):
    creds = (seaweedfs.access_key, seaweedfs.secret_key)
    port = free_port()
    gateway = gateway_for(
        tmp_path_factory, (seaweedfs.endpoint, *creds), (f"http://127.0.0.1:{port}", *creds)
    )
    try:
        assert [n.up for n in nodes_of(gateway)] == [True, False]
        node = start_s3_frontend(seaweedfs, tmp_path_factory.mktemp("back"))
        try:
            nodes_of(gateway)[1].endpoint = node.endpoint  # the node is back, at its address
            deadline = time.monotonic() + 20  # the background health check runs every 5 s
            while not nodes_of(gateway)[1].up and time.monotonic() < deadline:
                time.sleep(0.2)
            assert [n.up for n in nodes_of(gateway)] == [True, True]
            assert httpx.get(gateway.url + "/readyz").json()["upstreams"][1]["up"] is True
        finally:
            node.stop()
    finally:
        gateway.stop()


def test_retry_past_a_node_answering_500(seaweedfs, failing_node, tmp_path_factory):
    creds = (seaweedfs.access_key, seaweedfs.secret_key)
    gateway = gateway_for(tmp_path_factory, (failing_node, *creds), (seaweedfs.endpoint, *creds))
    try:
        s3 = gateway.client()
        s3.create_bucket(Bucket="retry")
        for i in range(4):  # PUT is idempotent and its verified body is spooled: retried too
            s3.put_object(Bucket="retry", Key=f"k{i}", Body=b"v")
        for i in range(4):
            assert s3.get_object(Bucket="retry", Key=f"k{i}")["Body"].read() == b"v"
    finally:
        gateway.stop()


def test_a_500_with_nowhere_else_to_go_is_passed_on(seaweedfs, failing_node, tmp_path_factory):
    gateway = gateway_for(tmp_path_factory, (failing_node, "k", "s"))
    try:
        with pytest.raises(botocore.exceptions.ClientError) as info:
            gateway.client().get_object(Bucket="any", Key="k")
        assert info.value.response["Error"]["Code"] == "InternalError"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 500
    finally:
        gateway.stop()


def test_no_node_up_is_503(tmp_path_factory):
    gateway = gateway_for(tmp_path_factory, (f"http://127.0.0.1:{free_port()}", "k", "s"))
    try:
        with pytest.raises(botocore.exceptions.ClientError) as info:
            gateway.client().list_buckets()
        assert info.value.response["Error"]["Code"] == "ServiceUnavailable"
        assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 503
        assert httpx.get(gateway.url + "/readyz").status_code == 503
    finally:
        gateway.stop()


def test_a_client_that_goes_away_does_not_take_the_node_out(gateway, root_s3) -> None:
    import socket

    from tests.s3.test_attacks import signed

    root_s3.create_bucket(Bucket="walkaway")
    url = f"{gateway.url}/walkaway/half"
    request = signed("PUT", url, payload_hash="UNSIGNED-PAYLOAD")  # streamed straight through
    host, port = gateway.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port))) as sock:
        head = "".join(f"{k}: {v}\r\n" for k, v in request.headers.items())
        sock.sendall(
            f"PUT /walkaway/half HTTP/1.1\r\nHost: {host}:{port}\r\n{head}"
            "Content-Length: 100000\r\n\r\n".encode()
            + b"x" * 10
        )
        time.sleep(0.5)  # the gateway is forwarding; then the client vanishes
    time.sleep(0.5)
    assert all(n.up for n in nodes_of(gateway))
    assert root_s3.list_objects_v2(Bucket="walkaway").get("KeyCount", 0) == 0
