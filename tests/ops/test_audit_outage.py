"""Issue 13, "Audit: nothing lost": an HTTP collector down for the middle third of 2,000
mixed requests (S3, IAM, STS, some denied) still gets every record, in order, and the
requests made while it was down are answered as usual. The file target beside it
rotates by size (1 MB) without losing a line."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import botocore.exceptions
import httpx
import pytest

from tests.gateway_server import GatewayServer, running_gateway
from tests.iam_helpers import ACCOUNT, allow, make_user, trust
from tests.ops.audit_collector import Collector
from tests.waiting import wait_until

TOTAL = 2000
BUCKET = "outage"
OPEN_ROLE = f"arn:aws:iam::{ACCOUNT}:role/outage-role"


@pytest.fixture(scope="module")
def collector() -> Iterator[Collector]:
    collector = Collector().up()
    yield collector
    collector.close()


@pytest.fixture(scope="module")
def gateway(seaweedfs, collector, tmp_path_factory) -> Iterator[GatewayServer]:
    data = tmp_path_factory.mktemp("audit-outage")
    env = {
        "IAMGW_AUDIT_TARGETS": json.dumps(
            [f"{collector.url}/records", f"file:{data / 'audit.log'}"]
        ),
        "IAMGW_AUDIT_FILE_MAX_MB": "1",
        "IAMGW_AUDIT_FILE_KEEP": "50",
    }
    with running_gateway(data, seaweedfs, env) as server:
        yield server


def request_id(answer: dict[str, Any]) -> str:
    return str(answer["ResponseMetadata"]["HTTPHeaders"]["x-amz-request-id"])


def called(call: Callable[..., dict[str, Any]], **kwargs: Any) -> tuple[str, int, str]:
    """(request id, HTTP status, error code) of one boto3 call, whatever it answered."""
    try:
        answer = call(**kwargs)
    except botocore.exceptions.ClientError as exc:
        meta = exc.response["ResponseMetadata"]
        return (
            str(meta["HTTPHeaders"]["x-amz-request-id"]),
            int(meta["HTTPStatusCode"]),
            str(exc.response["Error"]["Code"]),
        )
    return request_id(answer), int(answer["ResponseMetadata"]["HTTPStatusCode"]), ""


def file_lines(data_dir: Path) -> list[dict[str, Any]]:
    """The file target's records, oldest first, over its rotated files."""
    numbered = [p for p in data_dir.glob("audit.log.*") if p.suffix[1:].isdigit()]
    rotated = sorted(numbered, key=lambda p: int(p.suffix[1:]), reverse=True)
    lines = []
    for path in [*rotated, data_dir / "audit.log"]:
        text = path.read_text()
        assert text == "" or text.endswith("\n"), f"{path.name} ends in a partial line"
        lines += [json.loads(line) for line in text.splitlines()]
    return lines


