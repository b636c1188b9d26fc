"""`https://` storage nodes: verified with `[[upstream]] ca_file`, shown
`client_cert`/`client_key` when they require a client certificate (mTLS).

The node is the SeaweedFS peer behind a TLS terminator the test starts, which requires
a client certificate of the test's client CA and passes the bytes on to the node.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlsplit

import botocore.exceptions
import httpx
import pytest
import trustme

from tests.tls.conftest import Pki
from tests.tls.servers import TlsTerminator, serve_gateway, write_ca
from tests.waiting import wait_until

GATEWAY_CN = "iamgw-gateway"


@pytest.fixture(scope="module")
def terminator(pki: Pki, seaweedfs) -> Iterator[TlsTerminator]:
    node_port = urlsplit(seaweedfs.endpoint).port
    assert node_port is not None
    leaf = pki.server_ca.issue_cert("127.0.0.1", "localhost")
    with TlsTerminator(node_port, leaf, pki.client_ca) as term:
        yield term


def _node(seaweedfs, terminator: TlsTerminator) -> SimpleNamespace:
    """The storage node as the gateway sees it: https://, through the terminator."""
    return SimpleNamespace(
        endpoint=f"https://127.0.0.1:{terminator.port}",
        access_key=seaweedfs.access_key,
        secret_key=seaweedfs.secret_key,
    )


def _upstream_tls(ca_file: Path | None = None, cert=None) -> dict[str, str]:
    env = {}
    if ca_file is not None:
        env["IAMGW_UPSTREAM_CA_FILE"] = str(ca_file)
    if cert is not None:
        env["IAMGW_UPSTREAM_CLIENT_CERT"], env["IAMGW_UPSTREAM_CLIENT_KEY"] = cert.pair
    return env


def _readyz(gateway) -> dict:
    return httpx.get(gateway.url + "/readyz", timeout=10).json()


def test_objects_go_to_the_node_over_mutual_tls(
    pki: Pki, seaweedfs, terminator: TlsTerminator, tmp_path: Path
) -> None:
    cert = pki.client_cert(GATEWAY_CN)
    env = _upstream_tls(pki.server_ca_file, cert)
    node = _node(seaweedfs, terminator)
    with serve_gateway(tmp_path, node, pki.server_ca_file, extra_env=env) as gateway:
        assert _readyz(gateway)["upstreams"][0]["up"] is True
        s3 = gateway.client()
        s3.create_bucket(Bucket="mtls-node")
        s3.put_object(Bucket="mtls-node", Key="a/b.bin", Body=b"x" * 100_000)
        got = s3.get_object(Bucket="mtls-node", Key="a/b.bin")["Body"].read()
        assert got == b"x" * 100_000
        listed = s3.list_objects_v2(Bucket="mtls-node")["Contents"]
        assert [o["Key"] for o in listed] == ["a/b.bin"]
    # The terminator let the gateway in on its client certificate.
    assert GATEWAY_CN in terminator.clients


def _refused(gateway, terminator: TlsTerminator, before: int) -> None:
    wait_until(lambda: _readyz(gateway)["upstreams"][0]["up"] is False, 30, what="the node is down")
    with pytest.raises(botocore.exceptions.ClientError) as info:
        gateway.client().list_objects_v2(Bucket="mtls-node")
    assert info.value.response["Error"]["Code"] == "ServiceUnavailable"
    assert httpx.get(gateway.url + "/readyz", timeout=10).status_code == 503
    assert len(terminator.clients) == before  # no connection of this gateway got through


def test_a_node_certificate_of_another_ca_is_refused(
    pki: Pki, seaweedfs, terminator: TlsTerminator, tmp_path: Path
) -> None:
    wrong_ca = write_ca(trustme.CA(), tmp_path / "wrong-ca.pem")
    env = _upstream_tls(wrong_ca, pki.client_cert(GATEWAY_CN))
    before = len(terminator.clients)
    node = _node(seaweedfs, terminator)
    with serve_gateway(tmp_path / "data", node, pki.server_ca_file, extra_env=env) as gateway:
        _refused(gateway, terminator, before)


def test_the_system_cas_do_not_trust_a_private_ca(
    pki: Pki, seaweedfs, terminator: TlsTerminator, tmp_path: Path
) -> None:
    env = _upstream_tls(None, pki.client_cert(GATEWAY_CN))  # no ca_file: the system's CAs
    before = len(terminator.clients)
    node = _node(seaweedfs, terminator)
    with serve_gateway(tmp_path / "data", node, pki.server_ca_file, extra_env=env) as gateway:
        _refused(gateway, terminator, before)


def test_a_node_requiring_a_client_certificate_refuses_a_gateway_without_one(
    pki: Pki, seaweedfs, terminator: TlsTerminator, tmp_path: Path
) -> None:
    env = _upstream_tls(pki.server_ca_file)  # the right CA, no client certificate
    before = len(terminator.clients)
    node = _node(seaweedfs, terminator)
    with serve_gateway(tmp_path / "data", node, pki.server_ca_file, extra_env=env) as gateway:
        _refused(gateway, terminator, before)


def test_a_client_certificate_of_another_ca_is_refused_by_the_node(
    pki: Pki, seaweedfs, terminator: TlsTerminator, tmp_path: Path
) -> None:
    foreign = pki.client_cert(GATEWAY_CN, ca=trustme.CA())
    env = _upstream_tls(pki.server_ca_file, foreign)
    before = len(terminator.clients)
    node = _node(seaweedfs, terminator)
    with serve_gateway(tmp_path / "data", node, pki.server_ca_file, extra_env=env) as gateway:
        _refused(gateway, terminator, before)
