"""`iamgw serve --workers 2`: /metrics counts every worker's requests, whichever answers."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from prometheus_client.multiprocess import MultiProcessCollector

from iamgw.ops import metrics as ops_metrics
from tests.ops.metrics_helpers import scrape, value
from tests.test_serve import free_port, start, wait_ready
from tests.waiting import wait_until

BATCH = 100
MOST = 2000  # requests sent at most, until both workers have answered some
MOST_SCRAPES = 200  # scrapes at most, until both workers have answered some
HEALTHZ = {"api": "ops", "operation": "healthz", "status": "200"}
SCRAPE = {"api": "ops", "operation": "metrics", "status": "200"}


def per_worker(directory: Path, labels: dict[str, str]) -> list[float]:
    """Each worker's own count of requests with these labels, from its file."""
    counts = []
    for path in sorted(directory.glob("counter_*.db")):
        for family in MultiProcessCollector.merge([str(path)], accumulate=True):
            for sample in family.samples:
                if sample.name == "iamgw_requests_total" and sample.labels == labels:
                    counts.append(sample.value)
    return counts


def both(counts: list[float]) -> bool:
    return len(counts) == 2 and all(counts)


def test_two_workers_are_counted_together(tmp_path: Path, seaweedfs) -> None:
    directory = tmp_path / "iamgw-data" / ops_metrics.METRICS_DIR
    directory.mkdir(parents=True)
    stale = directory / "counter_1.db"
    stale.write_bytes(b"a file of an earlier run, not even a valid one")
    env = {
        "IAMGW_UPSTREAM_ENDPOINT": seaweedfs.endpoint,
        "IAMGW_UPSTREAM_ACCESS_KEY": seaweedfs.access_key,
        "IAMGW_UPSTREAM_SECRET_KEY": seaweedfs.secret_key,
    }
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    proc = start(tmp_path, port, "--workers", "2", env=env)
    try:
        wait_ready(url, proc, timeout=240)  # two new interpreters: slow on a busy machine
        assert not stale.exists()  # emptied before the workers started
        # Each worker's app writes its build_info when it starts: then both take requests.
        wait_until(
            lambda: len(list(directory.glob("gauge_max_*.db"))) == 2,
            240,
            what="the second worker starts",
        )

        def healthz(_: int) -> int:
            # A connection each: the kernel hands them to either worker.
            return httpx.get(url + "/healthz", timeout=10).status_code

        sent = 0
        while sent < MOST:
            with ThreadPoolExecutor(8) as pool:
                assert set(pool.map(healthz, range(BATCH))) == {200}
            sent += BATCH
            counts = per_worker(directory, HEALTHZ)
            if both(counts):
                break
        assert both(counts), counts  # each worker answered some
        assert sum(counts) == sent

        for _ in range(MOST_SCRAPES):
            samples = scrape(url)
            assert value(samples, "iamgw_requests_total", **HEALTHZ) == sent
            seconds = "iamgw_request_seconds_count"
            assert value(samples, seconds, api="ops", operation="healthz") == sent
            version = ops_metrics.version()
            assert value(samples, "iamgw_build_info", version=version) == 1
            assert value(samples, "iamgw_upstream_up", node=seaweedfs.endpoint) == 1
            if both(per_worker(directory, SCRAPE)):
                break
        assert both(per_worker(directory, SCRAPE))  # each worker answered some scrapes
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=40)
    assert proc.returncode == 0, err
