"""Replicas sharing a data directory start together: each reads the one master key and
the one set of root credentials, whole (a sibling of the replicas-on-an-empty-store
finding: with O_EXCL then write, a second process could read the files empty)."""

from __future__ import annotations

import multiprocessing
import os
from pathlib import Path

from iamgw import datadir
from iamgw.config import load_settings

PROCESSES = 8
ROUNDS = 20


def _start(data_dir: str, barrier, results) -> None:  # type: ignore[no-untyped-def]
    settings = load_settings(None, environ={"IAMGW_SERVER_DATA_DIR": data_dir})
    barrier.wait()
    try:
        key = datadir.master_key(settings).raw.hex()
        root = datadir.root_credentials(settings)
        results.put((key, root.access_key, root.secret_key, root.created))
    except Exception as exc:  # noqa: BLE001 - reported to the test as the failure
        results.put(("error", repr(exc), "", False))
    results.close()
    results.join_thread()
    os._exit(0)  # a forked child of pytest: none of the parent's exit handlers


def test_replicas_sharing_a_data_directory_start_together(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")  # nothing but file I/O in the children
    for round_ in range(ROUNDS):
        data_dir = tmp_path / f"round-{round_}"
        barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
        procs = [ctx.Process(target=_start, args=(str(data_dir), barrier, results))
                 for _ in range(PROCESSES)]  # fmt: skip
        for proc in procs:
            proc.start()
        seen = [results.get(timeout=60) for _ in procs]
        for proc in procs:
            proc.join(30)
        assert all(s[0] != "error" for s in seen), seen
        assert len({s[:3] for s in seen}) == 1, "replicas read different keys or credentials"
        assert sum(s[3] for s in seen) == 1, "exactly one replica generates the credentials"
        assert not [p for p in data_dir.iterdir() if p.name.startswith(".")], "temporary left"
