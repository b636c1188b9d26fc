"""Replicas that share a store (issue 13): two gateways on one PostgreSQL with one
configured master key serve the same IAM users; a gateway with another key refuses to
start in one line; and a rotation of the key, made while the gateways serve, loses no
IAM user's requests before, during (both keys) or after, and leaves the old key unable
to open the store."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from botocore.exceptions import ClientError

from iamgw import cli
from iamgw.store import MasterKey, Repository, SecretError
from tests.gateway_server import GatewayServer, free_port, start_gateway
from tests.iam_helpers import Keys, make_user
from tests.postgres import pg_schema_url

pytestmark = pytest.mark.timeout(300)
ACCOUNT = "000000000000"
S3_AND_STS = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:*", "sts:GetSessionToken"], "Resource": "*"}],
}


def key_file(directory: Path, name: str) -> Path:
    path = directory / name
    assert cli.main(["master-key", "generate", str(path)]) == 0
    return path


def gateway(
    data_dir: Path, node, store: str, key: Path, previous: Path | None = None
) -> GatewayServer:
    env = {"IAMGW_STORE_URL": store, "IAMGW_SERVER_MASTER_KEY_FILE": str(key)}
    if previous is not None:
        env["IAMGW_SERVER_PREVIOUS_MASTER_KEY_FILE"] = str(previous)
    return start_gateway(data_dir, [(node.endpoint, node.access_key, node.secret_key)], env)


def serve_refused(tmp_path: Path, store: str, **env: str) -> str:
    """`iamgw serve` as an operator starts it: must exit 1 with one line on stderr."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("IAMGW_")}
    full.update(
        IAMGW_SERVER_ADDRESS=f"127.0.0.1:{free_port()}",
        IAMGW_SERVER_DATA_DIR=str(tmp_path / f"refused-{uuid.uuid4().hex[:6]}"),
        IAMGW_STORE_URL=store,
        IAMGW_UPSTREAM_ENDPOINT="http://127.0.0.1:9",  # never reached: refused before
        IAMGW_UPSTREAM_ACCESS_KEY="node",
        IAMGW_UPSTREAM_SECRET_KEY="node-secret",
        **env,
    )
    proc = subprocess.run(
        [sys.executable, "-m", "iamgw.cli", "serve"],
        env=full,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("iamgw: "), proc.stderr
    assert not Path(full["IAMGW_SERVER_DATA_DIR"]).exists()  # nothing made for it
    return lines[0]


def works(gw: GatewayServer, keys: Keys, bucket: str, token: str | None = None) -> None:
    """An S3 request of an IAM user (or of its session) is authenticated and served."""
    s3 = gw.client("s3", keys.key, keys.secret, token)
    assert s3.get_object(Bucket=bucket, Key="k")["Body"].read() == b"v"


def refused(gw: GatewayServer, keys: Keys, bucket: str, token: str | None = None) -> str:
    with pytest.raises(ClientError) as info:
        works(gw, keys, bucket, token)
    return info.value.response["Error"]["Code"]


def session(gw: GatewayServer, keys: Keys) -> tuple[Keys, str]:
    """Temporary credentials of the user (GetSessionToken) and their session token."""
    creds = gw.client("sts", keys.key, keys.secret).get_session_token()["Credentials"]
    return Keys(creds["AccessKeyId"], creds["SecretAccessKey"]), creds["SessionToken"]


def test_replicas_with_one_key_share_users_and_another_key_is_refused(
    seaweedfs, pg_database, tmp_path: Path
) -> None:
    store = pg_schema_url(pg_database)
    key = key_file(tmp_path, "master.key")
    a = gateway(tmp_path / "a", seaweedfs, store, key)
    b = gateway(tmp_path / "b", seaweedfs, store, key)
    try:
        user = make_user(a.client("iam"), "shared", inline=S3_AND_STS)
        bucket = f"replicas-{uuid.uuid4().hex[:8]}"
        a.client("s3", user.key, user.secret).create_bucket(Bucket=bucket)
        a.client("s3", user.key, user.secret).put_object(Bucket=bucket, Key="k", Body=b"v")
        works(b, user, bucket)
        works(a, user, bucket)
        # A key given in settings: none generated into either data directory.
        assert not (tmp_path / "a" / "master.key").exists()
        assert not (tmp_path / "b" / "master.key").exists()
    finally:
        b.stop()
        a.stop()
    other = base64.b64encode(os.urandom(32)).decode()
    line = serve_refused(tmp_path, store, IAMGW_SERVER_MASTER_KEY=other)
    stored = MasterKey.load(key).key_id
    assert "does not open this store's secrets" in line and stored in line
    assert other not in line
    # No key at all, on a store replicas may share: one line naming the setting.
    line = serve_refused(tmp_path, store)
    assert "server.master_key_file" in line and "must be set" in line


def test_rotation_while_replicas_serve(seaweedfs, pg_database, tmp_path: Path) -> None:
    store = pg_schema_url(pg_database)
    old = key_file(tmp_path, "old.key")
    new = key_file(tmp_path, "new.key")
    a = gateway(tmp_path / "a", seaweedfs, store, old)
    b = gateway(tmp_path / "b", seaweedfs, store, old)
    running = [a, b]
    try:
        user = make_user(a.client("iam"), "rotated", inline=S3_AND_STS)
        bucket = f"rotation-{uuid.uuid4().hex[:8]}"
        a.client("s3", user.key, user.secret).create_bucket(Bucket=bucket)
        a.client("s3", user.key, user.secret).put_object(Bucket=bucket, Key="k", Body=b"v")
        old_session, old_token = session(a, user)
        for gw in (a, b):  # before
            works(gw, user, bucket)
            works(gw, old_session, bucket, old_token)

        # During: each replica in turn restarts with the new key and the old as previous.
        b.stop()
        b = gateway(tmp_path / "b", seaweedfs, store, new, previous=old)
        running[1] = b
        works(b, user, bucket)  # sealed under the old key, opened with the previous one
        works(b, old_session, bucket, old_token)
        works(a, user, bucket)
        a.stop()
        a = gateway(tmp_path / "a", seaweedfs, store, new, previous=old)
        running[0] = a
        config = tmp_path / "iamgw.toml"
        config.write_text(
            f'[server]\ndata_dir = "{tmp_path / "a"}"\nmaster_key_file = "{new}"\n'
            f'previous_master_key_file = "{old}"\n[store]\nurl = "{store}"\n'
        )
        assert cli.main(["master-key", "rotate", "--config", str(config)]) == 0
        new_session, new_token = session(b, user)
        for gw in (a, b):
            works(gw, user, bucket)
            works(gw, old_session, bucket, old_token)  # until it expires
            works(gw, new_session, bucket, new_token)

        # After: the new key alone.
        for i, name in enumerate("ab"):
            running[i].stop()
            running[i] = gateway(tmp_path / name, seaweedfs, store, new)
        a, b = running
        for gw in (a, b):
            works(gw, user, bucket)
            works(gw, new_session, bucket, new_token)
            assert refused(gw, old_session, bucket, old_token) == "InvalidToken"
    finally:
        for gw in running:
            gw.stop()

    # The old key alone no longer opens the store: no gateway starts with it, and the
    # user's secret does not open under it.
    line = serve_refused(tmp_path, store, IAMGW_SERVER_MASTER_KEY_FILE=str(old))
    assert "does not open this store's secrets" in line
    assert MasterKey.load(new).key_id in line
    repo = Repository.open(store, MasterKey.load(old), ACCOUNT)
    try:
        with pytest.raises(SecretError):
            repo.find_access_key(user.key)
    finally:
        repo.close()
