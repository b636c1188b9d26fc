"""`iamgw ldap attach-policy` and `iamgw policy ...` through the main command."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from iamgw import cli
from iamgw.config import load_settings
from iamgw.store import MasterKey, Repository

GROUP = "cn=s3-readers,ou=groups,dc=example,dc=org"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch) -> Path:
    monkeypatch.setenv("IAMGW_SERVER_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data"


def repo_for(data_dir: Path) -> Repository:
    settings = load_settings(None)
    return Repository.open(
        settings.store_url,
        MasterKey.load_or_create(data_dir / "master.key"),
        settings.server.account_id,
    )


def test_ldap_attach_policy(data_dir: Path, capsys) -> None:
    assert cli.main(["ldap", "attach-policy", "--group", GROUP, "readonly"]) == 0
    assert "attached readonly to group" in capsys.readouterr().out
    assert (
        cli.main(
            [
                "ldap",
                "attach-policy",
                "--user",
                "uid=alice,ou=people,dc=example,dc=org",
                "readwrite",
                "diagnostics",
            ]
        )
        == 0
    )
    repo = repo_for(data_dir)
    try:
        assert repo.ldap_policies("uid=alice,ou=people,dc=example,dc=org", [GROUP]) == [
            "diagnostics",
            "readonly",
            "readwrite",
        ]
    finally:
        repo.close()


def test_ldap_attach_unknown_policy_changes_nothing(data_dir: Path, capsys) -> None:
    assert cli.main(["ldap", "attach-policy", "--group", GROUP, "readonly", "nonesuch"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["iamgw: no such policy: nonesuch"]
    repo = repo_for(data_dir)
    try:
        assert repo.ldap_policies("uid=x", [GROUP]) == []
    finally:
        repo.close()


def test_ldap_attach_usage(data_dir: Path) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["ldap", "attach-policy", "readonly"])  # neither --group nor --user
    assert info.value.code == 2


def test_policy_commands_through_the_main_cli(tmp_path: Path, capsys) -> None:
    good = tmp_path / "good.json"
    good.write_text(
        json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
                ],
            }
        )
    )
    bad = tmp_path / "bad.json"
    bad.write_text('{"Version": "2012-10-17", "Statement": [{"Effect": "Maybe"}]}')
    assert cli.main(["policy", "check", str(good)]) == 0
    assert cli.main(["policy", "check", str(bad)]) == 1
    assert "Statement[0]" in capsys.readouterr().out + capsys.readouterr().err
    args = ["policy", "eval", "--policy", str(good), "--resource", "arn:aws:s3:::b/k"]
    assert cli.main([*args, "--action", "s3:GetObject"]) == 0
    assert cli.main([*args, "--action", "s3:PutObject"]) == 1
