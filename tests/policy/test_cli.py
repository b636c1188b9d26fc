"""`iamgw policy check` and `iamgw policy eval`: output and exit codes (DESIGN.md §2)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

import pytest

from iamgw.policy.cli import main, register

READ = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "ReadOwn",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/${aws:username}/*",
        }
    ],
}
BAD = {
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
        {
            "Effect": "Allow",
            "Action": "s3:*",
            "Resource": "*",
            "Condition": {"StringLikee": {"s3:prefix": "a"}},
        },
    ],
}
DENY = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "NoSecrets",
            "Effect": "Deny",
            "Action": "s3:*",
            "Resource": "arn:aws:s3:::b/secret/*",
        }
    ],
}


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    out = {}
    for name, doc in {"read": READ, "bad": BAD, "deny": DENY}.items():
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(doc))
        out[name] = str(path)
    return out


def test_check_valid(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", files["read"], files["deny"]]) == 0
    assert capsys.readouterr().out.count("valid identity policy") == 2


def test_check_invalid_reports_the_path(
    files: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", files["read"], files["bad"]]) == 1
    out = capsys.readouterr().out
    assert f"{files['bad']}: Statement[1].Condition.StringLikee: MalformedPolicyDocument" in out


def test_check_kind(files: dict[str, str]) -> None:
    # An identity policy names no Principal: as a resource policy it is invalid.
    assert main(["check", "--kind", "resource", files["read"]]) == 1
    assert main(["check", "--kind", "identity", files["read"]]) == 0
    assert main(["check", "--kind", "nonsense", files["read"]]) == 2


def test_check_usage_errors(tmp_path: Path) -> None:
    assert main(["check"]) == 2
    assert main(["check", str(tmp_path / "missing.json")]) == 2


def test_eval_allowed(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "eval",
            "--policy",
            files["read"],
            "--action",
            "s3:GetObject",
            "--resource",
            "arn:aws:s3:::b/alice/x",
            "--context",
            "aws:username=alice",
        ]
    )
    assert code == 0
    assert (
        capsys.readouterr().out.strip()
        == "Allowed by identity policy 'read.json' statement ReadOwn"
    )


def test_eval_denied(files: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    args = ["eval", "--policy", files["read"], files["deny"], "--action", "s3:GetObject"]
    assert (
        main([*args, "--resource", "arn:aws:s3:::b/bob/x", "--context", "aws:username=alice"]) == 1
    )
    assert "ImplicitlyDenied (no statement matched)" in capsys.readouterr().out
    assert main([*args, "--resource", "arn:aws:s3:::b/secret/x"]) == 1
    assert "ExplicitlyDenied by identity policy 'deny.json' statement NoSecrets" in (
        capsys.readouterr().out
    )


def test_eval_multi_valued_context(tmp_path: Path) -> None:
    doc = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": "s3:*",
                "Resource": "*",
                "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": ["a", "b"]}},
            }
        ],
    }
    path = tmp_path / "p.json"
    path.write_text(json.dumps(doc))
    base = [
        "eval",
        "--policy",
        str(path),
        "--action",
        "s3:PutObject",
        "--resource",
        "arn:aws:s3:::b/k",
    ]
    assert main([*base, "--context", "aws:TagKeys=a", "--context", "aws:TagKeys=b"]) == 0
    assert main([*base, "--context", "aws:TagKeys=a", "--context", "aws:TagKeys=c"]) == 1


def test_eval_usage_errors(files: dict[str, str]) -> None:
    assert main(["eval", "--action", "s3:GetObject", "--resource", "x"]) == 2  # no --policy
    base = ["eval", "--action", "s3:GetObject", "--resource", "arn:aws:s3:::b/k"]
    assert main([*base, "--policy", files["bad"]]) == 2  # invalid policy
    assert main([*base, "--policy", files["read"], "--context", "novalue"]) == 2


def test_register_mounts_under_a_parent_parser(files: dict[str, str]) -> None:
    parser = argparse.ArgumentParser(prog="iamgw")
    sub = parser.add_subparsers(dest="command", required=True)
    policy = sub.add_parser("policy")
    register(policy.add_subparsers(dest="policy_command", required=True))
    args = parser.parse_args(["policy", "check", files["read"]])
    assert args.func(args) == 0


def test_runs_as_a_module(files: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "iamgw.policy.cli", "check", files["bad"]],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "Invalid Condition type" in done.stdout
