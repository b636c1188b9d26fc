"""The master key: where it comes from, the store's check value, and the re-sealing of a
rotation (on SQLite and PostgreSQL); the commands `iamgw master-key ...`."""

from __future__ import annotations

import base64
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from iamgw import cli, datadir
from iamgw.config import ConfigError, load_settings
from iamgw.console.cookies import Sealer
from iamgw.identity import SessionClaims, SessionTokens, TokenError
from iamgw.store import MasterKey, MasterKeyMismatch, Repository, SecretError
from tests.postgres import pg_schema_url

ACCOUNT = "123456789012"
OLD, NEW, OTHER = MasterKey(b"o" * 32), MasterKey(b"n" * 32), MasterKey(b"x" * 32)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'iamgw.db'}"
    else:
        yield pg_schema_url(request.getfixturevalue("pg_database"))


def open_repo(url: str, key: MasterKey) -> Repository:
    return Repository.open(url, key, ACCOUNT)


def user_with_key(repo: Repository, name: str) -> tuple[str, str]:
    repo.create_user(name)
    key, secret = repo.create_access_key(name)
    return key.access_key_id, secret


# -- the key itself ----------------------------------------------------------------------


def test_a_key_with_its_previous_one_seals_under_the_new_and_opens_both() -> None:
    sealed_old = OLD.seal(b"secret", b"row")
    both = NEW.with_previous(OLD)
    assert both.open(sealed_old, b"row") == b"secret"
    sealed_new = both.seal(b"secret", b"row")
    assert NEW.open(sealed_new, b"row") == b"secret"
    with pytest.raises(SecretError):
        OLD.open(sealed_new, b"row")
    with pytest.raises(SecretError):
        NEW.open(sealed_old, b"row")
    assert both.current_only().key_id == NEW.key_id != OLD.key_id
    assert [k.key_id for k in both.previous] == [OLD.key_id]
    assert "o" * 8 not in repr(both) and NEW.key_id in repr(both)


def test_session_tokens_and_console_cookies_of_the_previous_key_still_open() -> None:
    claims = SessionClaims(
        ak="ASIAEXAMPLEEXAMPLE01", sk="s", exp=int(time.time()) + 600, iat=int(time.time()),
        sid="sid", arn="arn:aws:sts::000000000000:assumed-role/r/s", typ="AssumedRole",
    )  # fmt: skip
    token = SessionTokens(OLD).mint(claims)
    assert SessionTokens(NEW.with_previous(OLD)).open(token, claims.ak).arn == claims.arn
    with pytest.raises(TokenError):
        SessionTokens(NEW).open(token, claims.ak)
    minted_new = SessionTokens(NEW.with_previous(OLD)).mint(claims)
    assert SessionTokens(NEW).open(minted_new, claims.ak).arn == claims.arn

    cookie = Sealer(OLD).seal("iamgw_session", {"a": 1}, time.time() + 60)
    assert Sealer(NEW.with_previous(OLD)).open("iamgw_session", cookie) == {"a": 1}
    assert Sealer(NEW).open("iamgw_session", cookie) is None


def env_settings(tmp_path: Path, **env: str):
    return load_settings(None, environ={"IAMGW_SERVER_DATA_DIR": str(tmp_path / "d"), **env})


def test_the_key_comes_from_the_variable_or_a_file_in_any_of_its_forms(tmp_path: Path) -> None:
    raw = os.urandom(32)
    b64 = base64.b64encode(raw).decode()
    for text in (b64, raw.hex()):  # openssl rand -base64 32, or -hex 32
        from_env = datadir.master_key(env_settings(tmp_path, IAMGW_SERVER_MASTER_KEY=text))
        assert from_env.raw == raw
    for name, content in (
        ("raw", raw),
        ("b64", b64.encode() + b"\n"),
        ("hex", raw.hex().encode() + b"\n"),
    ):
        path = tmp_path / name
        path.write_bytes(content)
        settings = env_settings(tmp_path, IAMGW_SERVER_MASTER_KEY_FILE=str(path))
        assert datadir.master_key(settings).raw == raw
    assert not (tmp_path / "d").exists()  # a configured key: nothing generated


def test_previous_key_from_its_own_setting(tmp_path: Path) -> None:
    (tmp_path / "new").write_bytes(NEW.raw)
    settings = env_settings(
        tmp_path,
        IAMGW_SERVER_MASTER_KEY_FILE=str(tmp_path / "new"),
        IAMGW_SERVER_PREVIOUS_MASTER_KEY=base64.b64encode(OLD.raw).decode(),
    )
    key = datadir.master_key(settings)
    assert key.key_id == NEW.key_id and [p.key_id for p in key.previous] == [OLD.key_id]


