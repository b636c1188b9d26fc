"""Benchmark: policy decisions per second, iamgw.policy next to iam-simulate (Node).

    python bench/policy.py [--seconds 1.0] [--no-node]

A principal with 10 and with 1,000 identity-policy statements (mixed services, action
and resource wildcards, conditions, some denies); requests that match the first
statement ("early"), the last one ("late"), or nothing ("none"). iamgw is timed
uncached (`evaluate`, a fresh `Request` per decision) and cached (`Engine`).
@cloud-copilot/iam-simulate (installed under bench/ with `npm install`) evaluates the
same policies and requests through its core engine (`authorize`), timed in the same run
by bench/iam_simulate_driver.mjs. Everything is pinned to one CPU.

Targets (issue 3): uncached >= 10,000/s at 1,000 statements and >= 50,000/s at 10,
faster than iam-simulate on both.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from iamgw.policy import Engine, Policy, Request, evaluate, parse_policy  # noqa: E402

HERE = Path(__file__).resolve().parent
ACCOUNT = "123456789012"
PRINCIPAL = f"arn:aws:iam::{ACCOUNT}:user/alice"
CONTEXT = {
    "aws:SourceIp": "10.1.2.3",
    "aws:SecureTransport": "true",
    "aws:PrincipalTag/team": "blue",
    "aws:CurrentTime": "2026-11-27T08:00:00Z",
}
SERVICES = {
    "s3": ["GetObject", "PutObject", "DeleteObject", "ListBucket", "GetObjectTagging"],
    "ec2": ["DescribeInstances", "StartInstances", "StopInstances", "CreateTags"],
    "dynamodb": ["GetItem", "PutItem", "Query", "Scan", "DeleteItem"],
    "sqs": ["SendMessage", "ReceiveMessage", "DeleteMessage", "GetQueueUrl"],
    "sns": ["Publish", "Subscribe", "ListTopics"],
    "lambda": ["InvokeFunction", "GetFunction", "UpdateFunctionCode"],
    "logs": ["PutLogEvents", "CreateLogStream", "GetLogEvents"],
    "kms": ["Decrypt", "Encrypt", "GenerateDataKey"],
    "cloudwatch": ["PutMetricData", "GetMetricData"],
    "secretsmanager": ["GetSecretValue", "DescribeSecret"],
}
CONDITIONS = [
    {"StringEquals": {"aws:PrincipalTag/team": ["blue", "green"]}},
    {"IpAddress": {"aws:SourceIp": ["10.0.0.0/8", "2001:db8::/32"]}},
    {"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}},
    {"StringLike": {"s3:prefix": ["home/${aws:username}/*", "public/*"]}},
]


def arn(service: str, name: str) -> str:
    if service == "s3":
        return f"arn:aws:s3:::{name}/*"
    return f"arn:aws:{service}:us-east-1:{ACCOUNT}:thing/{name}"


def random_statement(rng: random.Random, i: int) -> dict[str, Any]:
    service = rng.choice(sorted(SERVICES))
    actions = SERVICES[service]
    shape = i % 5
    st: dict[str, Any] = {"Sid": f"S{i}", "Effect": "Allow"}
    if i % 100 == 50:
        # Rare shapes, as in real policies: NotAction guardrails and "*" grants.
        st["Effect"] = "Deny"
        st["NotAction"] = [f"{service}:*", "iam:Get*"]
        st["NotResource"] = arn(service, "*")
        st["Condition"] = {"StringEquals": {"aws:PrincipalTag/team": "red"}}
    elif i % 100 == 99:
        st["Action"] = "*"
        st["Resource"] = "*"
        st["Condition"] = {"StringEquals": {"aws:PrincipalTag/team": "admins"}}
    elif shape == 0:
        st["Action"] = f"{service}:{rng.choice(actions)}"
        st["Resource"] = arn(service, f"res-{i}")
    elif shape == 1:
        st["Action"] = f"{service}:{rng.choice(actions)[:3]}*"
        st["Resource"] = arn(service, f"res-{i}-*")
    elif shape == 2:
        st["Action"] = [f"{service}:{a}" for a in rng.sample(actions, 2)]
        st["Resource"] = [arn(service, f"res-{i}-a"), arn(service, f"res-?-{i}")]
    elif shape == 3:
        st["Action"] = f"{service}:{rng.choice(actions)}"
        st["Resource"] = arn(service, f"res-{i}")
        st["Condition"] = rng.choice(CONDITIONS)
    else:
        st["Effect"] = "Deny"
        st["Action"] = f"{service}:{rng.choice(actions)}"
        st["Resource"] = arn(service, f"secret-{i}")
        st["Condition"] = {"Bool": {"aws:SecureTransport": "false"}}
    return st


def scenario(count: int, per_policy: int = 100) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    rng = random.Random(count)
    statements: list[dict[str, Any]] = [
        {
            "Sid": "Early",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::early-bucket/*",
        }
    ]
    statements += [random_statement(rng, i) for i in range(1, count - 1)]
    statements.append(
        {
            "Sid": "Late",
            "Effect": "Allow",
            "Action": "dynamodb:GetItem",
            "Resource": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/late-table",
            "Condition": {"StringEquals": {"aws:PrincipalTag/team": "blue"}},
        }
    )
    docs = [
        {"Version": "2012-10-17", "Statement": statements[i : i + per_policy]}
        for i in range(0, len(statements), per_policy)
    ]
    requests = {
        "early": ("s3:GetObject", "arn:aws:s3:::early-bucket/photos/cat.jpg"),
        "late": ("dynamodb:GetItem", f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/late-table"),
        "none": ("s3:GetObject", "arn:aws:s3:::no-such-bucket/key"),
    }
    return docs, requests


def measure(fn: Callable[[], object], seconds: float) -> float:
    warm_until = time.perf_counter() + seconds / 10
    while time.perf_counter() < warm_until:
        fn()
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        for _ in range(100):
            fn()
        n += 100
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def run_node(spec: dict[str, Any]) -> dict[str, Any] | None:
    node = shutil.which("node")
    if node is None or not (HERE / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
        print("iam-simulate not installed: run `npm install` in bench/", file=sys.stderr)
        return None
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as f:
        json.dump(spec, f)
    try:
        out = subprocess.run(
            [node, "iam_simulate_driver.mjs", f.name],
            cwd=HERE,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(f.name)
    return json.loads(out)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=1.0, help="time per cell")
    ap.add_argument("--no-node", action="store_true", help="skip iam-simulate")
    args = ap.parse_args(argv)
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})  # one core, children too

    rows = []
    node_spec: dict[str, Any] = {"seconds": args.seconds, "scenarios": []}
    for count in (10, 1000):
        docs, requests = scenario(count)
        policies: list[Policy] = [
            parse_policy(d, name=f"p{i}", max_size=1 << 20) for i, d in enumerate(docs)
        ]
        engine = Engine()
        for p in policies:
            engine.put(p.name, p)
        names = [p.name for p in policies]
        for label, (action, resource) in requests.items():

            def fresh(action: str = action, resource: str = resource) -> Request:
                return Request(action, resource, PRINCIPAL, CONTEXT, resource_account=ACCOUNT)

            def uncached_decision(fresh=fresh, policies=policies) -> object:
                return evaluate(fresh(), policies)

            def cached_decision(fresh=fresh, engine=engine, names=names) -> object:
                return engine.evaluate(fresh(), names)

            outcome = evaluate(fresh(), policies).outcome
            uncached = measure(uncached_decision, args.seconds)
            cached = measure(cached_decision, args.seconds)
            name = f"{count}-{label}"
            rows.append((count, label, name, str(outcome), uncached, cached))
            node_spec["scenarios"].append(
                {
                    "name": name,
                    "policies": docs,
                    "requests": [
                        {
                            "principal": PRINCIPAL,
                            "action": action,
                            "resource": resource,
                            "accountId": ACCOUNT,
                            "context": CONTEXT,
                        }
                    ],
                }
            )

    node = None if args.no_node else run_node(node_spec)
    head = (
        f"{'statements':>10} {'request':>7} {'decision':>16} {'iamgw uncached/s':>17} "
        f"{'iamgw cached/s':>15} {'iam-simulate/s':>15} {'ratio':>7}"
    )
    print(head)
    print("-" * len(head))
    for count, label, name, decided, uncached, cached in rows:
        sim = node[name]["rate"] if node else None
        agree = ""
        if node and node[name]["outcomes"][0] != decided:
            agree = f"  (iam-simulate: {node[name]['outcomes'][0]})"
        sim_text = f"{sim:15,.0f}" if sim else f"{'-':>15}"
        ratio = f"{uncached / sim:6.1f}x" if sim else f"{'-':>7}"
        print(
            f"{count:>10} {label:>7} {decided:>16} {uncached:17,.0f} {cached:15,.0f} "
            f"{sim_text} {ratio}{agree}"
        )
    print("ratio = iamgw uncached / iam-simulate, same policies and requests, one core")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
