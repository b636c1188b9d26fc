"""`iamgw login` end to end: the command run as a user runs it, `BROWSER` a script driving
Debian's chromium (browser_login.py) through the OpenID provider peer's own login page,
the credentials used by the aws cli against a gateway in front of the SeaweedFS peer;
LDAP logins against the slapd peer; the profile files and the cache as unit tests.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import httpx
import jwt
import pytest
from botocore import UNSIGNED
from botocore.config import Config

from iamgw import terminal_login
from iamgw.identity import SessionClaims, SessionTokens
from iamgw.store import MasterKey
from iamgw.terminal_login import Credentials, LoginError, Provider
from tests.gateway_server import GatewayServer, free_port, running_gateway
from tests.peers import OidcProvider, Slapd

BIN = Path(sys.executable).parent
IAMGW, AWS = str(BIN / "iamgw"), str(BIN / "aws")
HERE = Path(__file__).resolve().parent
BUCKET = "terminal"
CLIENT_SECRET = "iamgw-client-secret"  # keycloak-realm/realm.json's confidential client


@pytest.fixture(scope="module")
def gateway(
    seaweedfs, oidc_provider: OidcProvider, slapd: Slapd, tmp_path_factory
) -> Iterator[GatewayServer]:
    """`[[oidc]]` keycloak with `cli_client_id = "iamgw-cli"` (claim mode) and `[ldap]`
    (s3-writers -> readwrite); bucket `terminal` holds `hello`."""
    env = {
        "IAMGW_OIDC_0_NAME": "keycloak",
        "IAMGW_OIDC_0_ISSUER": oidc_provider.issuer,
        "IAMGW_OIDC_0_CLIENT_ID": "iamgw",
        "IAMGW_OIDC_0_CLIENT_SECRET": CLIENT_SECRET,
        "IAMGW_OIDC_0_CLI_CLIENT_ID": "iamgw-cli",
        "IAMGW_OIDC_0_CLAIM_NAME": "policy",
        "IAMGW_LDAP_URL": slapd.url,
        "IAMGW_LDAP_BIND_DN": slapd.bind_dn,
        "IAMGW_LDAP_BIND_PASSWORD": slapd.bind_password,
        "IAMGW_LDAP_USER_SEARCH_BASE": slapd.people_dn,
        "IAMGW_LDAP_GROUP_SEARCH_BASE": slapd.groups_dn,
        "IAMGW_LDAP_GROUP_POLICIES": json.dumps({slapd.group_dn("s3-writers"): ["readwrite"]}),
    }
    with running_gateway(tmp_path_factory.mktemp("login-gateway"), seaweedfs, env) as server:
        s3 = server.client()
        s3.create_bucket(Bucket=BUCKET)
        s3.put_object(Bucket=BUCKET, Key="hello", Body=b"hello")
        yield server


# -- running the command as a user does ----------------------------------------------


def home_env(home: Path, **extra: str) -> dict[str, str]:
    """A user's environment in `home`: aws cli files and the cache there, no AWS keys."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "AWS_CONFIG_FILE": str(home / "aws" / "config"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "aws" / "credentials"),
        "XDG_CACHE_HOME": str(home / "cache"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
        **extra,
    }


def script(path: Path, body: str) -> str:
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(0o700)
    return str(path)


def browser_for(home: Path, username: str, password: str, *, tamper: bool = False) -> dict:
    """The environment of a BROWSER that signs `username` in with chromium."""
    command = script(
        home / "browser.sh", f'exec "{sys.executable}" "{HERE / "browser_login.py"}" "$@"'
    )
    return {
        "BROWSER": command,
        "LOGIN_USERNAME": username,
        "LOGIN_PASSWORD": password,
        "LOGIN_LOG": str(home / "browser.log"),
        "LOGIN_TAMPER_STATE": "1" if tamper else "0",
    }


def no_browser_wanted(home: Path) -> dict[str, str]:
    """A BROWSER that leaves a mark and fails: the test checks the mark is absent."""
    return {"BROWSER": script(home / "unwanted.sh", f'touch "{home / "browser-called"}"; exit 1')}


