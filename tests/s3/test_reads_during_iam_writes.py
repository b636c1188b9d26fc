"""A decision is made on one snapshot of the store, through the gateway: IAM writes
elsewhere never turn an allowed read into AccessDenied (on SQLite and PostgreSQL). The
same on a store of its own, race made to happen: tests/identity/test_access.py."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from botocore.exceptions import ClientError

from tests.gateway_server import GatewayServer, running_gateway
from tests.iam_helpers import make_user
from tests.postgres import pg_schema_url
from tests.s3.conftest import READONLY


def reads_during_writes(gateway: GatewayServer, prefix: str, readers: int = 3) -> list[str]:
    """`readers` clients read an object they may read while root tags an unrelated user
    in a loop; returns the error codes the readers got."""
    root = gateway.client()
    bucket = f"{prefix}-snapshot"
    root.create_bucket(Bucket=bucket)
    root.put_object(Bucket=bucket, Key="k", Body=b"v")
    keys = make_user(gateway, f"{prefix}-reader", managed=[READONLY])
    gateway.repo.create_user(f"{prefix}-bystander")
    stop = threading.Event()
    writes = 0

    def write() -> None:
        nonlocal writes
        iam = gateway.client("iam")
        while not stop.is_set():
            iam.tag_user(UserName=f"{prefix}-bystander", Tags=[{"Key": "n", "Value": str(writes)}])
            writes += 1

    def read(_: int) -> list[str]:
        s3 = gateway.client(key=keys.key, secret=keys.secret)
        errors = []
        for _ in range(120):
            try:
                assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"
            except ClientError as exc:
                errors.append(exc.response["Error"]["Code"])
        return errors

    writer = threading.Thread(target=write)
    writer.start()
    try:
        with ThreadPoolExecutor(readers) as pool:
            errors = [code for found in pool.map(read, range(readers)) for code in found]
    finally:
        stop.set()
        writer.join(30)
    assert writes > 20  # the writes really happened during the reads
    return errors


def test_allowed_reads_are_not_denied_during_iam_writes(gateway) -> None:
    assert reads_during_writes(gateway, "lite") == []


@pytest.fixture(scope="module")
def pg_gateway(seaweedfs, pg_database, tmp_path_factory) -> Iterator[GatewayServer]:
    env = {"IAMGW_STORE_URL": pg_schema_url(pg_database)}
    with running_gateway(tmp_path_factory.mktemp("pg-snapshot"), seaweedfs, env) as server:
        yield server


def test_allowed_reads_are_not_denied_during_iam_writes_on_postgresql(pg_gateway) -> None:
    assert reads_during_writes(pg_gateway, "pg") == []
