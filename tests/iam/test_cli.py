"""The aws cli's `iam` commands against the gateway, as an administrator types them: every
action, then the key it made used by `aws s3`. Both stores."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from awscli.clidriver import xform_name

from iamgw.iam import ACTIONS
from tests.gateway_server import aws_env
from tests.iam.conftest import ACCOUNT, aws, policy_arn, user_arn
from tests.iam_helpers import Keys, allow, trust

Step = tuple[tuple[str, ...], Callable[[Any], bool] | str | None]


def chains(tmp: Path, bucket: str) -> dict[str, list[Step]]:
    doc = tmp / "policy.json"
    doc.write_text(allow(["s3:GetObject", "s3:PutObject"], f"arn:aws:s3:::{bucket}/*"))
    doc2 = tmp / "policy2.json"
    doc2.write_text(allow("s3:ListBucket"))
    trust_file = tmp / "trust.json"
    trust_file.write_text(trust({"Service": "ec2.amazonaws.com"}))
    pol = policy_arn("c-pol")
    ro = policy_arn("readonly")
    oidc = f"arn:aws:iam::{ACCOUNT}:oidc-provider/cli.example/realm"
    f = f"file://{doc}"
    return {
        "users": [
            (
                ("create-user", "--user-name", "c-u", "--path", "/cli/", "--tags", "Key=a,Value=1"),
                lambda r: r["User"]["Arn"] == user_arn("c-u", "/cli/"),
            ),
            (
                ("get-user", "--user-name", "c-u"),
                lambda r: r["User"]["Tags"] == [{"Key": "a", "Value": "1"}],
            ),
            (
                ("list-users", "--path-prefix", "/cli/"),
                lambda r: [u["UserName"] for u in r["Users"]] == ["c-u"],
            ),
            (("tag-user", "--user-name", "c-u", "--tags", "Key=b,Value=2"), None),
            (("untag-user", "--user-name", "c-u", "--tag-keys", "a"), None),
            (
                ("list-user-tags", "--user-name", "c-u"),
                lambda r: r["Tags"] == [{"Key": "b", "Value": "2"}],
            ),
            (("update-user", "--user-name", "c-u", "--new-user-name", "c-user"), None),
            (
                ("create-access-key", "--user-name", "c-user"),
                lambda r: r["AccessKey"]["Status"] == "Active",
            ),
            (
                ("list-access-keys", "--user-name", "c-user"),
                lambda r: len(r["AccessKeyMetadata"]) == 1,
            ),
            (
                (
                    "put-user-permissions-boundary",
                    "--user-name",
                    "c-user",
                    "--permissions-boundary",
                    ro,
                ),
                None,
            ),
            (("delete-user-permissions-boundary", "--user-name", "c-user"), None),
            (("get-user", "--user-name", "c-nobody"), "NoSuchEntity"),
        ],
        "groups": [
            (("create-user", "--user-name", "c-gu"), None),
            (("create-group", "--group-name", "c-g"), lambda r: r["Group"]["GroupName"] == "c-g"),
            (("add-user-to-group", "--group-name", "c-g", "--user-name", "c-gu"), None),
            (
                ("get-group", "--group-name", "c-g"),
                lambda r: [u["UserName"] for u in r["Users"]] == ["c-gu"],
            ),
            (("list-groups",), lambda r: "c-g" in [g["GroupName"] for g in r["Groups"]]),
            (("list-groups-for-user", "--user-name", "c-gu"), lambda r: len(r["Groups"]) == 1),
            (("update-group", "--group-name", "c-g", "--new-group-name", "c-g2"), None),
            (
                (
                    "put-group-policy",
                    "--group-name",
                    "c-g2",
                    "--policy-name",
                    "in",
                    "--policy-document",
                    f,
                ),
                None,
            ),
            (
                ("get-group-policy", "--group-name", "c-g2", "--policy-name", "in"),
                lambda r: r["PolicyDocument"] == json.loads(doc.read_text()),
            ),
            (("list-group-policies", "--group-name", "c-g2"), lambda r: r["PolicyNames"] == ["in"]),
            (("delete-group-policy", "--group-name", "c-g2", "--policy-name", "in"), None),
            (("attach-group-policy", "--group-name", "c-g2", "--policy-arn", ro), None),
            (
                ("list-attached-group-policies", "--group-name", "c-g2"),
                lambda r: len(r["AttachedPolicies"]) == 1,
            ),
            (("detach-group-policy", "--group-name", "c-g2", "--policy-arn", ro), None),
            (("remove-user-from-group", "--group-name", "c-g2", "--user-name", "c-gu"), None),
            (("delete-group", "--group-name", "c-g2"), None),
            (
                (
                    "put-user-policy",
                    "--user-name",
                    "c-gu",
                    "--policy-name",
                    "in",
                    "--policy-document",
                    f,
                ),
                None,
            ),
            (
                ("get-user-policy", "--user-name", "c-gu", "--policy-name", "in"),
                lambda r: r["PolicyName"] == "in",
            ),
            (("list-user-policies", "--user-name", "c-gu"), lambda r: r["PolicyNames"] == ["in"]),
            (("delete-user-policy", "--user-name", "c-gu", "--policy-name", "in"), None),
            (("delete-user", "--user-name", "c-gu"), None),
        ],
        "policies": [
            (
                ("create-policy", "--policy-name", "c-pol", "--policy-document", f),
                lambda r: r["Policy"]["Arn"] == pol,
            ),
            (
                ("get-policy", "--policy-arn", pol),
                lambda r: r["Policy"]["DefaultVersionId"] == "v1",
            ),
            (("tag-policy", "--policy-arn", pol, "--tags", "Key=k,Value=v"), None),
            (
                ("list-policy-tags", "--policy-arn", pol),
                lambda r: r["Tags"] == [{"Key": "k", "Value": "v"}],
            ),
            (("untag-policy", "--policy-arn", pol, "--tag-keys", "k"), None),
            (
                ("list-policies", "--scope", "Local"),
                lambda r: "c-pol" in [p["PolicyName"] for p in r["Policies"]],
            ),
            (
                (
                    "create-policy-version",
                    "--policy-arn",
                    pol,
                    "--policy-document",
                    f"file://{doc2}",
                    "--set-as-default",
                ),
                lambda r: r["PolicyVersion"]["VersionId"] == "v2",
            ),
            (("list-policy-versions", "--policy-arn", pol), lambda r: len(r["Versions"]) == 2),
            (
                ("get-policy-version", "--policy-arn", pol, "--version-id", "v2"),
                lambda r: (
                    r["PolicyVersion"]["Document"]["Statement"][0]["Action"] == "s3:ListBucket"
                ),
            ),
            (("set-default-policy-version", "--policy-arn", pol, "--version-id", "v1"), None),
            (("delete-policy-version", "--policy-arn", pol, "--version-id", "v2"), None),
            (("create-user", "--user-name", "c-pu"), None),
            (("attach-user-policy", "--user-name", "c-pu", "--policy-arn", pol), None),
            (
                ("list-attached-user-policies", "--user-name", "c-pu"),
                lambda r: r["AttachedPolicies"] == [{"PolicyName": "c-pol", "PolicyArn": pol}],
            ),
            (
                ("list-entities-for-policy", "--policy-arn", pol),
                lambda r: len(r["PolicyUsers"]) == 1,
            ),
            (("delete-policy", "--policy-arn", pol), "DeleteConflict"),
            (
                (
                    "simulate-principal-policy",
                    "--policy-source-arn",
                    user_arn("c-pu"),
                    "--action-names",
                    "s3:GetObject",
                    "s3:DeleteObject",
                    "--resource-arns",
                    f"arn:aws:s3:::{bucket}/k",
                ),
                lambda r: (
                    [e["EvalDecision"] for e in r["EvaluationResults"]]
                    == ["allowed", "implicitDeny"]
                ),
            ),
            (
                (
                    "simulate-custom-policy",
                    "--policy-input-list",
                    doc2.read_text(),
                    "--action-names",
                    "s3:ListBucket",
                ),
                lambda r: r["EvaluationResults"][0]["EvalDecision"] == "allowed",
            ),
            (("detach-user-policy", "--user-name", "c-pu", "--policy-arn", pol), None),
            (("delete-policy", "--policy-arn", pol), None),
        ],
        "roles": [
            (
                (
                    "create-role",
                    "--role-name",
                    "c-r",
                    "--assume-role-policy-document",
                    f"file://{trust_file}",
                    "--max-session-duration",
                    "7200",
                ),
                lambda r: r["Role"]["MaxSessionDuration"] == 7200,
            ),
            (
                ("get-role", "--role-name", "c-r"),
                lambda r: (
                    r["Role"]["AssumeRolePolicyDocument"]["Statement"][0]["Action"]
                    == "sts:AssumeRole"
                ),
            ),
            (("list-roles",), lambda r: "c-r" in [x["RoleName"] for x in r["Roles"]]),
            (("update-role", "--role-name", "c-r", "--max-session-duration", "43200"), None),
            (
                ("update-role-description", "--role-name", "c-r", "--description", "d"),
                lambda r: r["Role"]["Description"] == "d",
            ),
            (
                (
                    "update-assume-role-policy",
                    "--role-name",
                    "c-r",
                    "--policy-document",
                    f"file://{trust_file}",
                ),
                None,
            ),
            (("tag-role", "--role-name", "c-r", "--tags", "Key=t,Value=1"), None),
            (
                ("list-role-tags", "--role-name", "c-r"),
                lambda r: r["Tags"] == [{"Key": "t", "Value": "1"}],
            ),
            (("untag-role", "--role-name", "c-r", "--tag-keys", "t"), None),
            (
                (
                    "put-role-permissions-boundary",
                    "--role-name",
                    "c-r",
                    "--permissions-boundary",
                    ro,
                ),
                None,
            ),
            (("delete-role-permissions-boundary", "--role-name", "c-r"), None),
            (
                (
                    "put-role-policy",
                    "--role-name",
                    "c-r",
                    "--policy-name",
                    "in",
                    "--policy-document",
                    f,
                ),
                None,
            ),
            (
                ("get-role-policy", "--role-name", "c-r", "--policy-name", "in"),
                lambda r: r["RoleName"] == "c-r",
            ),
            (("list-role-policies", "--role-name", "c-r"), lambda r: r["PolicyNames"] == ["in"]),
            (("delete-role-policy", "--role-name", "c-r", "--policy-name", "in"), None),
            (("attach-role-policy", "--role-name", "c-r", "--policy-arn", ro), None),
            (
                ("list-attached-role-policies", "--role-name", "c-r"),
                lambda r: len(r["AttachedPolicies"]) == 1,
            ),
            (("delete-role", "--role-name", "c-r"), "DeleteConflict"),
            (("detach-role-policy", "--role-name", "c-r", "--policy-arn", ro), None),
            (("delete-role", "--role-name", "c-r"), None),
        ],
        "oidc": [
            (("get-account-summary",), lambda r: r["SummaryMap"]["UsersQuota"] == 5000),
            (
                (
                    "create-open-id-connect-provider",
                    "--url",
                    "https://cli.example/realm",
                    "--client-id-list",
                    "a",
                    "--thumbprint-list",
                    "c" * 40,
                ),
                lambda r: r["OpenIDConnectProviderArn"] == oidc,
            ),
            (
                ("get-open-id-connect-provider", "--open-id-connect-provider-arn", oidc),
                lambda r: r["Url"] == "cli.example/realm",
            ),
            (
                ("list-open-id-connect-providers",),
                lambda r: {"Arn": oidc} in r["OpenIDConnectProviderList"],
            ),
            (
                (
                    "add-client-id-to-open-id-connect-provider",
                    "--open-id-connect-provider-arn",
                    oidc,
                    "--client-id",
                    "b",
                ),
                None,
            ),
            (
                (
                    "remove-client-id-from-open-id-connect-provider",
                    "--open-id-connect-provider-arn",
                    oidc,
                    "--client-id",
                    "a",
                ),
                None,
            ),
            (
                (
                    "update-open-id-connect-provider-thumbprint",
                    "--open-id-connect-provider-arn",
                    oidc,
                    "--thumbprint-list",
                    "d" * 40,
                ),
                None,
            ),
            (
                (
                    "tag-open-id-connect-provider",
                    "--open-id-connect-provider-arn",
                    oidc,
                    "--tags",
                    "Key=k,Value=v",
                ),
                None,
            ),
            (
                ("list-open-id-connect-provider-tags", "--open-id-connect-provider-arn", oidc),
                lambda r: r["Tags"] == [{"Key": "k", "Value": "v"}],
            ),
            (
                (
                    "untag-open-id-connect-provider",
                    "--open-id-connect-provider-arn",
                    oidc,
                    "--tag-keys",
                    "k",
                ),
                None,
            ),
            (
                ("get-open-id-connect-provider", "--open-id-connect-provider-arn", oidc),
                lambda r: r["ClientIDList"] == ["b"] and r["ThumbprintList"] == ["d" * 40],
            ),
            (("delete-open-id-connect-provider", "--open-id-connect-provider-arn", oidc), None),
        ],
    }


KEY_COMMANDS = {"update-access-key", "get-access-key-last-used", "delete-access-key"}


def aws_batch(gw, keys: Keys, commands: list[tuple[str, ...]], tmp: Path) -> list[dict]:
    """Many aws cli commands in one process (tests/iam/aws_batch.py), in order."""
    env = aws_env(keys.key, keys.secret, tmp)
    r = subprocess.run(
        [sys.executable, str(Path(__file__).parent / "aws_batch.py"), gw.url],
        input=json.dumps(commands),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_aws_cli_every_iam_action(gw, tmp_path) -> None:
    root = Keys(gw.root_key, gw.root_secret)
    bucket = f"iam-cli-{uuid.uuid4().hex[:8]}"
    steps = [step for chain in chains(tmp_path, bucket).values() for step in chain]
    results = aws_batch(gw, root, [("iam", *args) for args, _ in steps], tmp_path)
    failures = []
    for (args, check), r in zip(steps, results, strict=True):
        if isinstance(check, str):  # an error code is expected
            if r["rc"] == 0 or check not in r["stderr"]:
                failures.append(f"{args}: expected {check}, got {r}")
        elif r["rc"] != 0:
            failures.append(f"{args}: {r['stderr']}")
        elif check is not None and not check(json.loads(r["stdout"])):
            failures.append(f"{args}: unexpected {r['stdout']}")
    assert failures == []
    # Every IAM action iamgw answers, as a cli command (the key ones in the test below).
    covered = {args[0] for args, _ in steps} | KEY_COMMANDS
    assert {xform_name(action, "-") for action in ACTIONS} <= covered


@pytest.mark.parametrize("gw", ["sqlite"], indirect=True)
def test_aws_cli_keys_for_s3(gw, tmp_path) -> None:
    root = Keys(gw.root_key, gw.root_secret)
    bucket = f"iam-cli-{uuid.uuid4().hex[:8]}"
    doc = tmp_path / "p.json"
    doc.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:PutObject",
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                    }
                ],
            }
        )
    )
    assert aws(gw, root, "iam", "create-user", "--user-name", "c-s3", tmp=tmp_path).returncode == 0
    r = aws(
        gw,
        root,
        "iam",
        "put-user-policy",
        "--user-name",
        "c-s3",
        "--policy-name",
        "p",
        "--policy-document",
        f"file://{doc}",
        tmp=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    key = json.loads(
        aws(gw, root, "iam", "create-access-key", "--user-name", "c-s3", tmp=tmp_path).stdout
    )
    user = Keys(key["AccessKey"]["AccessKeyId"], key["AccessKey"]["SecretAccessKey"])
    assert aws(gw, root, "s3", "mb", f"s3://{bucket}", tmp=tmp_path).returncode == 0
    r = aws(gw, user, "s3", "cp", str(doc), f"s3://{bucket}/p.json", tmp=tmp_path)
    assert r.returncode == 0, r.stderr
    r = aws(gw, user, "s3", "ls", f"s3://{bucket}", tmp=tmp_path)
    assert r.returncode != 0 and "AccessDenied" in r.stderr
    r = aws(gw, user, "iam", "list-users", tmp=tmp_path)
    assert r.returncode != 0 and "AccessDenied" in r.stderr
    key_id = user.key
    r = aws(gw, root, "iam", "get-access-key-last-used", "--access-key-id", key_id, tmp=tmp_path)
    assert json.loads(r.stdout)["AccessKeyLastUsed"]["ServiceName"] == "iam"
    r = aws(
        gw,
        root,
        "iam",
        "update-access-key",
        "--user-name",
        "c-s3",
        "--access-key-id",
        key_id,
        "--status",
        "Inactive",
        tmp=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    r = aws(gw, user, "s3", "cp", str(doc), f"s3://{bucket}/p.json", tmp=tmp_path)
    assert r.returncode != 0 and "InvalidAccessKeyId" in r.stderr
    r = aws(
        gw,
        root,
        "iam",
        "delete-access-key",
        "--user-name",
        "c-s3",
        "--access-key-id",
        key_id,
        tmp=tmp_path,
    )
    assert r.returncode == 0, r.stderr
