"""A gateway served by uvicorn in a thread, for tests that use real clients against it."""

from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import httpx
import uvicorn
from botocore.config import Config

from iamgw import datadir
from iamgw.app import create_app
from iamgw.config import Settings, load_settings
from iamgw.http_server import BoundedHttpToolsProtocol
from iamgw.store import Repository, create_file_once
from tests.waiting import wait_until

ROOT_KEY = "ROOTACCESSKEY0000001"
ROOT_SECRET = "root-secret-key-for-tests-only"


def aws_env(key: str, secret: str, home: Path) -> dict[str, str]:
    """The environment the aws cli runs in for a test: these keys only, no config files,
    no instance metadata, no retries."""
    return {
        "PATH": os.environ["PATH"],
        "HOME": str(home),
        "AWS_ACCESS_KEY_ID": key,
        "AWS_SECRET_ACCESS_KEY": secret,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_CONFIG_FILE": str(home / "none"),
        "AWS_SHARED_CREDENTIALS_FILE": str(home / "none"),
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_MAX_ATTEMPTS": "1",
    }


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class GatewayServer:
    url: str
    settings: Settings
    repo: Repository  # a second connection to the gateway's store, as another admin would have
    server: uvicorn.Server
    thread: threading.Thread
    account_id: str = "000000000000"
    root_key: str = ROOT_KEY
    root_secret: str = field(default=ROOT_SECRET, repr=False)

    def client(self, service: str = "s3", key: str = ROOT_KEY, secret: str = ROOT_SECRET,
               token: str | None = None, **config: object):  # fmt: skip
        return boto3.client(
            service,
            endpoint_url=self.url,
            aws_access_key_id=key,
            aws_secret_access_key=secret,
            aws_session_token=token,
            region_name="us-east-1",
            config=Config(
                signature_version="s3v4",
                s3={"addressing_style": "path"},
                retries={"max_attempts": 1},
                **config,
            ),
        )

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        self.repo.close()


def start_gateway(data_dir: Path, upstreams: list[tuple[str, str, str]],
                  extra_env: dict[str, str] | None = None,
                  port: int | None = None) -> GatewayServer:  # fmt: skip
    port = port or free_port()
    env = {
        "IAMGW_SERVER_ADDRESS": f"127.0.0.1:{port}",
        "IAMGW_SERVER_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "IAMGW_SERVER_DATA_DIR": str(data_dir),
        "IAMGW_ROOT_ACCESS_KEY": ROOT_KEY,
        "IAMGW_ROOT_SECRET_KEY": ROOT_SECRET,
        "IAMGW_AUDIT_TARGETS": f"file:{data_dir / 'audit.log'}",
        # The access log writes stdout from a thread, past pytest's capture: off unless a
        # test asks for it (tests/ops/test_audit_access_log.py, test_audit_secrets.py).
        "IAMGW_AUDIT_ACCESS_LOG": "false",
        **(extra_env or {}),
    }
    for i, (endpoint, key, secret) in enumerate(upstreams):
        env[f"IAMGW_UPSTREAM_{i}_ENDPOINT"] = endpoint
        env[f"IAMGW_UPSTREAM_{i}_ACCESS_KEY"] = key
        env[f"IAMGW_UPSTREAM_{i}_SECRET_KEY"] = secret
    settings = load_settings(None, environ=env)
    if not datadir.key_configured(settings) and not datadir.store_in_data_dir(settings):
        # A store replicas may share (PostgreSQL) needs its master key given, as an operator
        # gives it: here data_dir/master.key, which the replica tests copy to a second one.
        data_dir.mkdir(parents=True, exist_ok=True)
        create_file_once(data_dir / "master.key", secrets.token_bytes(32))
    config = uvicorn.Config(create_app(settings), host="127.0.0.1", port=port, log_level="warning",
                            lifespan="on", http=BoundedHttpToolsProtocol,
                            proxy_headers=False)  # as `iamgw serve`  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    url = f"http://127.0.0.1:{port}"

    def healthy() -> bool:
        try:
            return httpx.get(url + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return False

    wait_until(healthy, 30, what="the gateway starts")
    repo = Repository.open(
        settings.store_url, datadir.master_key(settings), settings.server.account_id
    )
    return GatewayServer(url, settings, repo, server, thread)


@contextlib.contextmanager
def running_gateway(
    data_dir: Path, node: Any, extra_env: dict[str, str] | None = None, port: int | None = None
) -> Iterator[GatewayServer]:
    """A gateway in front of the storage `node` (a `SeaweedNode`) for the `with` block:
    what most gateway fixtures yield (on `port`, else a free one)."""
    upstreams = [(node.endpoint, node.access_key, node.secret_key)]
    server = start_gateway(data_dir, upstreams, extra_env, port)
    try:
        yield server
    finally:
        server.stop()


def process_rss_mib() -> float:
    """This process's resident memory in MiB: the gateways of the tests run in it."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")
