"""A gateway for the fuzz suite, and what it watches: the node's contents, the store's
generation, the gateway's memory and every line it logs or audits.

Budget: `IAMGW_FUZZ_EXAMPLES` examples per test (default 60, derandomized so that CI
runs are repeatable); set it higher, and `IAMGW_FUZZ_SEED` for a random run, to fuzz
longer: `IAMGW_FUZZ_EXAMPLES=5000 .venv/bin/python -m pytest tests/fuzz`.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import boto3
import pytest
from hypothesis import HealthCheck, settings

from tests.audit_log import audit_lines
from tests.gateway_server import GatewayServer, running_gateway

EXAMPLES = int(os.environ.get("IAMGW_FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    derandomize="IAMGW_FUZZ_SEED" not in os.environ,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
BUCKET = "fuzz"
READ_ONLY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Effect": "Allow",
            "Action": ["s3:GetObject", "s3:ListBucket", "sts:GetCallerIdentity"],
            "Resource": "*",
        }
    ],
}


class _Lines(logging.Handler):
    """Every log line the gateway writes while the fuzz suite runs."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = record.getMessage()
        except Exception:  # noqa: BLE001 - a bad format is still a line to check
            text = str(record.msg)
        if record.exc_info:
            text += "\n" + logging.Formatter().formatException(record.exc_info)
        self.lines.append(text)


@dataclass
class FuzzTarget:
    gateway: GatewayServer
    node: object  # boto3 S3 client straight to the storage node
    reader_key: str
    reader_secret: str = field(repr=False)
    secrets: list[str] = field(default_factory=list, repr=False)
    logs: _Lines = field(default_factory=_Lines)
    signatures: set[str] = field(default_factory=set, repr=False)
    statuses: dict[str, Counter] = field(default_factory=dict)  # test -> status -> count

    def node_state(self) -> dict[str, list[tuple[str, str, int]]]:
        """Every bucket on the node and its objects (key, ETag, size)."""
        state = {}
        for b in self.node.list_buckets()["Buckets"]:
            pages = self.node.get_paginator("list_objects_v2").paginate(Bucket=b["Name"])
            state[b["Name"]] = sorted(
                (o["Key"], o["ETag"], o["Size"]) for p in pages for o in p.get("Contents", [])
            )
        return state

    def generation(self) -> int:
        return self.gateway.repo.generation()

    def audit_text(self) -> str:
        lines = audit_lines(self.gateway.settings.data_dir / "audit.log")
        return "".join(f"{line}\n" for line in lines)


@pytest.fixture(scope="session")
def target(seaweedfs, tmp_path_factory) -> Iterator[FuzzTarget]:
    with running_gateway(tmp_path_factory.mktemp("fuzz"), seaweedfs) as gateway:
        fuzz = _prepare(gateway, seaweedfs)
        logging.getLogger().addHandler(fuzz.logs)
        try:
            yield fuzz
        finally:
            logging.getLogger().removeHandler(fuzz.logs)


def _prepare(gateway: GatewayServer, seaweedfs: Any) -> FuzzTarget:
    """A read-only user, a bucket with objects, and the secrets no log may show."""
    repo = gateway.repo
    repo.create_user("fuzz-reader")
    repo.put_inline_policy("user", "fuzz-reader", "read", json.dumps(READ_ONLY))
    key, secret = repo.create_access_key("fuzz-reader")
    node = boto3.client(
        "s3",
        endpoint_url=seaweedfs.endpoint,
        region_name="us-east-1",
        aws_access_key_id=seaweedfs.access_key,
        aws_secret_access_key=seaweedfs.secret_key,
    )
    gateway.client().create_bucket(Bucket=BUCKET)
    for name in ("a.txt", "prot/a.txt", "dir/", "dir/b c.txt", "ü.txt"):
        gateway.client().put_object(Bucket=BUCKET, Key=name, Body=name.encode() * 3)
    token = gateway.client("sts", key.access_key_id, secret).get_session_token()
    return FuzzTarget(
        gateway,
        node,
        key.access_key_id,
        secret,
        secrets=[
            gateway.root_secret,
            secret,
            seaweedfs.secret_key,
            token["Credentials"]["SecretAccessKey"],
            token["Credentials"]["SessionToken"],
        ],
    )
