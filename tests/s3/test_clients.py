"""The aws cli and s3cmd, run as users run them, through the gateway."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.gateway_server import aws_env
from tests.iam_helpers import Keys, make_user
from tests.s3.conftest import HOME_POLICY, READONLY

BIN = Path(sys.executable).parent


@pytest.fixture(scope="module")
def cli_users(gateway) -> dict[str, Keys]:
    return {
        "root": Keys(gateway.root_key, gateway.root_secret),
        "cli-reader": make_user(gateway, "cli-reader", managed=[READONLY]),
        "carol": make_user(gateway, "carol", inline=HOME_POLICY),
    }


def aws(gateway, keys: Keys, *args: str, tmp: Path) -> subprocess.CompletedProcess:
    env = aws_env(keys.key, keys.secret, tmp)
    return subprocess.run([str(BIN / "aws"), "--endpoint-url", gateway.url, *args], env=env,
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def s3cmd(gateway, keys: Keys, *args: str, tmp: Path) -> subprocess.CompletedProcess:
    host = gateway.url.removeprefix("http://")
    config = tmp / f"s3cfg-{keys.key}"
    config.write_text(
        "[default]\n"
        f"access_key = {keys.key}\nsecret_key = {keys.secret}\n"
        f"host_base = {host}\nhost_bucket = {host}\n"
        "use_https = False\nsignature_v2 = False\nbucket_location = us-east-1\n"
    )
    return subprocess.run([sys.executable, str(BIN / "s3cmd"), "-c", str(config), *args],
                          capture_output=True, text=True, timeout=120)  # fmt: skip


def test_aws_cli(gateway, cli_users, tmp_path, node) -> None:
    root, reader, carol = cli_users["root"], cli_users["cli-reader"], cli_users["carol"]
    src = tmp_path / "src"
    (src / "sub").mkdir(parents=True)
    (src / "a.txt").write_text("alpha")
    (src / "sub" / "b.txt").write_text("beta")
    assert aws(gateway, root, "s3", "mb", "s3://cli-bucket", tmp=tmp_path).returncode == 0
    r = aws(gateway, root, "s3", "sync", str(src), "s3://cli-bucket/tree", tmp=tmp_path)
    assert r.returncode == 0, r.stderr
    r = aws(gateway, root, "s3", "ls", "--recursive", "s3://cli-bucket", tmp=tmp_path)
    assert "tree/a.txt" in r.stdout and "tree/sub/b.txt" in r.stdout
    # readonly: cp down works, cp up is refused and the node keeps what it had.
    out = tmp_path / "down.txt"
    r = aws(gateway, reader, "s3", "cp", "s3://cli-bucket/tree/a.txt", str(out), tmp=tmp_path)
    assert r.returncode == 0 and out.read_text() == "alpha"
    r = aws(gateway, reader, "s3", "cp", str(src / "sub" / "b.txt"), "s3://cli-bucket/tree/a.txt",
            tmp=tmp_path)  # fmt: skip
    assert r.returncode != 0 and "AccessDenied" in r.stderr
    assert node.get_object(Bucket="cli-bucket", Key="tree/a.txt")["Body"].read() == b"alpha"
    # s3api with the home-prefix user.
    assert aws(gateway, root, "s3", "mb", "s3://shared", tmp=tmp_path).returncode in (0, 1)
    r = aws(gateway, carol, "s3api", "put-object", "--bucket", "shared", "--key",
            "home/carol/x.txt", "--body", str(src / "a.txt"), tmp=tmp_path)  # fmt: skip
    assert r.returncode == 0, r.stderr
    r = aws(gateway, carol, "s3api", "list-objects-v2", "--bucket", "shared", "--prefix",
            "home/carol/", tmp=tmp_path)  # fmt: skip
    assert "home/carol/x.txt" in r.stdout
    r = aws(gateway, carol, "s3api", "get-object", "--bucket", "cli-bucket", "--key", "tree/a.txt",
            str(tmp_path / "no.txt"), tmp=tmp_path)  # fmt: skip
    assert r.returncode != 0 and "AccessDenied" in r.stderr


def test_s3cmd(gateway, cli_users, tmp_path, node) -> None:
    root, reader, carol = cli_users["root"], cli_users["cli-reader"], cli_users["carol"]
    f = tmp_path / "f.txt"
    f.write_text("from s3cmd")
    r = s3cmd(gateway, root, "mb", "s3://s3cmd-bucket", tmp=tmp_path)
    assert r.returncode == 0, r.stderr
    assert (
        s3cmd(gateway, root, "put", str(f), "s3://s3cmd-bucket/f.txt", tmp=tmp_path).returncode == 0
    )
    r = s3cmd(gateway, reader, "ls", "s3://s3cmd-bucket", tmp=tmp_path)
    assert r.returncode != 0  # readonly may not list objects
    out = tmp_path / "g.txt"
    r = s3cmd(gateway, reader, "get", "s3://s3cmd-bucket/f.txt", str(out), tmp=tmp_path)
    assert r.returncode == 0, r.stderr
    assert out.read_text() == "from s3cmd"
    r = s3cmd(gateway, reader, "del", "s3://s3cmd-bucket/f.txt", tmp=tmp_path)
    assert r.returncode != 0 and "AccessDenied" in r.stderr + r.stdout
    assert node.get_object(Bucket="s3cmd-bucket", Key="f.txt")["Body"].read() == b"from s3cmd"
    r = s3cmd(gateway, carol, "put", str(f), "s3://s3cmd-bucket/f.txt", tmp=tmp_path)
    assert r.returncode != 0 and "AccessDenied" in r.stderr + r.stdout
