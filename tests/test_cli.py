"""`iamgw ldap ...`, `iamgw oidc ...` and `iamgw policy ...` through the main command."""

from __future__ import annotations

import base64
import importlib.metadata
import json
import os
from pathlib import Path

import pytest

from iamgw import cli, datadir
from iamgw.config import load_settings
from iamgw.store import MasterKey, Repository

GROUP = "cn=s3-readers,ou=groups,dc=example,dc=org"


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch) -> Path:
    """The data directory of a gateway that has started once (its key and store made):
    the commands act on a store, they never create one."""
    monkeypatch.setenv("IAMGW_SERVER_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings(None)
    repo = Repository.open(
        settings.store_url, datadir.master_key(settings), settings.server.account_id
    )
    datadir.check_store_key(repo)
    repo.close()
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


def test_ldap_detach_and_list(data_dir: Path, capsys) -> None:
    alice = "uid=alice,ou=people,dc=example,dc=org"
    assert (
        cli.main(["ldap", "attach-policy", "--group", "CN=S3-Readers, " + GROUP[14:], "readonly"])
        == 0
    )
    assert cli.main(["ldap", "attach-policy", "--user", alice, "readwrite", "diagnostics"]) == 0
    capsys.readouterr()
    assert cli.main(["ldap", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"group\t{GROUP}\treadonly",
        f"user\t{alice}\tdiagnostics",
        f"user\t{alice}\treadwrite",
    ]
    assert (
        cli.main(["ldap", "detach-policy", "--user", "UID=Alice," + alice[10:], "readwrite"]) == 0
    )
    assert "detached readwrite from user" in capsys.readouterr().out
    assert cli.main(["ldap", "detach-policy", "--user", alice, "readwrite"]) == 1
    assert "is not attached" in capsys.readouterr().err
    assert cli.main(["ldap", "attach-policy", "--user", "not a dn", "readonly"]) == 1
    assert capsys.readouterr().err.startswith("iamgw: not a DN")
    assert cli.main(["ldap", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"group\t{GROUP}\treadonly",
        f"user\t{alice}\tdiagnostics",
    ]


def test_oidc_group_mappings(data_dir: Path, capsys, monkeypatch) -> None:
    monkeypatch.setenv("IAMGW_OIDC_0_NAME", "keycloak")
    monkeypatch.setenv("IAMGW_OIDC_0_ISSUER", "http://127.0.0.1:8080/realms/storage")
    monkeypatch.setenv("IAMGW_OIDC_0_CLIENT_ID", "iamgw")
    attach = ["oidc", "attach-policy", "--provider", "keycloak", "--group", "s3-readers"]
    assert cli.main([*attach, "readonly"]) == 0
    assert cli.main(["ldap", "attach-policy", "--group", GROUP, "readwrite"]) == 0
    unknown = ["oidc", "attach-policy", "--provider", "nonesuch", "--group", "g", "readonly"]
    assert cli.main(unknown) == 1
    assert "no [[oidc]] provider is named 'nonesuch'" in capsys.readouterr().err
    assert cli.main(["oidc", "list"]) == 0
    assert capsys.readouterr().out.splitlines() == ["keycloak\ts3-readers\treadonly"]
    repo = repo_for(data_dir)
    try:
        assert repo.oidc_group_policies("keycloak", ["s3-readers"]) == ["readonly"]
    finally:
        repo.close()
    detach = ["oidc", "detach-policy", "--provider", "keycloak", "--group", "s3-readers"]
    assert cli.main([*detach, "readonly"]) == 0
    assert "detached readonly from group s3-readers of keycloak" in capsys.readouterr().out
    assert cli.main(["oidc", "list", "--provider", "keycloak"]) == 0
    assert capsys.readouterr().out == ""


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


@pytest.fixture
def no_iamgw_env(monkeypatch) -> None:
    for name in list(os.environ):
        if name.startswith("IAMGW_"):
            monkeypatch.delenv(name)


STORE_COMMANDS = [
    ["revoke", "--session", "ASIAEXAMPLEEXAMPLE01"],
    ["ldap", "list"],
    ["ldap", "attach-policy", "--group", GROUP, "readonly"],
    ["oidc", "list"],
    ["master-key", "check"],
    ["master-key", "rotate"],
]


@pytest.mark.parametrize("argv", STORE_COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_store_commands_never_create_a_data_directory(
    argv: list[str], tmp_path: Path, capsys, no_iamgw_env
) -> None:
    """A --config naming a data_dir that does not exist (or a forgotten --config): one
    line naming it, and nothing created (no directory, key or empty store)."""
    missing = tmp_path / "nowhere"
    config = tmp_path / "iamgw.toml"
    config.write_text(f'[server]\ndata_dir = "{missing}"\n')
    assert cli.main([*argv, "--config", str(config)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"iamgw: data directory {missing} does not exist")
    assert not missing.exists()
    # An existing directory without the store in it: the same, nothing created there.
    missing.mkdir()
    assert cli.main([*argv, "--config", str(config)]) == 1
    assert f"no IAM store at {missing / 'iamgw.db'}" in capsys.readouterr().err
    assert list(missing.iterdir()) == []


def test_store_commands_on_a_shared_store_need_no_data_directory(
    tmp_path: Path, capsys, no_iamgw_env, pg_database
) -> None:
    from tests.postgres import pg_schema_url

    missing = tmp_path / "nowhere"
    key = base64.b64encode(b"k" * 32).decode()
    config = tmp_path / "iamgw.toml"
    config.write_text(
        f'[server]\ndata_dir = "{missing}"\nmaster_key = "{key}"\n'
        f'[store]\nurl = "{pg_schema_url(pg_database)}"\n'
    )
    assert cli.main(["revoke", "--session", "ASIAEXAMPLEEXAMPLE01", "--config", str(config)]) == 0
    assert cli.main(["ldap", "list", "--config", str(config)]) == 0
    assert not missing.exists()
    capsys.readouterr()
    # The same store with another key (no data directory either): refused in one line.
    config.write_text(config.read_text().replace(key, base64.b64encode(b"x" * 32).decode()))
    assert cli.main(["ldap", "list", "--config", str(config)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "does not open this store's secrets" in err[0]


def test_credentials_command(tmp_path: Path, capsys, no_iamgw_env, monkeypatch) -> None:
    monkeypatch.setenv("IAMGW_SERVER_DATA_DIR", str(tmp_path / "data"))
    assert cli.main(["credentials"]) == 1  # no gateway has generated them: never made here
    assert "no root credentials" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()
    root = datadir.root_credentials(load_settings(None))
    assert root.created
    assert cli.main(["credentials"]) == 0
    out = capsys.readouterr().out
    assert f"export AWS_ACCESS_KEY_ID={root.access_key}\n" in out
    assert "export AWS_ENDPOINT_URL=http://127.0.0.1:9000\n" in out
    assert cli.main(["credentials", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == {
        "Version": 1,
        "AccessKeyId": root.access_key,
        "SecretAccessKey": root.secret_key,
    }
    # Root from [root]: printed as configured; written before this change: still read.
    monkeypatch.setenv("IAMGW_ROOT_ACCESS_KEY", "ROOTKEY")
    monkeypatch.setenv("IAMGW_ROOT_SECRET_KEY", "root secret's; $(x)")
    assert cli.main(["credentials"]) == 0
    assert "export AWS_SECRET_ACCESS_KEY='root secret'\"'\"'s; $(x)'\n" in capsys.readouterr().out
    monkeypatch.delenv("IAMGW_ROOT_ACCESS_KEY")
    monkeypatch.delenv("IAMGW_ROOT_SECRET_KEY")
    (tmp_path / "data" / "root-credentials").write_text("access_key = OLD\nsecret_key = S\n")
    assert cli.main(["credentials", "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["AccessKeyId"] == "OLD"


def test_version(capsys) -> None:
    with pytest.raises(SystemExit) as info:
        cli.main(["--version"])
    assert info.value.code == 0
    assert capsys.readouterr().out.strip() == f"iamgw {importlib.metadata.version('iamgw')}"
