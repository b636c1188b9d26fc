"""The aws cli's `iam` commands against the gateway, as an administrator types them,
then the key it made used by `aws s3`."""

from __future__ import annotations

import json
import uuid

from tests.iam.conftest import Keys, aws, policy_arn, user_arn


def test_aws_cli_iam(gw, tmp_path) -> None:
    root = Keys(gw.root_key, gw.root_secret)

    def ok(*args: str) -> dict:
        r = aws(gw, root, "iam", *args, tmp=tmp_path)
        assert r.returncode == 0, (args, r.stderr)
        return json.loads(r.stdout) if r.stdout.strip() else {}

    doc = tmp_path / "policy.json"
    bucket = f"iam-cli-{uuid.uuid4().hex[:8]}"
    doc.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": ["s3:GetObject", "s3:PutObject"],
                        "Resource": f"arn:aws:s3:::{bucket}/*",
                    }
                ],
            }
        )
    )
    trust = tmp_path / "trust.json"
    trust.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Principal": {"Service": "ec2.amazonaws.com"},
                        "Action": "sts:AssumeRole",
                    }
                ],
            }
        )
    )

    assert ok("create-user", "--user-name", "c-cli", "--path", "/cli/")["User"]["Arn"] == user_arn(
        "c-cli", "/cli/"
    )
    assert "c-cli" in [u["UserName"] for u in ok("list-users", "--path-prefix", "/cli/")["Users"]]
    arn = ok("create-policy", "--policy-name", "c-cli-rw", "--policy-document", f"file://{doc}")[
        "Policy"
    ]["Arn"]
    ok("attach-user-policy", "--user-name", "c-cli", "--policy-arn", arn)
    attached = ok("list-attached-user-policies", "--user-name", "c-cli")["AttachedPolicies"]
    assert attached == [{"PolicyName": "c-cli-rw", "PolicyArn": arn}]
    ok(
        "put-user-policy",
        "--user-name",
        "c-cli",
        "--policy-name",
        "in",
        "--policy-document",
        f"file://{doc}",
    )
    got = ok("get-user-policy", "--user-name", "c-cli", "--policy-name", "in")
    assert got["PolicyDocument"] == json.loads(doc.read_text())
    ok("create-group", "--group-name", "c-cli-group")
    ok("add-user-to-group", "--group-name", "c-cli-group", "--user-name", "c-cli")
    assert [u["UserName"] for u in ok("get-group", "--group-name", "c-cli-group")["Users"]] == [
        "c-cli"
    ]
    role = ok(
        "create-role",
        "--role-name",
        "c-cli-role",
        "--assume-role-policy-document",
        f"file://{trust}",
        "--max-session-duration",
        "7200",
    )["Role"]
    assert role["AssumeRolePolicyDocument"]["Statement"][0]["Action"] == "sts:AssumeRole"
    ok(
        "put-user-permissions-boundary",
        "--user-name",
        "c-cli",
        "--permissions-boundary",
        policy_arn("readwrite"),
    )
    sim = ok(
        "simulate-principal-policy",
        "--policy-source-arn",
        user_arn("c-cli", "/cli/"),
        "--action-names",
        "s3:GetObject",
        "s3:DeleteObject",
        "--resource-arns",
        f"arn:aws:s3:::{bucket}/k",
    )
    assert [r["EvalDecision"] for r in sim["EvaluationResults"]] == ["allowed", "implicitDeny"]
    key = ok("create-access-key", "--user-name", "c-cli")["AccessKey"]
    r = aws(gw, root, "iam", "get-user", "--user-name", "c-nobody", tmp=tmp_path)
    assert r.returncode != 0 and "NoSuchEntity" in r.stderr

    # The new key, through `aws s3`.
    user = Keys(key["AccessKeyId"], key["SecretAccessKey"])
    assert aws(gw, root, "s3", "mb", f"s3://{bucket}", tmp=tmp_path).returncode == 0
    r = aws(gw, user, "s3", "cp", str(doc), f"s3://{bucket}/p.json", tmp=tmp_path)
    assert r.returncode == 0, r.stderr
    r = aws(gw, user, "s3", "ls", f"s3://{bucket}", tmp=tmp_path)
    assert r.returncode != 0 and "AccessDenied" in r.stderr
    r = aws(gw, user, "iam", "list-users", tmp=tmp_path)
    assert r.returncode != 0 and "AccessDenied" in r.stderr