def login(gateway: GatewayServer, env: dict[str, str], *args: str,
          stdin: str | None = None) -> subprocess.CompletedProcess[str]:  # fmt: skip
    return subprocess.run(
        [IAMGW, "login", "--endpoint", gateway.url, *args],
        env=env, input=stdin, capture_output=True, text=True, timeout=180,
    )  # fmt: skip


def aws(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AWS, *args], env=env, capture_output=True, text=True, timeout=120)


def browser_log(home: Path) -> str:
    path = home / "browser.log"
    return path.read_text() if path.exists() else "(no browser log)"


def claims_of(gateway: GatewayServer, key: str, token: str) -> SessionClaims:
    """What the gateway reads from a session token."""
    master = MasterKey.load_or_create(gateway.settings.data_dir / "master.key")
    return SessionTokens(master).open(token, key)


def differences(a: SessionClaims, b: SessionClaims) -> dict[str, Any]:
    """Where the parts of two sessions that decide differ (ids and times left out)."""
    keep = ("arn", "typ", "src", "pol", "bnd", "sp", "spa", "tags")
    return {k: (getattr(a, k), getattr(b, k)) for k in keep if getattr(a, k) != getattr(b, k)}


def sts_direct(gateway: GatewayServer, id_token: str) -> dict[str, Any]:
    sts = boto3.client("sts", endpoint_url=gateway.url, region_name="us-east-1",
                       config=Config(signature_version=UNSIGNED))  # fmt: skip
    return sts.assume_role_with_web_identity(
        WebIdentityToken=id_token, RoleArn="arn:aws:iam::000000000000:role/none",
        RoleSessionName="direct",
    )["Credentials"]  # fmt: skip


def no_secret_in(text: str, *secrets: str) -> bool:
    return not any(s and s in text for s in secrets)


# -- OpenID: the browser sign-in ------------------------------------------------------


def test_alice_signs_in_and_the_aws_cli_uses_the_profile(
    gateway: GatewayServer, oidc_provider: OidcProvider, tmp_path: Path
) -> None:
    env = home_env(tmp_path, **browser_for(tmp_path, "alice", oidc_provider.users["alice"]))
    (tmp_path / "aws").mkdir()
    credentials_file = tmp_path / "aws" / "credentials"
    credentials_file.write_text(
        "# my keys\n[work]\naws_access_key_id = AKIAWORK\naws_secret_access_key = w\n"
    )
    done = login(gateway, env, "--provider", "keycloak", "--profile", "storage")
    assert done.returncode == 0, done.stderr + browser_log(tmp_path)
    assert done.stdout.count("\n") == 1 and "profile storage" in done.stdout, done.stdout
    assert "200 Signed in to iamgw" in browser_log(tmp_path)

    assert stat.S_IMODE(credentials_file.stat().st_mode) == 0o600
    text = credentials_file.read_text()
    assert text.startswith("# my keys\n[work]\naws_access_key_id = AKIAWORK\n"), text
    profile = section(text, "storage")
    assert profile["aws_access_key_id"].startswith("ASIA")
    assert no_secret_in(done.stdout + done.stderr, profile["aws_secret_access_key"],
                        profile["aws_session_token"])  # fmt: skip
    config = (tmp_path / "aws" / "config").read_text()
    assert section(config, "profile storage") == {"endpoint_url": gateway.url}

    # The aws cli reaches the gateway through the profile alone; alice may read and write.
    listed = aws(env, "s3", "ls", f"s3://{BUCKET}", "--profile", "storage")
    assert listed.returncode == 0 and "hello" in listed.stdout, listed.stderr
    (tmp_path / "up.txt").write_text("from the terminal")
    copied = aws(env, "s3", "cp", str(tmp_path / "up.txt"), f"s3://{BUCKET}/by-alice",
                 "--profile", "storage")  # fmt: skip
    assert copied.returncode == 0, copied.stderr

    # The same grant as AssumeRoleWithWebIdentity gives for an ID token of the same client.
    direct = sts_direct(
        gateway, oidc_provider.token_for("alice", client_id="iamgw-cli")["id_token"]
    )
    mine = claims_of(gateway, profile["aws_access_key_id"], profile["aws_session_token"])
    theirs = claims_of(gateway, direct["AccessKeyId"], direct["SessionToken"])
    assert mine.pol == theirs.pol == ("readwrite",)
    assert set(differences(mine, theirs)) <= {"arn"}  # the session names may differ
    assert mine.arn.rsplit("/", 1)[0] == theirs.arn.rsplit("/", 1)[0]


