"""The access log: a line per request on stdout (method, path without its query, status,
duration, principal), as `iamgw serve` prints it, unless `[audit] access_log = false`."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import httpx

from tests.gateway_server import ROOT_KEY, ROOT_SECRET, free_port
from tests.waiting import wait_until

LINE = re.compile(
    r'^(?P<client>\S+) "(?P<method>[A-Z]+) (?P<path>\S+)" (?P<status>\d{3}!?) '
    r"(?P<ms>[\d.]+)ms (?P<principal>\S+) (?P<request_id>[0-9A-F]{16})$"
)


def serve(data: Path, node, **env: str) -> tuple[subprocess.Popen, str, Path]:
    port = free_port()
    full = {k: v for k, v in os.environ.items() if not k.startswith("IAMGW_")}
    full.update(
        {
            "IAMGW_SERVER_ADDRESS": f"127.0.0.1:{port}",
            "IAMGW_SERVER_DATA_DIR": str(data),
            "IAMGW_ROOT_ACCESS_KEY": ROOT_KEY,
            "IAMGW_ROOT_SECRET_KEY": ROOT_SECRET,
            "IAMGW_UPSTREAM_ENDPOINT": node.endpoint,
            "IAMGW_UPSTREAM_ACCESS_KEY": node.access_key,
            "IAMGW_UPSTREAM_SECRET_KEY": node.secret_key,
            "IAMGW_AUDIT_TARGETS": f"file:{data / 'audit.log'}",
            **env,
        }
    )
    stdout = data.parent / f"{data.name}.stdout"
    stderr = data.parent / f"{data.name}.stderr"
    with stdout.open("w") as out, stderr.open("w") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "iamgw.cli", "serve"], env=full, stdout=out, stderr=err
        )
    url = f"http://127.0.0.1:{port}"

    def ready() -> bool:
        assert proc.poll() is None, f"iamgw serve exited: {stderr.read_text()}"
        try:
            return httpx.get(url + "/readyz", timeout=2).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(ready, 60, interval=0.1, what="iamgw serve is ready")
    return proc, url, stdout


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(60)


def test_a_line_per_request_on_stdout(seaweedfs, tmp_path: Path) -> None:
    proc, url, stdout = serve(tmp_path / "on", seaweedfs)
    try:
        answer = httpx.get(f"{url}/some-bucket/a%20key?X-Amz-Signature=abc&versionId=1")
        rid = answer.headers["x-amz-request-id"]
        health = httpx.get(f"{url}/healthz").headers["x-amz-request-id"]

        def lines() -> dict[str, re.Match[str]] | None:
            found = {}
            for text in stdout.read_text().splitlines():
                match = LINE.match(text)
                if match:
                    found[match["request_id"]] = match
            return found if {rid, health} <= set(found) else None

        found = wait_until(lines, 30, what="the access lines")
    finally:
        stop(proc)
    line = found[rid]
    assert line["client"] == "127.0.0.1" and line["method"] == "GET"
    assert line["path"] == "/some-bucket/a%20key"  # as sent, without its query
    assert line["status"] == str(answer.status_code) and line["principal"] == "anonymous"
    assert found[health]["path"] == "/healthz" and found[health]["status"] == "200"
    assert "X-Amz-Signature" not in stdout.read_text()


def test_access_log_false_prints_no_line(seaweedfs, tmp_path: Path) -> None:
    proc, url, stdout = serve(tmp_path / "off", seaweedfs, IAMGW_AUDIT_ACCESS_LOG="false")
    try:
        rid = httpx.get(f"{url}/some-bucket/key").headers["x-amz-request-id"]
        audit = tmp_path / "off" / "audit.log"
        wait_until(lambda: audit.exists() and rid in audit.read_text(), 30, what="the record")
    finally:
        stop(proc)
    assert rid not in stdout.read_text()