@pytest.mark.parametrize(
    ("env", "key", "problem"),
    [
        (
            {"IAMGW_SERVER_MASTER_KEY": "c2hvcnQ="},
            "server.master_key",
            "32 bytes written in base64",
        ),
        ({"IAMGW_SERVER_MASTER_KEY_FILE": "/nonexistent/key"}, "master_key_file", "not found"),
        (
            {
                "IAMGW_SERVER_MASTER_KEY": base64.b64encode(b"k" * 32).decode(),
                "IAMGW_SERVER_MASTER_KEY_FILE": "/nonexistent/key",
            },
            "server.master_key_file",
            "not both",
        ),
        ({"IAMGW_SERVER_PREVIOUS_MASTER_KEY": "!!"}, "previous_master_key", "base64"),
    ],
)
def test_bad_key_settings_name_the_key_and_never_the_value(
    tmp_path: Path, env: dict[str, str], key: str, problem: str
) -> None:
    with pytest.raises(ConfigError) as info:
        env_settings(tmp_path, **env)
    assert key in str(info.value) and problem in str(info.value)
    assert "c2hvcnQ" not in str(info.value)


def test_a_key_file_that_holds_no_key_is_one_line(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("not a key\n")
    settings = env_settings(tmp_path, IAMGW_SERVER_MASTER_KEY_FILE=str(tmp_path / "key"))
    with pytest.raises(ConfigError) as info:
        datadir.master_key(settings)
    assert "server.master_key_file" in str(info.value) and "32-byte key" in str(info.value)
    assert "not a key" not in str(info.value)


def test_generated_only_on_the_embedded_default(tmp_path: Path) -> None:
    embedded = env_settings(tmp_path)
    key = datadir.master_key(embedded)
    assert (tmp_path / "d" / "master.key").stat().st_mode & 0o777 == 0o600
    assert datadir.master_key(embedded).raw == key.raw  # generated once
    shared = env_settings(
        tmp_path / "other", IAMGW_STORE_URL="postgresql+psycopg://iamgw@db:5432/iamgw"
    )
    with pytest.raises(ConfigError) as info:
        datadir.master_key(shared)
    assert "server.master_key_file" in str(info.value)
    assert not (tmp_path / "other").exists()
    elsewhere = env_settings(tmp_path / "third", IAMGW_STORE_URL=f"sqlite:///{tmp_path}/x.db")
    with pytest.raises(ConfigError):
        datadir.master_key(elsewhere)


# -- the check value ---------------------------------------------------------------------


def test_the_first_gateway_writes_the_check_value_and_another_key_is_refused(
    store_url: str,
) -> None:
    first = open_repo(store_url, OLD)
    try:
        assert first.check_master_key() == "created"
        assert first.check_master_key() == "current"
        assert first.stored_key_id() == OLD.key_id
    finally:
        first.close()
    other = open_repo(store_url, OTHER)
    try:
        with pytest.raises(MasterKeyMismatch) as info:
            other.check_master_key()
    finally:
        other.close()
    message = str(info.value)
    assert "\n" not in message
    assert OTHER.key_id in message and OLD.key_id in message and "master_key_file" in message


def test_a_store_from_before_the_check_keeps_its_key(store_url: str) -> None:
    """A store whose secrets were sealed before the check value existed: the first
    gateway's key must open them before it may write the check value."""
    old = open_repo(store_url, OLD)
    user_with_key(old, "early")
    old.close()
    wrong = open_repo(store_url, OTHER)
    try:
        with pytest.raises(MasterKeyMismatch, match="opens none of the 1 secret"):
            wrong.check_master_key()
        assert wrong.stored_key_id() is None  # nothing written
    finally:
        wrong.close()
    right = open_repo(store_url, OLD)
    try:
        assert right.check_master_key() == "created"
    finally:
        right.close()


def test_rotation_reseals_every_secret_in_one_transaction(store_url: str) -> None:
    old = open_repo(store_url, OLD)
    old.check_master_key()
    keys = [user_with_key(old, f"u{i}") for i in range(3)]
    old.close()

    during = open_repo(store_url, NEW.with_previous(OLD))  # a replica given both keys
    try:
        assert during.check_master_key() == "previous"
        assert all(during.find_access_key(k)[1] == s for k, s in keys)
        keys.append(user_with_key(during, "made-during"))  # sealed under the new key
        assert during.reseal_secrets(NEW) == 4
        assert during.check_master_key() == "current"
        assert during.stored_key_id() == NEW.key_id
    finally:
        during.close()

    after = open_repo(store_url, NEW)
    try:
        assert after.check_master_key() == "current"
        assert all(after.find_access_key(k)[1] == s for k, s in keys)
        assert after.reseal_secrets(NEW) == 4  # again: nothing to do, nothing lost
    finally:
        after.close()
    alone = open_repo(store_url, OLD)
    try:
        with pytest.raises(MasterKeyMismatch):
            alone.check_master_key()
        with pytest.raises(SecretError):
            alone.find_access_key(keys[0][0])
    finally:
        alone.close()


def test_rotation_stops_whole_when_a_secret_opens_under_no_key(store_url: str) -> None:
    repo = open_repo(store_url, OLD)
    repo.check_master_key()
    good = user_with_key(repo, "good")
    repo.close()
    stray = open_repo(store_url, OTHER)  # a replica that once had a key of its own
    bad = user_with_key(stray, "stray")
    stray.close()
    repo = open_repo(store_url, OLD)
    try:
        with pytest.raises(MasterKeyMismatch, match=bad[0]):
            repo.reseal_secrets(NEW)
        assert repo.stored_key_id() == OLD.key_id  # nothing changed
        assert repo.find_access_key(good[0])[1] == good[1]
        with pytest.raises(MasterKeyMismatch):
            open_repo(store_url, OTHER).reseal_secrets(NEW)  # not the store's key
    finally:
        repo.close()


# -- the commands ------------------------------------------------------------------------


@pytest.fixture
def started(tmp_path: Path, monkeypatch) -> Path:
    """The data directory of an embedded-default gateway that has started once."""
    for name in list(os.environ):
        if name.startswith("IAMGW_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("IAMGW_SERVER_DATA_DIR", str(tmp_path / "data"))
    settings = load_settings(None)
    repo = Repository.open(settings.store_url, datadir.master_key(settings), "000000000000")
    datadir.check_store_key(repo)
    repo.create_user("alice")
    repo.create_access_key("alice")
    repo.close()
    return tmp_path / "data"


def test_generate_check_and_rotate_commands(started: Path, tmp_path: Path, capsys) -> None:
    new = tmp_path / "new.key"
    assert cli.main(["master-key", "generate", str(new)]) == 0
    assert new.stat().st_mode & 0o777 == 0o600
    assert len(base64.b64decode(new.read_text().strip())) == 32
    assert cli.main(["master-key", "generate", str(new)]) == 1  # never overwritten
    assert capsys.readouterr().err.strip().endswith("exists: not overwritten")
    assert cli.main(["master-key", "generate"]) == 0
    assert len(base64.b64decode(capsys.readouterr().out.strip())) == 32

    assert cli.main(["master-key", "check"]) == 0
    assert "opens the store" in capsys.readouterr().out
    old_id = MasterKey.load(started / "master.key").key_id
    new_id = MasterKey.load(new).key_id
    assert cli.main(["master-key", "rotate", "--new-key-file", str(new)]) == 0
    out = capsys.readouterr().out
    assert f"re-sealed 1 secret(s) and the check value under master key {new_id}" in out
    assert old_id in out and "previous_master_key_file" in out
    # The data directory's key alone no longer opens the store: one line.
    assert cli.main(["master-key", "check"]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"sealed under master key id {new_id}" in err[0]
    os.environ["IAMGW_SERVER_MASTER_KEY_FILE"] = str(new)
    os.environ["IAMGW_SERVER_PREVIOUS_MASTER_KEY_FILE"] = str(started / "master.key")
    try:
        assert cli.main(["master-key", "check"]) == 0
        assert f"the master key (id {new_id}) opens the store" in capsys.readouterr().out
    finally:
        del os.environ["IAMGW_SERVER_MASTER_KEY_FILE"]
        del os.environ["IAMGW_SERVER_PREVIOUS_MASTER_KEY_FILE"]


def test_rotate_under_the_configured_key_after_a_restart_with_both(
    started: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    """The documented way: every replica first gets the new key and the old one as
    previous; then `rotate` with no --new-key-file re-seals under the configured key."""
    new = tmp_path / "new.key"
    cli.main(["master-key", "generate", str(new)])
    monkeypatch.setenv("IAMGW_SERVER_MASTER_KEY_FILE", str(new))
    monkeypatch.setenv("IAMGW_SERVER_PREVIOUS_MASTER_KEY_FILE", str(started / "master.key"))
    capsys.readouterr()
    assert cli.main(["master-key", "check"]) == 0
    assert "sealed under the previous key" in capsys.readouterr().out
    assert cli.main(["master-key", "rotate"]) == 0
    out = capsys.readouterr().out
    assert "re-sealed 1 secret(s)" in out and "no longer start" not in out
    monkeypatch.delenv("IAMGW_SERVER_PREVIOUS_MASTER_KEY_FILE")
    assert cli.main(["master-key", "check"]) == 0
