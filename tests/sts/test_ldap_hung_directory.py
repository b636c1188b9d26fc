"""A directory that stops answering never slows S3 traffic: logins fail within their 5 s
budget while S3 requests through the same gateway are answered at once, and logins work
again as soon as the directory answers (issue 11, "every python-ldap call off the event
loop"). The slapd here is this module's own: it is SIGSTOPped."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator

import pytest

from tests.gateway_server import GatewayServer, running_gateway
from tests.peers import Slapd, start_slapd
from tests.sts.test_ldap_identity import form_call, ldap_env


@pytest.fixture(scope="module")
def own_slapd(tmp_path_factory) -> Iterator[Slapd]:
    server = start_slapd(tmp_path_factory.mktemp("slapd-hung"))
    yield server
    os.kill(server.pid, signal.SIGCONT)
    server.stop()


@pytest.fixture(scope="module")
def gateway(seaweedfs, own_slapd, tmp_path_factory) -> Iterator[GatewayServer]:
    with running_gateway(tmp_path_factory.mktemp("hung-ldap"), seaweedfs, ldap_env(own_slapd)) as g:
        g.client().create_bucket(Bucket="hung-ldap")
        g.client().put_object(Bucket="hung-ldap", Key="k", Body=b"v")
        yield g


def test_s3_is_answered_while_the_directory_hangs(gateway, own_slapd) -> None:
    assert form_call(gateway, "bob", own_slapd.users["bob"]).status_code == 200
    s3 = gateway.client()
    os.kill(own_slapd.pid, signal.SIGSTOP)
    try:
        logins: list[tuple[int, float]] = []

        def login() -> None:
            began = time.monotonic()
            status = form_call(gateway, "bob", own_slapd.users["bob"]).status_code
            logins.append((status, time.monotonic() - began))

        threads = [threading.Thread(target=login) for _ in range(8)]
        for t in threads:
            t.start()
        time.sleep(0.3)  # the logins are now waiting on the stopped directory
        slowest = 0.0
        for _ in range(20):
            began = time.monotonic()
            assert s3.get_object(Bucket="hung-ldap", Key="k")["Body"].read() == b"v"
            slowest = max(slowest, time.monotonic() - began)
        for t in threads:
            t.join(30)
        assert slowest < 1.0, f"an S3 GET took {slowest:.2f} s while the directory hung"
        assert len(logins) == 8 and all(status == 503 for status, _ in logins), logins
        assert max(seconds for _, seconds in logins) < 7.0, logins  # 5 s budget + margin
    finally:
        os.kill(own_slapd.pid, signal.SIGCONT)
    assert form_call(gateway, "bob", own_slapd.users["bob"]).status_code == 200
