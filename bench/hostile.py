"""What hostile traffic costs the callers who behave: the same 1 KiB GET load, quiet and
while a second process floods the gateway with the requests the security issue found.

    .venv/bin/python bench/hostile.py [--seconds 6] [--attackers 4]

Starts a SeaweedFS node and an `iamgw serve` process (one worker) in front of it.
The legitimate load is wrk (or a Python client without wrk), 8 connections, 1 KiB GETs
signed by root; the reference is the same load straight to the node. The hostile load
runs in other processes, each in a loop: a 1 MiB request head, a 16 MiB chunked Query
body, a GET signed with an unknown access key, and an IAM call whose body was swapped
after signing. Prints req/s (median of 3 runs) quiet and under attack, the attacks
refused per second, and the gateway's RSS before and after. Not a test.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import secrets
import signal
import socket
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench import wrk  # noqa: E402
from bench.proxy import (  # noqa: E402
    ROOT_KEY,
    ROOT_SECRET,
    Target,
    free_port,
    gateway_env,
    memory_mib,
    ops_per_second,
    serve,
)
from iamgw.s3.embedded import start_seaweedfs  # noqa: E402
from iamgw.sigv4 import Credentials, sign_request  # noqa: E402


def _exchange(host: str, port: int, data: bytes, chunks: int = 0, chunk: bytes = b"") -> None:
    with socket.create_connection((host, port), timeout=10) as sock:
        try:
            sock.sendall(data)
            for _ in range(chunks):
                sock.sendall(chunk)
            while sock.recv(65536):
                pass
        except OSError:
            pass  # refused and closed early: what the gateway should do


def _attacks(url: str) -> list[bytes]:
    """One round of hostile requests, as raw bytes: a head and a chunked form that the
    caller streams more after, a GET signed with an unknown key, and an IAM call signed
    with UNSIGNED-PAYLOAD whose body asks for another action."""
    host = urlsplit(url).netloc
    head = f"GET /bench/small-0-0 HTTP/1.1\r\nHost: {host}\r\nx-amz-meta-k: ".encode()
    chunked = (
        f"POST / HTTP/1.1\r\nHost: {host}\r\nTransfer-Encoding: chunked\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n\r\n"
    ).encode()
    unknown = sign_request(
        "GET", url + "/bench/small-0-0", {}, "UNSIGNED-PAYLOAD",
        Credentials("AKIA" + secrets.token_hex(8).upper(), "x"), region="us-east-1",
        now=datetime.now(UTC),
    )  # fmt: skip
    forged = "".join(f"{k}: {v}\r\n" for k, v in unknown.items())
    iam = sign_request(
        "POST", url + "/", {"content-type": "application/x-www-form-urlencoded"},
        "UNSIGNED-PAYLOAD", Credentials(ROOT_KEY, ROOT_SECRET), region="us-east-1",
        service="iam", now=datetime.now(UTC),
    )  # fmt: skip
    swapped = b"Action=CreateUser&Version=2010-05-08&UserName=x"
    iam_head = "".join(f"{k}: {v}\r\n" for k, v in iam.items())
    return [
        head,
        chunked,
        (
            f"GET /bench/small-0-0 HTTP/1.1\r\nHost: {host}\r\n{forged}Connection: close\r\n\r\n"
        ).encode(),
        (
            f"POST / HTTP/1.1\r\nHost: {host}\r\n{iam_head}"
            "Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(swapped)}\r\nConnection: close\r\n\r\n"
        ).encode()
        + swapped,
    ]


def attacker(url: str, stop: multiprocessing.Event, count: multiprocessing.Value) -> None:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    filler = b"a" * (64 << 10)
    chunk = b"100000\r\n" + b"a" * (1 << 20) + b"\r\n"
    while not stop.is_set():
        head, chunked, forged, swapped = _attacks(url)
        _exchange(host, port, head, 16, filler)  # a 1 MiB head
        _exchange(host, port, chunked, 16, chunk)  # a 16 MiB chunked form
        _exchange(host, port, forged)
        _exchange(host, port, swapped)
        with count.get_lock():
            count.value += 4


async def legit_rate(target: Target, seconds: float) -> float:
    url, headers = target.signed("GET", "/bench/small-0-0")
    if wrk.available():
        return wrk.rate(url, "GET", headers, b"", 8, seconds)
    return await ops_per_second(target, "GET", 8, seconds)


async def run(args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="iamgw-bench-hostile-"))
    node = start_seaweedfs(workdir / "node")
    proc, url = serve(gateway_env(node, workdir / "gateway", free_port()))
    direct = Target("direct", node.endpoint, node.access_key, node.secret_key)
    gateway = Target("iamgw", url, ROOT_KEY, ROOT_SECRET)
    try:
        await direct.request("PUT", "/bench")
        await direct.request("PUT", "/bench/small-0-0", b"x" * 1024)
        await legit_rate(gateway, 1)  # warm up
        seconds = args.seconds / 3
        direct_quiet = statistics.median([await legit_rate(direct, seconds) for _ in range(3)])
        quiet = statistics.median([await legit_rate(gateway, seconds) for _ in range(3)])
        print("  measured the quiet runs", file=sys.stderr)
        rss_before = memory_mib(proc.pid, "VmRSS")
        stop, count = multiprocessing.Event(), multiprocessing.Value("l", 0)
        workers = [
            multiprocessing.Process(target=attacker, args=(url, stop, count))
            for _ in range(args.attackers)
        ]
        for w in workers:
            w.start()
        time.sleep(1)
        started, first = time.perf_counter(), count.value
        attacked = statistics.median([await legit_rate(gateway, seconds) for _ in range(3)])
        refused = (count.value - first) / (time.perf_counter() - started)
        stop.set()
        for w in workers:
            w.join(30)
        if any(w.exitcode for w in workers):
            raise SystemExit("an attacker process failed: the figures would mean nothing")
        rss_after = memory_mib(proc.pid, "VmRSS")
        status = await gateway.client.get(url + "/readyz")
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        node.stop()
    print(f"\n{'1 KiB GET, 8 connections':<40}{'req/s':>10}{'vs direct':>12}{'vs quiet':>10}")
    print("-" * 72)
    print(f"{'direct to the node':<40}{direct_quiet:>10,.0f}{'100%':>12}{'':>10}")
    print(f"{'iamgw, quiet':<40}{quiet:>10,.0f}{quiet / direct_quiet:>12.0%}{'100%':>10}")
    print(
        f"{'iamgw, under hostile traffic':<40}{attacked:>10,.0f}"
        f"{attacked / direct_quiet:>12.0%}{attacked / quiet:>10.0%}"
    )
    print(f"\nhostile requests refused: {refused:,.0f}/s from {args.attackers} processes")
    print(f"iamgw RSS: {rss_before:.1f} MiB before the attack, {rss_after:.1f} MiB after")
    print(f"iamgw /readyz after the attack: {status.status_code}")
    client = "wrk" if wrk.available() else "a Python client"
    print(f"1 uvicorn worker; {client}; load, attackers, gateway and node share the cores.")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="per measurement (3 runs)")
    parser.add_argument("--attackers", type=int, default=2, help="hostile processes")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
