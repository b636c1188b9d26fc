"""Replicas started together on an empty store all start: migrations, the generation row
and the canned policies, each written once, whichever replica gets there first."""

from __future__ import annotations

import itertools
import json
import multiprocessing
import shutil
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from iamgw.iam.canned import canned_policy_dir, load_canned_policies
from iamgw.store import MasterKey, Repository
from tests.postgres import pg_schema_url

ACCOUNT = "123456789012"
REPLICAS = 6
ROUNDS = 4


def start_at(moment: float, url: str, directory: str) -> dict[str, str]:
    """One replica's startup (Repository.open, then the canned policies) at `moment`."""
    time.sleep(max(0.0, moment - time.time()))
    repo = Repository.open(url, MasterKey(b"m" * 32), ACCOUNT)
    try:
        return load_canned_policies(repo, Path(directory))
    finally:
        repo.close()


@pytest.fixture(scope="module")
def replicas() -> Iterator[ProcessPoolExecutor]:
    """Processes, as replicas are: nothing shared but the store."""
    with ProcessPoolExecutor(REPLICAS, mp_context=multiprocessing.get_context("spawn")) as pool:
        list(pool.map(time.sleep, [0.5] * REPLICAS))  # every worker up before the first round
        yield pool


def start_together(pool: ProcessPoolExecutor, url: str, directory: Path) -> list[dict[str, str]]:
    """Every replica starts at the same moment; each one's outcomes (any exception fails)."""
    moment = time.time() + 0.5
    futures = [pool.submit(start_at, moment, url, str(directory)) for _ in range(REPLICAS)]
    return [f.result(timeout=120) for f in futures]


def outcomes_by_policy(results: list[dict[str, str]]) -> dict[str, Counter[str]]:
    merged: dict[str, Counter[str]] = {}
    for result in results:
        for name, outcome in result.items():
            merged.setdefault(name, Counter())[outcome] += 1
    return merged


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url_factory(request: pytest.FixtureRequest, tmp_path) -> Callable[[], str]:
    """Each call: the URL of a new, empty store (a file, or a schema of its own)."""
    if request.param == "sqlite":
        paths = (tmp_path / f"store-{i}" / "iamgw.db" for i in itertools.count())
        return lambda: f"sqlite:///{next(paths)}"
    database = request.getfixturevalue("pg_database")
    return lambda: pg_schema_url(database)


def test_replicas_start_together_on_an_empty_store(replicas, store_url_factory) -> None:
    directory = canned_policy_dir()
    assert directory is not None
    names = sorted(p.stem for p in directory.glob("*.json"))
    for _ in range(ROUNDS):
        url = store_url_factory()
        results = start_together(replicas, url, directory)
        assert outcomes_by_policy(results) == {
            name: Counter({"created": 1, "unchanged": REPLICAS - 1}) for name in names
        }
        repo = Repository.open(url, MasterKey(b"m" * 32), ACCOUNT)
        try:
            canned = sorted(p.name for p in repo.list_policies() if p.source == "canned")
            assert canned == names
            for name in names:
                assert [v.version_id for v in repo.list_policy_versions(arn(name))] == ["v1"]
        finally:
            repo.close()


def test_replicas_start_together_after_a_policy_file_changed(
    replicas, store_url_factory, tmp_path
) -> None:
    directory = tmp_path / "policies"
    directory.mkdir()
    source = canned_policy_dir()
    assert source is not None
    shutil.copy(source / "readonly.json", directory / "readonly.json")
    for round_ in range(ROUNDS):
        url = store_url_factory()
        first = Repository.open(url, MasterKey(b"m" * 32), ACCOUNT)
        load_canned_policies(first, directory)
        document = json.loads((directory / "readonly.json").read_text())
        document["Statement"][0]["Action"].append(f"s3:ListBucket{round_}")
        (directory / "readonly.json").write_text(json.dumps(document))
        results = start_together(replicas, url, directory)
        assert outcomes_by_policy(results) == {
            "readonly": Counter({"updated": 1, "unchanged": REPLICAS - 1})
        }
        versions = first.list_policy_versions(arn("readonly"))
        assert sorted(v.version_id for v in versions) == ["v1", "v2"]
        assert first.get_policy("readonly").default_version == "v2"
        assert f"s3:ListBucket{round_}" in first.policy_document("readonly")
        first.close()


def arn(name: str) -> str:
    return f"arn:aws:iam::{ACCOUNT}:policy/{name}"
