"""Two gateway processes on one PostgreSQL behind a load balancer without sticky
sessions: a browser's requests alternate between them and the sign-in and the session
hold, because everything between requests is in sealed cookies and the store."""

from __future__ import annotations

import itertools
import shutil

import httpx
import pytest

from iamgw.store import MasterKey
from tests.console.conftest import console_env, sign_in
from tests.gateway_server import free_port, running_gateway
from tests.postgres import pg_schema_url

pytestmark = [pytest.mark.postgres, pytest.mark.timeout(180)]


class RoundRobin(httpx.BaseTransport):
    """The load balancer: requests for its port go to each replica in turn (the Host
    header stays the balancer's); anything else goes where it is addressed."""

    def __init__(self, port: int, replicas: list[int]) -> None:
        self.port = port
        self.turns = itertools.cycle(replicas)
        self.served: list[tuple[int, str]] = []
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.port == self.port:
            replica = next(self.turns)
            self.served.append((replica, request.url.path))
            request.url = request.url.copy_with(port=replica)
        return self.inner.handle_request(request)


def test_session_holds_across_replicas(seaweedfs, oidc_provider, slapd, pg_database, tmp_path):
    store = pg_schema_url(pg_database)
    balancer = free_port()
    ports = [free_port(), free_port()]
    dirs = [tmp_path / "a", tmp_path / "b"]
    for d in dirs:
        d.mkdir()
    MasterKey.load_or_create(dirs[0] / "master.key")
    shutil.copy(dirs[0] / "master.key", dirs[1] / "master.key")
    env = console_env(balancer, oidc_provider, slapd, IAMGW_STORE_URL=store,
                      IAMGW_SERVER_PUBLIC_URL=f"http://127.0.0.1:{balancer}")  # fmt: skip
    with (
        running_gateway(dirs[0], seaweedfs, env, ports[0]) as first,
        running_gateway(dirs[1], seaweedfs, env, ports[1]),
    ):
        lb = RoundRobin(balancer, ports)
        url = f"http://127.0.0.1:{balancer}"
        http = httpx.Client(transport=lb, timeout=15, follow_redirects=False)
        _, callback = sign_in(url, oidc_provider, "alice", http)
        assert callback.status_code == 303, callback.text
        started = next(r for r, path in lb.served if path == "/iamgw/login")
        finished = next(r for r, path in lb.served if path == "/iamgw/callback")
        assert started != finished  # the callback reached the other replica
        for _ in range(4):  # each replica in turn
            assert http.get(f"{url}/iamgw/").status_code == 200
            assert http.get(f"{url}/iamgw/api/credentials").status_code == 200
        creds = http.get(f"{url}/iamgw/api/credentials").json()
        s3 = first.client("s3", key=creds["AccessKeyId"], secret=creds["SecretAccessKey"],
                          token=creds["SessionToken"])  # fmt: skip
        s3.list_buckets()
        # Signing out on one replica ends the session on both.
        home = http.get(f"{url}/iamgw/")
        csrf = home.text.split('name="csrf" value="', 1)[1].split('"', 1)[0]
        assert http.post(f"{url}/iamgw/logout", data={"csrf": csrf}).status_code == 303
        stale = httpx.Client(transport=lb, timeout=15, cookies=dict(callback.cookies))
        for _ in range(2):
            assert stale.get(f"{url}/iamgw/api/credentials").status_code == 401