def test_carol_without_policy_is_refused_in_plain_words(
    gateway: GatewayServer, oidc_provider: OidcProvider, tmp_path: Path
) -> None:
    env = home_env(tmp_path, **browser_for(tmp_path, "carol", oidc_provider.users["carol"]))
    done = login(gateway, env, "--provider", "keycloak")
    assert done.returncode == 1, done.stderr
    assert done.stderr.endswith("\niamgw login: the gateway refused: AccessDenied: Not authorized "
                                "to perform sts:AssumeRoleWithWebIdentity: the token names no "
                                "policy in its policy claim.\n"), done.stderr  # fmt: skip
    assert not (tmp_path / "aws").exists()


def test_credential_process_json_cached_then_refreshed(
    gateway: GatewayServer, oidc_provider: OidcProvider, tmp_path: Path
) -> None:
    args = ("--provider", "keycloak", "--credential-process")
    env = home_env(tmp_path, **browser_for(tmp_path, "alice", oidc_provider.users["alice"]))
    first = login(gateway, env, *args)
    assert first.returncode == 0, first.stderr + browser_log(tmp_path)
    data = json.loads(first.stdout)  # stdout is the JSON and nothing else
    assert set(data) == {"Version", "AccessKeyId", "SecretAccessKey", "SessionToken",
                         "Expiration"}  # fmt: skip
    assert data["Version"] == 1 and data["AccessKeyId"].startswith("ASIA")
    expiration = datetime.fromisoformat(data["Expiration"])
    assert expiration.utcoffset() == timedelta(0) and expiration > datetime.now(UTC)
    assert no_secret_in(first.stderr, data["SecretAccessKey"], data["SessionToken"])

    cache = terminal_login.cache_path(gateway.url, "keycloak")
    cache = tmp_path / "cache" / cache.relative_to(cache.parents[1])
    assert stat.S_IMODE(cache.stat().st_mode) == 0o600
    assert stat.S_IMODE(cache.parent.stat().st_mode) == 0o700
    assert json.loads(cache.read_text())["refresh_token"]

    # From the cache: no browser.
    env = home_env(tmp_path, **no_browser_wanted(tmp_path))
    second = login(gateway, env, *args)
    assert second.returncode == 0, second.stderr
    assert json.loads(second.stdout) == data
    assert not (tmp_path / "browser-called").exists()

    # The aws cli runs the command itself as credential_process (served from the cache).
    (tmp_path / "aws").mkdir(exist_ok=True)
    (tmp_path / "aws" / "config").write_text(
        f"[profile sso]\ncredential_process = {IAMGW} login --endpoint {gateway.url} "
        f"--provider keycloak --credential-process\nendpoint_url = {gateway.url}\n"
    )
    listed = aws(env, "s3", "ls", f"s3://{BUCKET}", "--profile", "sso")
    assert listed.returncode == 0 and "hello" in listed.stdout, listed.stderr

    # About to expire: renewed with the refresh token, still no browser.
    cached = json.loads(cache.read_text())
    soon = datetime.now(UTC) + timedelta(minutes=2)
    cached["credentials"]["Expiration"] = soon.strftime("%Y-%m-%dT%H:%M:%SZ")
    cache.write_text(json.dumps(cached))
    third = login(gateway, env, *args)
    assert third.returncode == 0, third.stderr
    renewed = json.loads(third.stdout)
    assert renewed["AccessKeyId"] != data["AccessKeyId"]
    assert not (tmp_path / "browser-called").exists()
    assert json.loads(cache.read_text())["credentials"] == renewed
    s3 = gateway.client(key=renewed["AccessKeyId"], secret=renewed["SecretAccessKey"],
                        token=renewed["SessionToken"])  # fmt: skip
    assert s3.get_object(Bucket=BUCKET, Key="hello")["Body"].read() == b"hello"

    # A refresh token the provider no longer takes: the browser again (here: it fails).
    cached = json.loads(cache.read_text())
    cached["refresh_token"] = "not-a-refresh-token"
    cached["credentials"]["Expiration"] = soon.strftime("%Y-%m-%dT%H:%M:%SZ")
    cache.write_text(json.dumps(cached))
    fourth = login(gateway, env, *args, "--timeout", "1")
    assert fourth.returncode == 1 and fourth.stdout == ""
    assert "could not be renewed" in fourth.stderr
    assert (tmp_path / "browser-called").exists()


