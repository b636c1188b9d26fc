"""The S3 data path: the same client, through iamgw and straight to the SeaweedFS node.

    .venv/bin/python bench/proxy.py [--seconds 5] [--big-mib 256]

Starts a SeaweedFS node and an `iamgw serve` process (one worker) in front of
it, then measures with one async HTTP client that signs its own requests
(SigV4, as boto3 would) so that the client costs the same on both sides:

- 1 KiB GET and PUT operations/s at 1 and 16 concurrent clients;
- MB/s for one 256 MiB PUT (UNSIGNED-PAYLOAD: streamed through; and with a
  signed SHA-256: spooled and verified before it is forwarded) and GET;
- the gateway's peak RSS (VmHWM) after the big transfers.

Prints a table with the iamgw/direct ratios. Not a test: nothing is asserted.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import wrk  # noqa: E402
from iamgw.s3.embedded import start_seaweedfs
from iamgw.sigv4 import Credentials, sign_request

ROOT_KEY, ROOT_SECRET = "BENCHROOTKEY00000001", "bench-root-secret-key"
UNSIGNED = "UNSIGNED-PAYLOAD"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Target:
    def __init__(self, name: str, endpoint: str, key: str, secret: str) -> None:
        self.name, self.endpoint = name, endpoint
        self.credentials = Credentials(key, secret)
        limits = httpx.Limits(max_connections=64, max_keepalive_connections=64)
        self.client = httpx.AsyncClient(limits=limits, timeout=600)

    def signed(
        self,
        method: str,
        path: str,
        payload_hash: str = UNSIGNED,
        extra: dict[str, str] | None = None,
    ) -> tuple[str, dict[str, str]]:
        url = self.endpoint + path
        headers = dict(extra or {})
        headers.update(
            sign_request(
                method,
                url,
                headers,
                payload_hash,
                self.credentials,
                region="us-east-1",
                now=datetime.now(UTC),
            )
        )
        return url, headers

    async def request(
        self,
        method: str,
        path: str,
        content: object = None,
        payload_hash: str = UNSIGNED,
        extra: dict | None = None,
    ) -> httpx.Response:
        url, headers = self.signed(method, path, payload_hash, extra)
        response = await self.client.request(method, url, headers=headers, content=content)
        if response.status_code >= 300:
            raise RuntimeError(
                f"{self.name} {method} {path}: {response.status_code} {response.text[:200]}"
            )
        return response


async def ops_per_second(target: Target, op: str, concurrency: int, seconds: float) -> float:
    body = os.urandom(1024)
    digest = hashlib.sha256(body).hexdigest()
    done = 0
    deadline = time.perf_counter() + seconds

    async def worker(n: int) -> None:
        nonlocal done
        i = 0
        while time.perf_counter() < deadline:
            key = f"/bench/small-{n}-{i % 50}"
            if op == "PUT":
                await target.request("PUT", key, body, digest)
            else:
                await target.request("GET", f"/bench/small-{n % 4}-{i % 50}")
            done += 1
            i += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker(n) for n in range(concurrency)))
    return done / (time.perf_counter() - started)


async def stream_of(size: int, piece: bytes) -> AsyncIterator[bytes]:
    sent = 0
    while sent < size:
        chunk = piece[: min(len(piece), size - sent)]
        sent += len(chunk)
        yield chunk


async def big_put(target: Target, size: int, piece: bytes, signed_hash: str | None) -> float:
    extra = {"content-length": str(size)}
    started = time.perf_counter()
    await target.request(
        "PUT", "/bench/big", stream_of(size, piece), signed_hash or UNSIGNED, extra
    )
    return size / (time.perf_counter() - started) / 1e6


async def big_get(target: Target, size: int) -> float:
    url, headers = target.signed("GET", "/bench/big")
    started = time.perf_counter()
    got = 0
    async with target.client.stream("GET", url, headers=headers) as response:
        async for chunk in response.aiter_raw():
            got += len(chunk)
    assert got == size, (got, size)
    return size / (time.perf_counter() - started) / 1e6


def memory_mib(pid: int, field: str = "VmHWM") -> float:
    """A memory figure of process `pid` from /proc (VmHWM: peak RSS, VmRSS: now), MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def gateway_env(node, data_dir: Path, port: int, **extra: str) -> dict[str, str]:
    """The environment of an `iamgw serve` in front of `node` (shared with bench/sts.py)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("IAMGW_")}
    env.update(
        {
            "IAMGW_SERVER_ADDRESS": f"127.0.0.1:{port}",
            "IAMGW_SERVER_DATA_DIR": str(data_dir),
            "IAMGW_ROOT_ACCESS_KEY": ROOT_KEY,
            "IAMGW_ROOT_SECRET_KEY": ROOT_SECRET,
            "IAMGW_UPSTREAM_ENDPOINT": node.endpoint,
            "IAMGW_UPSTREAM_ACCESS_KEY": node.access_key,
            "IAMGW_UPSTREAM_SECRET_KEY": node.secret_key,
            "IAMGW_LOG_LEVEL": "WARNING",
            "IAMGW_AUDIT_TARGETS": f"file:{data_dir / 'audit.log'}",
            **extra,
        }
    )
    return env


def serve(env: dict[str, str], workers: int = 1) -> tuple[subprocess.Popen, str]:
    """Start `iamgw serve` with `env`; return once /readyz answers."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "iamgw.cli", "serve", "--workers", str(workers)], env=env
    )
    url = f"http://{env['IAMGW_SERVER_ADDRESS']}"
    for _ in range(300):
        try:
            if httpx.get(url + "/readyz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("iamgw did not become ready")


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="iamgw-bench-"))
    node = start_seaweedfs(workdir / "node")
    proc, url = serve(gateway_env(node, workdir / "gateway", free_port()), args.workers)
    direct = Target("direct", node.endpoint, node.access_key, node.secret_key)
    gateway = Target("iamgw", url, ROOT_KEY, ROOT_SECRET)
    rows: list[tuple[str, float, float, str]] = []
    try:
        await direct.request("PUT", "/bench")
        for n in range(16):  # objects for the GETs
            for i in range(50):
                await direct.request("PUT", f"/bench/small-{n % 4}-{i}", b"x" * 1024)
        body = b"x" * 1024  # ASCII: wrk's Lua script carries it as a string
        digest = hashlib.sha256(body).hexdigest()
        for op in ("GET", "PUT"):
            for concurrency in (1, 16):
                measured = {}
                for target in (direct, gateway):
                    if op == "GET":
                        url, headers = target.signed("GET", "/bench/small-0-0")
                    else:
                        extra = {"content-length": str(len(body))}
                        url, headers = target.signed("PUT", "/bench/wrk-put", digest, extra)
                    load = wrk.rate if wrk.available() else None
                    if load is not None:
                        runs = [
                            load(
                                url,
                                op,
                                headers,
                                body if op == "PUT" else b"",
                                concurrency,
                                args.seconds / 3,
                            )
                            for _ in range(3)
                        ]
                    else:
                        await ops_per_second(target, op, concurrency, 1.0)  # warm up
                        runs = [
                            await ops_per_second(target, op, concurrency, args.seconds / 3)
                            for _ in range(3)
                        ]
                    measured[target.name] = statistics.median(runs)
                label = f"1 KiB {op}, {concurrency} client{'s' if concurrency > 1 else ''}"
                rows.append((label, measured["iamgw"], measured["direct"], "ops/s"))
                print(f"  measured {rows[-1][0]}", file=sys.stderr)
        size = args.big_mib << 20
        piece = os.urandom(1 << 20)
        digest = hashlib.sha256()
        for _ in range(size // len(piece)):
            digest.update(piece)
        for label, signed_hash in (
            ("UNSIGNED-PAYLOAD", None),
            ("signed SHA-256", digest.hexdigest()),
        ):
            measured = {
                t.name: await big_put(t, size, piece, signed_hash) for t in (direct, gateway)
            }
            rows.append(
                (f"{args.big_mib} MiB PUT, {label}", measured["iamgw"], measured["direct"], "MB/s")
            )
            print(f"  measured {rows[-1][0]}", file=sys.stderr)
        measured = {t.name: await big_get(t, size) for t in (direct, gateway)}
        rows.append((f"{args.big_mib} MiB GET", measured["iamgw"], measured["direct"], "MB/s"))
        rss = memory_mib(proc.pid)
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        node.stop()
    print(f"\n{'workload':<34}{'iamgw':>12}{'direct':>12}  {'unit':<6}{'ratio':>8}")
    print("-" * 74)
    for name, ours, theirs, unit in rows:
        print(f"{name:<34}{ours:>12,.1f}{theirs:>12,.1f}  {unit:<6}{ours / theirs:>8.0%}")
    print(f"\niamgw peak RSS (VmHWM) after the big transfers: {rss:.1f} MiB")
    client = "wrk (small objects)" if wrk.available() else "a Python client"
    print(f"{args.workers} uvicorn worker(s); {client}; load, gateway and node share the cores.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per measurement (3 runs)")
    parser.add_argument("--big-mib", type=int, default=256)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn workers of iamgw")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
