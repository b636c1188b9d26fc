"""`iamgw serve --workers 2` over HTTPS, as an operator runs it: every worker process
serves the certificate and follows its files."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.gateway_server import free_port
from tests.tls.conftest import Pki
from tests.tls.servers import CertFiles, client_context, gateway_env, serial_of_pem, served_serial
from tests.waiting import wait_until


@pytest.fixture
def served(pki: Pki, seaweedfs, tmp_path: Path) -> Iterator[tuple[int, CertFiles]]:
    issued = pki.server_cert("workers")
    live = CertFiles(tmp_path / "tls.crt", tmp_path / "tls.key")
    live.cert.write_bytes(issued.cert.read_bytes())
    live.key.write_bytes(issued.key.read_bytes())
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("IAMGW_")}
    env.update(gateway_env(tmp_path / "data", port, seaweedfs, "https"))
    env["IAMGW_SERVER_TLS_CERT"], env["IAMGW_SERVER_TLS_KEY"] = live.pair
    with (tmp_path / "out.log").open("w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "iamgw.cli", "serve", "--workers", "2"],
            cwd=tmp_path,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    trust = client_context(pki.server_ca_file)

    def ready() -> bool:
        assert proc.poll() is None, (tmp_path / "out.log").read_text()
        try:
            return httpx.get(f"https://127.0.0.1:{port}/readyz", verify=trust).status_code == 200
        except httpx.HTTPError:
            return False

    try:
        # A bound, not a timing: two workers start slowly on a loaded machine.
        wait_until(ready, 180, interval=0.2, what="iamgw serve --workers 2 is ready over HTTPS")
        yield port, live
    finally:
        proc.terminate()
        proc.wait(40)


def test_two_workers_serve_https_and_follow_the_certificate(pki: Pki, served) -> None:
    port, live = served
    old_serial = serial_of_pem(live.cert.read_bytes())
    for _ in range(10):  # connections land on either worker
        assert served_serial(port, pki.server_ca_file) == old_serial
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=10)

    new = pki.server_cert("workers-rotated")
    live.cert.write_bytes(new.cert.read_bytes())
    live.key.write_bytes(new.key.read_bytes())
    new_serial = serial_of_pem(new.cert.read_bytes())
    streak = [0]

    def every_worker_rotated() -> bool:
        # Twenty new connections in a row on the new certificate: both workers reloaded.
        streak[0] = streak[0] + 1 if served_serial(port, pki.server_ca_file) == new_serial else 0
        return streak[0] >= 20

    wait_until(every_worker_rotated, 60, interval=0.05, what="both workers serve the new one")