def test_without_a_browser_the_address_is_printed(
    gateway: GatewayServer, oidc_provider: OidcProvider, tmp_path: Path
) -> None:
    env = home_env(tmp_path, BROWSER=script(tmp_path / "none.sh", "exit 3"))
    process = subprocess.Popen(
        [IAMGW, "login", "--endpoint", gateway.url, "--provider", "keycloak"],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert process.stderr is not None
        lines: list[str] = []
        for line in process.stderr:  # pytest-timeout bounds this
            lines.append(line)
            if line.startswith("  http"):
                break
        url = lines[-1].strip()
        assert url.startswith(oidc_provider.authorization_endpoint), lines
        assert "code_challenge_method=S256" in url and "nonce=" in url and "state=" in url
        rest: list[str] = []
        reader = threading.Thread(target=lambda: rest.extend(process.stderr or []))
        reader.start()
        # Anyone may now open the address: here the scripted browser.
        opened = subprocess.run(
            [sys.executable, str(HERE / "browser_login.py"), url], capture_output=True,
            text=True, timeout=120,
            env={**os.environ, **browser_for(tmp_path, "bob", oidc_provider.users["bob"])},
        )  # fmt: skip
        assert opened.returncode == 0, opened.stderr
        assert process.wait(120) == 0, "".join(lines + rest)
        reader.join(10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    profile = section((tmp_path / "aws" / "credentials").read_text(), "default")
    assert profile["aws_access_key_id"].startswith("ASIA")
    assert section((tmp_path / "aws" / "config").read_text(), "default") == {
        "endpoint_url": gateway.url
    }


def test_a_tampered_state_is_refused_and_nothing_written(
    gateway: GatewayServer, oidc_provider: OidcProvider, tmp_path: Path
) -> None:
    browser = browser_for(tmp_path, "alice", oidc_provider.users["alice"], tamper=True)
    done = login(gateway, home_env(tmp_path, **browser), "--provider", "keycloak")
    assert done.returncode == 1
    assert "state mismatch" in done.stderr.strip().splitlines()[-1], done.stderr
    assert "400 Refused" in browser_log(tmp_path)
    assert not (tmp_path / "aws").exists() and not (tmp_path / "cache" / "iamgw").exists()


def test_nobody_signs_in_before_the_timeout(gateway: GatewayServer, tmp_path: Path) -> None:
    env = home_env(tmp_path, BROWSER=script(tmp_path / "idle.sh", "exit 0"))
    done = login(gateway, env, "--provider", "keycloak", "--timeout", "1")
    assert done.returncode == 1
    assert done.stderr.strip().splitlines()[-1] == (
        "iamgw login: nobody finished the sign-in within 1 s: run `iamgw login` again"
    )


# -- LDAP -----------------------------------------------------------------------------


def test_ldap_login_with_the_password_on_stdin(
    gateway: GatewayServer, slapd: Slapd, tmp_path: Path
) -> None:
    env = home_env(tmp_path, **no_browser_wanted(tmp_path))
    args = ("--provider", "ldap", "--username", "alice", "--password-stdin", "--profile", "ldap")
    done = login(gateway, env, *args, stdin=slapd.users["alice"] + "\n")
    assert done.returncode == 0, done.stderr
    assert "profile ldap" in done.stdout and slapd.users["alice"] not in done.stdout + done.stderr
    listed = aws(env, "s3", "ls", f"s3://{BUCKET}", "--profile", "ldap")
    assert listed.returncode == 0 and "hello" in listed.stdout, listed.stderr
    assert not (tmp_path / "browser-called").exists()

    wrong = login(gateway, env, *args, "--profile", "other", stdin="wrong-password\n")
    assert wrong.returncode == 1
    assert wrong.stderr.startswith("iamgw login: the gateway refused: AccessDenied"), wrong.stderr
    assert "other" not in (tmp_path / "aws" / "credentials").read_text()


def test_ldap_credential_process(gateway: GatewayServer, slapd: Slapd, tmp_path: Path) -> None:
    args = ("--provider", "ldap", "--username", "alice", "--password-stdin",
            "--credential-process")  # fmt: skip
    done = login(gateway, home_env(tmp_path), *args, stdin=slapd.users["alice"] + "\n")
    assert done.returncode == 0, done.stderr
    data = json.loads(done.stdout)
    again = login(gateway, home_env(tmp_path), *args, stdin="")  # cached: no password read
    assert again.returncode == 0 and json.loads(again.stdout) == data, again.stderr


# -- choosing the provider, plain errors ---------------------------------------------


def test_several_providers_and_none_named(gateway: GatewayServer, tmp_path: Path) -> None:
    done = login(gateway, home_env(tmp_path, **no_browser_wanted(tmp_path)))
    assert done.returncode == 2
    assert done.stderr == "iamgw login: choose a provider with --provider: keycloak, ldap\n"
    unknown = login(gateway, home_env(tmp_path), "--provider", "github")
    assert unknown.returncode == 2
    assert unknown.stderr == "iamgw login: the gateway has no provider 'github'; it has: " \
        "keycloak, ldap\n"  # fmt: skip


def test_an_unreachable_gateway(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    done = subprocess.run([IAMGW, "login", "--endpoint", url], env=home_env(tmp_path),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.startswith(f"iamgw login: cannot reach the gateway at {url}/iamgw/api/")
    assert done.stderr.count("\n") == 1


def test_choose() -> None:
    keycloak = Provider("keycloak", "http://idp/realms/x", "iamgw-cli")
    assert terminal_login.choose([keycloak], False, None) == keycloak
    assert terminal_login.choose([], True, None) is None
    assert terminal_login.choose([keycloak], True, "ldap") is None
    with pytest.raises(LoginError, match="no provider to `iamgw login`") as empty:
        terminal_login.choose([], False, None)
    assert empty.value.status == 1
    with pytest.raises(LoginError, match="no provider 'ldap'") as no_ldap:
        terminal_login.choose([keycloak], False, "ldap")
    assert no_ldap.value.status == 2


def test_the_id_token_nonce_is_checked(oidc_provider: OidcProvider) -> None:
    provider = Provider("keycloak", oidc_provider.issuer, "iamgw-cli", ("openid",))
    token = oidc_provider.token_for("alice", client_id="iamgw-cli")
    nonce = jwt.decode(token["id_token"], options={"verify_signature": False})["nonce"]
    with httpx.Client(timeout=10) as http:
        meta = terminal_login.discovery(http, provider)
        assert terminal_login.checked_id_token(http, meta, provider, token, nonce)
        with pytest.raises(LoginError, match="is not valid: .*nonce"):
            terminal_login.checked_id_token(http, meta, provider, token, "another-login")
        other = Provider("keycloak", oidc_provider.issuer, "iamgw", ("openid",))
        with pytest.raises(LoginError, match="is not valid"):  # another client's token
            terminal_login.checked_id_token(http, meta, other, token, nonce)


# -- the aws cli's files --------------------------------------------------------------


def section(text: str, name: str) -> dict[str, str]:
    """The keys of `[name]` (read as the aws cli reads the file)."""
    import configparser

    parser = configparser.RawConfigParser()
    parser.read_string(text)
    return dict(parser.items(name))


CREDENTIALS = Credentials("ASIANEW", "new-secret", "new-token", datetime(2030, 1, 1, tzinfo=UTC))


def test_set_section_keeps_the_rest() -> None:
    before = (
        "# personal\n[default]\naws_access_key_id = AKIAOLD\n\n"
        "; work account\n[work]\naws_access_key_id = AKIAWORK\n"
        "aws_secret_access_key = work-secret\nregion = eu-west-1\n"
        "aws_session_token = old\n  continued\n# end of work\n\n[other]\nx = 1\n"
    )
    keys = {"aws_access_key_id": "ASIANEW", "aws_session_token": "new", "extra": "e"}
    after = terminal_login.set_section(before, "work", keys)
    assert after == (
        "# personal\n[default]\naws_access_key_id = AKIAOLD\n\n"
        "; work account\n[work]\naws_access_key_id = ASIANEW\n"
        "aws_secret_access_key = work-secret\nregion = eu-west-1\n"
        "aws_session_token = new\nextra = e\n# end of work\n\n[other]\nx = 1\n"
    )
    added = terminal_login.set_section("[a]\nk = v", "profile b", {"endpoint_url": "http://x"})
    assert added == "[a]\nk = v\n\n[profile b]\nendpoint_url = http://x\n"
    assert terminal_login.set_section("", "default", {"k": "v"}) == "[default]\nk = v\n"
    # Keys are matched as configparser matches them; duplicates collapse into one.
    assert terminal_login.set_section("[s]\nK=1\nk: 2\n", "s", {"k": "3"}) == "[s]\nk = 3\n"
    # `[profile  b]` is the same section for the aws cli.
    assert terminal_login.set_section("[profile  b]\n", "profile b", {"k": "v"}) == (
        "[profile  b]\nk = v\n"
    )


def test_write_profile_modes_and_other_profiles(tmp_path: Path) -> None:
    credentials, config = tmp_path / "aws" / "credentials", tmp_path / "aws" / "config"
    terminal_login.write_profile(CREDENTIALS, "dev", "http://gw:9000", credentials, config)
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    assert stat.S_IMODE(credentials.parent.stat().st_mode) == 0o700
    assert section(credentials.read_text(), "dev") == {
        "aws_access_key_id": "ASIANEW",
        "aws_secret_access_key": "new-secret",
        "aws_session_token": "new-token",
    }
    assert section(config.read_text(), "profile dev") == {"endpoint_url": "http://gw:9000"}

    credentials.write_text("[keep]\naws_access_key_id = AKIAKEEP\n")
    credentials.chmod(0o644)
    config.write_text("[default]\nregion = us-east-1\n")
    config.chmod(0o640)
    terminal_login.write_profile(CREDENTIALS, "default", "http://gw:9000", credentials, config)
    assert stat.S_IMODE(credentials.stat().st_mode) == 0o600  # secrets: always 0600
    assert stat.S_IMODE(config.stat().st_mode) == 0o640  # the config keeps its mode
    assert section(credentials.read_text(), "keep") == {"aws_access_key_id": "AKIAKEEP"}
    assert section(credentials.read_text(), "default")["aws_access_key_id"] == "ASIANEW"
    assert section(config.read_text(), "default") == {
        "region": "us-east-1", "endpoint_url": "http://gw:9000"
    }  # fmt: skip
    assert sorted(p.name for p in credentials.parent.iterdir()) == ["config", "credentials"]


def test_write_profile_honours_the_aws_variables(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "c"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "k"))
    terminal_login.write_profile(CREDENTIALS, "p", "http://gw", None, None)
    assert section((tmp_path / "c").read_text(), "p")["aws_session_token"] == "new-token"
    assert section((tmp_path / "k").read_text(), "profile p") == {"endpoint_url": "http://gw"}


def test_cache_path(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    path = terminal_login.cache_path("http://gw:9000", "keycloak")
    assert path.parent == tmp_path / "iamgw" and path.name.startswith("login-")
    assert path != terminal_login.cache_path("http://gw:9000", None)
    assert path != terminal_login.cache_path("http://other:9000", "keycloak")
    monkeypatch.setenv("XDG_CACHE_HOME", "relative")  # ignored, as the spec says
    monkeypatch.setenv("HOME", str(tmp_path))
    assert terminal_login.cache_path("http://gw", None).parent == tmp_path / ".cache" / "iamgw"


def test_credentials_process_json() -> None:
    moment = datetime(2030, 1, 1, 12, tzinfo=UTC)
    assert Credentials("A", "S", "T", moment).process_json() == {
        "Version": 1, "AccessKeyId": "A", "SecretAccessKey": "S", "SessionToken": "T",
        "Expiration": "2030-01-01T12:00:00Z",
    }  # fmt: skip
    assert "S" not in repr(Credentials("A", "S", "T", moment)).replace("Session", "")
