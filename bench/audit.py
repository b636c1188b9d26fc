"""What an audit that loses nothing costs: requests/s and latency with the disk queue
(issue 13: each record fsync'd in a group commit before its answer leaves) beside the
audit as it was before (records queued in memory, written to a plain file later, no
fsync), in the same run.

    .venv/bin/python bench/audit.py [--seconds 4] [--rounds 3]

Starts a SeaweedFS node and, for each mode, a gateway process (one worker) in front of
it, with one file target on this machine's disk. The load is wrk (Debian package
`wrk`), one signed request sent again and again: STS GetCallerIdentity (the gateway's
own work only) and a 1 KiB S3 GET (through the node), by 1 and by 16 connections. The
modes take turns, `--rounds` times, each run `--seconds` long; the table shows medians
over the rounds: requests/s, and the median (p50) and p99 latency wrk measured. The
third mode adds the access log line (on stdout, here /dev/null) to the disk queue.
Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.proxy import ROOT_KEY, ROOT_SECRET, free_port, gateway_env  # noqa: E402
from iamgw.s3.embedded import start_seaweedfs  # noqa: E402
from iamgw.sigv4 import Credentials, sign_request  # noqa: E402

MODES = {
    "plain": "plain file, as before (memory queue, no fsync)",
    "queue": "disk queue (group commit, fsync before the answer)",
    "queue+access": "disk queue + access log line",
}
WRK = shutil.which("wrk")


# -- the audit as it was before issue 13, for the comparison -------------------------------


class PlainFileAuditor:
    """The previous `iamgw.ops.Auditor` for one file target: records go to a bounded
    memory queue and a background task appends them to the file (flushed, never
    fsync'd); a full queue drops them. It answers the interface the app now uses."""

    def __init__(self, settings: Any, data_dir: Path, **_: Any) -> None:
        self.access_log = False
        self.path = Path(settings.targets[0].removeprefix("file:"))
        self._queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue(10_000)
        self._task: asyncio.Task[None] | None = None
        self.dropped = 0

    async def start(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._fh = self.path.open("a", encoding="utf-8", buffering=1)
        self._task = asyncio.create_task(self._run())

    def admit(self, request: Any, api: str) -> None:
        return None

    def later(self, request: Any, build: Any) -> None:
        request.scope["iamgw.audit.pending"] = (self, build)

    async def commit(self, record: dict[str, Any]) -> None:
        try:
            self._queue.put_nowait(record)
        except asyncio.QueueFull:
            self.dropped += 1

    async def _run(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < 500 and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            lines = [json.dumps(e, separators=(",", ":"), default=str) for e in batch]
            self._fh.write("\n".join(lines) + "\n")
            self._fh.flush()

    async def aclose(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self._fh.close()


def serve_mode(mode: str) -> None:
    """Run one gateway (this script started again as its server process)."""
    import uvicorn

    import iamgw.app
    from iamgw.config import load_settings
    from iamgw.http_server import BoundedHttpToolsProtocol

    if mode == "plain":
        iamgw.app.Auditor = PlainFileAuditor  # type: ignore[misc,assignment]
    settings = load_settings(None)
    host, port = settings.server.host, settings.server.port
    uvicorn.run(
        iamgw.app.create_app(settings),
        host=host,
        port=port,
        log_level="warning",
        http=BoundedHttpToolsProtocol,
    )


# -- load ------------------------------------------------------------------------------------

_LUA = """
wrk.method = {method}
wrk.body = {body}
wrk.headers = {{}}
{headers}
"""
_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def wrk_run(
    url: str, method: str, headers: dict[str, str], body: bytes, connections: int, seconds: int
) -> tuple[float, float, float]:
    """(requests/s, p50 ms, p99 ms) of one wrk run; any non-2xx answer fails the run."""
    assert WRK is not None, "install wrk: apt-get install wrk"
    headers = {k: v for k, v in headers.items() if k.lower() != "content-length"}
    lines = "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items())
    script = _LUA.format(
        method=json.dumps(method), body=json.dumps(body.decode("latin-1")), headers=lines
    )
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as fh:
        fh.write(script)
    try:
        run = subprocess.run(
            [WRK, "-t1", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", fh.name, url],
            capture_output=True,
            text=True,
        )
    finally:
        Path(fh.name).unlink()
    out = run.stdout
    if run.returncode != 0 or "Non-2xx" in out:
        raise RuntimeError(f"wrk failed against {url}:\n{run.stderr or out}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))  # type: ignore[union-attr]

    def percentile(p: str) -> float:
        match = re.search(rf"^\s+{p}%\s+([\d.]+)(us|ms|s)\s*$", out, re.MULTILINE)
        assert match, out
        return float(match.group(1)) * _UNITS[match.group(2)]

    return rate, percentile("50"), percentile("99")


def signed(url: str, method: str, path: str, body: bytes, service: str) -> tuple[str, dict]:
    """The URL and headers of a request signed by root (a Query call's body as a form)."""
    headers = {"content-type": "application/x-www-form-urlencoded"} if service == "sts" else {}
    headers.update(
        sign_request(
            method,
            url + path,
            headers,
            hashlib.sha256(body).hexdigest(),
            Credentials(ROOT_KEY, ROOT_SECRET),
            region="us-east-1",
            service=service,
            now=datetime.now(UTC),
        )
    )
    return url + path, headers


def start(mode: str, node: Any, workdir: Path) -> tuple[subprocess.Popen, str]:
    data = workdir / mode
    port = free_port()
    env = gateway_env(node, data, port)
    env["IAMGW_AUDIT_ACCESS_LOG"] = "true" if mode == "queue+access" else "false"
    proc = subprocess.Popen(
        [sys.executable, __file__, "--serve", mode],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(300):
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return proc, url
        time.sleep(0.1)
    proc.kill()
    raise SystemExit(f"the {mode} gateway did not become ready")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve", choices=list(MODES), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve_mode(args.serve)
        return
    # On this machine's disk (not a tmpfs, where fsync costs nothing).
    workdir = Path(tempfile.mkdtemp(prefix="iamgw-bench-audit-", dir=Path.cwd()))
    node = start_seaweedfs(workdir / "node")
    gateways: dict[str, tuple[subprocess.Popen, str]] = {}
    results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
    try:
        for mode in MODES:
            gateways[mode] = start(mode, node, workdir)
        first = next(iter(gateways.values()))[1]
        httpx.put(first + "/bench", headers=signed(first, "PUT", "/bench", b"", "s3")[1])
        url, headers = signed(first, "PUT", "/bench/small", b"x" * 1024, "s3")
        assert httpx.put(url, headers=headers, content=b"x" * 1024).status_code == 200
        sts_body = b"Action=GetCallerIdentity&Version=2011-06-15"
        loads = [
            ("STS GetCallerIdentity", "POST", "/", sts_body, "sts"),
            ("S3 GET 1 KiB", "GET", "/bench/small", b"", "s3"),
        ]
        for round_ in range(args.rounds):
            for label, method, path, body, service in loads:
                for connections in (1, 16):
                    for mode, (_, url) in gateways.items():
                        target, headers = signed(url, method, path, body, service)
                        key = (f"{label}, {connections} conn", mode)
                        results.setdefault(key, []).append(
                            wrk_run(target, method, headers, body, connections, args.seconds)
                        )
            print(f"  round {round_ + 1} of {args.rounds} done", file=sys.stderr)
    finally:
        for proc, _ in gateways.values():
            proc.send_signal(signal.SIGTERM)
        for proc, _ in gateways.values():
            with contextlib.suppress(subprocess.TimeoutExpired):
                proc.wait(30)
        node.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    print_table(results, args)


def print_table(results: dict[tuple[str, str], list[tuple[float, float, float]]], args) -> None:
    print(f"\naudit cost, medians of {args.rounds} runs of {args.seconds} s (wrk, 1 worker)\n")
    print("| load | audit | req/s | p50 ms | p99 ms | req/s vs plain |")
    print("|---|---|---:|---:|---:|---:|")
    loads = list(dict.fromkeys(load for load, _ in results))
    for load in loads:
        base = statistics.median(r[0] for r in results[(load, "plain")])
        for mode, description in MODES.items():
            runs = results[(load, mode)]
            rate = statistics.median(r[0] for r in runs)
            p50 = statistics.median(r[1] for r in runs)
            p99 = statistics.median(r[2] for r in runs)
            print(
                f"| {load} | {description} | {rate:,.0f} | {p50:.2f} | {p99:.2f} "
                f"| {rate / base:.2f} |"
            )
    print(f"\nfsync of this disk: {fsync_ms():.2f} ms median (1 KiB appended, fdatasync, x200)")


def fsync_ms() -> float:
    with tempfile.NamedTemporaryFile(dir=Path.cwd()) as fh:
        times = []
        for _ in range(200):
            os.write(fh.fileno(), b"x" * 1024)
            started = time.perf_counter()
            os.fdatasync(fh.fileno())
            times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


if __name__ == "__main__":
    main()
