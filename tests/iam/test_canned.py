"""The canned consoleAdmin lets its holder administer everything the console shows, and a
store that holds its older version (admin, kms and s3 only) gets the new one at start."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iamgw.iam import load_canned_policies
from iamgw.iam.canned import canned_policy_dir
from iamgw.policy import Outcome, Request, evaluate, parse_policy
from iamgw.store import MasterKey, Repository

ACCOUNT = "000000000000"
OLD_CONSOLE_ADMIN = {  # as policies/consoleAdmin.json was, and MinIO's still is
    "Version": "2012-10-17",
    "Statement": [
        {"Effect": "Allow", "Action": ["admin:*"], "Resource": ["*"]},
        {"Effect": "Allow", "Action": ["kms:*"], "Resource": ["*"]},
        {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]},
    ],
}
ADMIN_ARN = f"arn:aws:sts::{ACCOUNT}:assumed-role/ldap/carol"


def decide(document: str, action: str, resource: str) -> Outcome:
    policy = parse_policy(document, name="consoleAdmin")
    return evaluate(Request(action, resource, ADMIN_ARN, {}), [policy]).outcome


@pytest.mark.parametrize(
    ("action", "resource"),
    [
        ("iam:ListUsers", "*"),
        ("iam:GetPolicyVersion", f"arn:aws:iam::{ACCOUNT}:policy/readonly"),
        ("iam:SimulatePrincipalPolicy", f"arn:aws:iam::{ACCOUNT}:user/alice"),
        ("iam:CreateUser", f"arn:aws:iam::{ACCOUNT}:user/eng/bob"),
        ("sts:TagSession", f"arn:aws:iam::{ACCOUNT}:role/ops"),  # AssumeRole: the trust too
        ("s3:PutObject", "arn:aws:s3:::photos/a.jpg"),
        ("admin:ServerInfo", "*"),
        ("kms:ListKeys", "*"),
    ],
)
def test_console_admin_allows_what_the_console_shows(action: str, resource: str) -> None:
    directory = canned_policy_dir()
    assert directory is not None
    document = (directory / "consoleAdmin.json").read_text()
    assert decide(document, action, resource) is Outcome.ALLOWED


def test_a_store_with_the_old_console_admin_gets_the_new_one(tmp_path: Path) -> None:
    old = tmp_path / "old"
    old.mkdir()
    (old / "consoleAdmin.json").write_text(json.dumps(OLD_CONSOLE_ADMIN))
    repo = Repository.open(f"sqlite:///{tmp_path / 'iamgw.db'}", MasterKey(b"m" * 32), ACCOUNT)
    try:
        assert load_canned_policies(repo, old)["consoleAdmin"] == "created"
        before = repo.policy_document("consoleAdmin")
        assert decide(before, "iam:ListUsers", "*") is Outcome.IMPLICITLY_DENIED
        assert load_canned_policies(repo)["consoleAdmin"] == "updated"
        after = repo.policy_document("consoleAdmin")
        assert decide(after, "iam:ListUsers", "*") is Outcome.ALLOWED
        assert repo.get_policy("consoleAdmin").default_version == "v2"
        assert load_canned_policies(repo)["consoleAdmin"] == "unchanged"
    finally:
        repo.close()
