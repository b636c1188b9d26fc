"""Audit: one JSON line per request with who, what and the decision; never a secret."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import botocore.exceptions
import httpx
import pytest

from tests.audit_log import audit_lines
from tests.gateway_server import GatewayServer, running_gateway
from tests.waiting import wait_until


class _Collector(BaseHTTPRequestHandler):
    received: list[bytes] = []

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        if "_bulk" in self.path:  # the targets are fed apart: the failing one's go unseen
            _Collector.received.append(body)
        self.send_response(200 if "fail" not in self.path else 500)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def collector() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def audited(seaweedfs, collector, tmp_path_factory) -> Iterator[GatewayServer]:
    data = tmp_path_factory.mktemp("audited")
    targets = json.dumps(
        [f"file:{data / 'audit.log'}", f"{collector}/logs/_bulk", f"{collector}/fail"]
    )
    with running_gateway(data, seaweedfs, {"IAMGW_AUDIT_TARGETS": targets}) as server:
        yield server


def events(path: Path, count: int) -> list[dict]:
    def written() -> list[str] | None:
        lines = audit_lines(path)
        return lines if len(lines) >= count else None

    return [json.loads(line) for line in wait_until(written, what=f"{count} audit events")]


def test_allowed_and_denied_requests_are_audited(audited: GatewayServer, collector) -> None:
    s3 = audited.client()
    s3.create_bucket(Bucket="audited")
    s3.put_object(Bucket="audited", Key="k", Body=b"v")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": "audited", "Key": "k"})
    assert httpx.get(url).status_code == 200
    with pytest.raises(botocore.exceptions.ClientError):
        audited.client(key="AKIANOSUCHKEY0000000", secret="x").get_object(Bucket="audited", Key="k")
    assert httpx.get(f"{audited.url}/audited/k").status_code == 403  # anonymous
    log = events(audited.settings.data_dir / "audit.log", 5)
    put = next(e for e in log if e.get("operation") == "PutObject")
    assert put["principal"] == "arn:aws:iam::000000000000:root"
    assert put["action"] == "s3:PutObject" and put["resource"] == "arn:aws:s3:::audited/k"
    assert put["status"] == 200 and put["request_id"] and put["decision"].startswith("Allowed")
    anonymous = log[-1]
    assert anonymous["principal"] == "anonymous" and anonymous["status"] == 403
    assert anonymous["decision"] == "ImplicitlyDenied" and anonymous["action"] == "s3:GetObject"
    text = "\n".join(json.dumps(e) for e in log)
    for secret in (audited.root_secret, "X-Amz-Signature", url.split("Signature=")[1]):
        assert secret not in text
    # The collector got the same events in Elasticsearch's _bulk format, each record's id
    # as the document's _id (a record delivered twice is stored once).
    wait_until(lambda: _Collector.received, what="the collector got a batch")
    bulk = b"".join(_Collector.received).decode().splitlines()
    first = json.loads(bulk[1])
    assert json.loads(bulk[0]) == {"index": {"_id": first["id"]}} and first["api"] == "s3"


def test_a_failing_collector_never_stalls_requests(audited: GatewayServer, collector) -> None:
    s3 = audited.client()
    s3.create_bucket(Bucket="audited-2")
    for i in range(20):  # every request succeeds while one collector keeps failing
        s3.put_object(Bucket="audited-2", Key=f"k{i}", Body=b"v")
    auditor = audited.server.config.app.state.gateway.auditor
    # The failing target's records wait on disk for it (issue 13): none is dropped.
    waiting = wait_until(lambda: auditor.waiting().get(f"{collector}/fail"), what="a backlog")
    assert waiting > 0 and auditor.dropped == 0
