"""Process plumbing shared by the peers: free ports, readiness polling, stop by pid."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from iamgw.s3.embedded import die_with_parent


class PeerError(RuntimeError):
    """A test peer is missing or did not start; the message says why and what to install."""


def free_port(host: str = "127.0.0.1") -> int:
    """A loopback port free right now (bind to port 0). Callers retry if it is taken later."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path, lines: int = 20) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log)"
    return "\n".join(text.splitlines()[-lines:]) or "(empty log)"


def spawn(
    args: Sequence[str], log_file: Path, *, cwd: Path | None = None
) -> subprocess.Popen[bytes]:
    """Start a peer with its output appended to `log_file`, in its own session (so that
    Ctrl-C reaches pytest's teardown first), and tied to this process's life."""
    with log_file.open("ab") as out:
        return subprocess.Popen(
            list(args),
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            cwd=cwd,
            start_new_session=True,
            preexec_fn=die_with_parent,  # noqa: PLW1509
        )


def stop_pid(process: subprocess.Popen[bytes], timeout: float = 10.0) -> None:
    """SIGTERM the peer by its pid, wait, then SIGKILL if it is still there."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)
        process.wait(5)


def wait_ready(
    name: str,
    process: subprocess.Popen[bytes],
    log_file: Path,
    probe: Callable[[], bool],
    timeout: float,
) -> None:
    """Poll `probe` until True; if the peer exits or times out, stop it and raise with its log."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise PeerError(
                f"{name} failed to start (exit status {process.returncode}); "
                f"last lines of {log_file}:\n{log_tail(log_file)}"
            )
        if probe():
            return
        time.sleep(0.1)
    stop_pid(process)
    raise PeerError(
        f"{name} failed to start: not ready within {timeout:.0f}s; "
        f"last lines of {log_file}:\n{log_tail(log_file)}"
    )