def test_a_collector_down_for_the_middle_third_loses_nothing(
    gateway: GatewayServer, collector: Collector
) -> None:
    root_s3, root_iam, root_sts = gateway.client(), gateway.client("iam"), gateway.client("sts")
    root_s3.create_bucket(Bucket=BUCKET)
    root_s3.put_object(Bucket=BUCKET, Key="shared", Body=b"shared")
    reader = make_user(
        root_iam,
        "outage-reader",
        inline={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:GetObject",
                    "Resource": f"arn:aws:s3:::{BUCKET}/*",
                },
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": OPEN_ROLE},
            ],
        },
    )
    role = root_iam.create_role(RoleName="outage-role", AssumeRolePolicyDocument=trust(reader.arn))
    root_iam.put_role_policy(RoleName="outage-role", PolicyName="p", PolicyDocument=allow("s3:*"))
    other = f"arn:aws:iam::{ACCOUNT}:role/outage-closed"
    root_iam.create_role(
        RoleName="outage-closed", AssumeRolePolicyDocument=trust(f"arn:aws:iam::{ACCOUNT}:root")
    )
    user_s3 = gateway.client(key=reader.key, secret=reader.secret)
    user_iam = gateway.client("iam", key=reader.key, secret=reader.secret)
    user_sts = gateway.client("sts", key=reader.key, secret=reader.secret)
    anonymous = httpx.Client()

    def anonymous_get() -> tuple[str, int, str]:
        answer = anonymous.get(f"{gateway.url}/{BUCKET}/shared")
        code = answer.text.split("<Code>")[1].split("</Code>")[0] if "<Code>" in answer.text else ""
        return answer.headers["x-amz-request-id"], answer.status_code, code

    # (call, expected status, expected error code, what the record must say)
    mix: list[tuple[Callable[[int], tuple[str, int, str]], int, str, dict[str, Any]]] = [
        (lambda i: called(root_s3.put_object, Bucket=BUCKET, Key=f"k{i % 50}", Body=b"v" * i),
         200, "", {"operation": "PutObject", "decision": "Allowed (root)"}),
        (lambda i: called(user_s3.get_object, Bucket=BUCKET, Key="shared"),
         200, "", {"action": "s3:GetObject", "decision": "Allowed", "principal_kind": "iam-user"}),
        (lambda i: called(user_s3.put_object, Bucket=BUCKET, Key="no", Body=b"x"),
         403, "AccessDenied", {"action": "s3:PutObject", "decision": "ImplicitlyDenied"}),
        (lambda i: called(root_s3.list_objects_v2, Bucket=BUCKET),
         200, "", {"operation": "ListObjectsV2"}),
        (lambda i: called(root_iam.list_users), 200, "", {"action": "iam:ListUsers"}),
        (lambda i: called(user_iam.list_users),
         403, "AccessDenied", {"action": "iam:ListUsers", "decision": "ImplicitlyDenied"}),
        (lambda i: called(root_sts.get_caller_identity),
         200, "", {"action": "sts:GetCallerIdentity", "principal_kind": "root"}),
        (lambda i: called(user_sts.assume_role, RoleArn=role["Role"]["Arn"], RoleSessionName="ss"),
         200, "", {"action": "sts:AssumeRole", "decision": "Allowed"}),
        (lambda i: called(user_sts.assume_role, RoleArn=other, RoleSessionName="ss"),
         403, "AccessDenied", {"action": "sts:AssumeRole", "decision": "ImplicitlyDenied"}),
        (lambda i: anonymous_get(),
         403, "AccessDenied", {"principal": "anonymous", "principal_kind": "anonymous"}),
    ]  # fmt: skip

    sent: list[tuple[str, dict[str, Any]]] = []
    for i in range(TOTAL):
        if i == TOTAL // 3:
            collector.down()
        if i == 2 * TOTAL // 3:
            collector.up()
        call, status, code, expected = mix[i % len(mix)]
        rid, got_status, got_code = call(i)
        # Answered as usual while the collector is down: the same status and code.
        assert (got_status, got_code) == (status, code), f"request {i}"
        sent.append((rid, {"status": status, "error_code": code or None, **expected}))
    anonymous.close()

    index = {rid: i for i, (rid, _) in enumerate(sent)}

    def all_arrived() -> dict[str, set[str]] | None:
        found = collector.by_request()
        return found if all(rid in found for rid in index) else None

    arrived = wait_until(all_arrived, 120, interval=0.2, what="every record at the collector")
    # At least once: one record per request, whatever was sent again.
    assert all(len(arrived[rid]) == 1 for rid in index)
    assert len({next(iter(arrived[rid])) for rid in index}) == TOTAL
    # In order: the records arrived (first time) in the order the requests were answered.
    order = [index[r["request_id"]] for r in collector.first_arrivals() if r["request_id"] in index]
    assert order == list(range(TOTAL))
    # Each record says what happened.
    records = {r["request_id"]: r for r in collector.first_arrivals()}
    for rid, expected in sent:
        record = records[rid]
        assert {k: record.get(k) for k in expected} == expected, record
        for key in ("time", "source_ip", "user_agent", "principal", "principal_kind", "api",
                    "bytes_in", "bytes_out", "duration_ms"):  # fmt: skip
            assert key in record, key
    assert records[sent[0][0]]["upstream"] and records[sent[0][0]]["bytes_in"] == 0
    assert records[sent[10][0]]["bytes_in"] == 10  # PutObject of 10 bytes

    # The file target got the same records, in the same order, over its rotated files.
    def in_file() -> list[dict[str, Any]] | None:
        lines = file_lines(gateway.settings.data_dir)
        return lines if sum(1 for r in lines if r["request_id"] in index) >= TOTAL else None

    lines = wait_until(in_file, 60, what="every record in the file target")
    assert (gateway.settings.data_dir / "audit.log.1").exists(), "the file was never rotated"
    mine = [index[r["request_id"]] for r in lines if r["request_id"] in index]
    assert mine == list(range(TOTAL))
