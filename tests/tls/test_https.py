"""HTTPS served by the gateway: boto3 over it, plain HTTP refused on its port, and its
certificate rotated on disk (as cert-manager does) seen by the next connections while
an open one carries on."""

from __future__ import annotations

import http.client
import logging
import socket
from collections.abc import Iterator
from pathlib import Path

import boto3
import botocore.exceptions
import httpx
import pytest
from cryptography import x509

from tests.tls.conftest import Pki
from tests.tls.servers import (
    CertFiles,
    TlsGateway,
    client_context,
    serial_of_pem,
    served_serial,
    tls_gateway,
)
from tests.waiting import wait_until


@pytest.fixture(scope="module")
def https_gateway(pki: Pki, seaweedfs, tmp_path_factory) -> Iterator[TlsGateway]:
    cert = pki.server_cert("https-module")
    with tls_gateway(
        tmp_path_factory.mktemp("https"), seaweedfs, cert, pki.server_ca_file
    ) as gateway:
        yield gateway


def test_boto3_over_https(https_gateway: TlsGateway) -> None:
    s3 = https_gateway.client()
    s3.create_bucket(Bucket="tls-boto3")
    s3.put_object(Bucket="tls-boto3", Key="hello.txt", Body=b"over TLS")
    assert s3.get_object(Bucket="tls-boto3", Key="hello.txt")["Body"].read() == b"over TLS"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="tls-boto3")["Contents"]]
    assert keys == ["hello.txt"]
    iam = https_gateway.client("iam")
    assert iam.get_user()["User"]["Arn"].endswith(":root")


def test_a_client_that_does_not_trust_the_ca_is_refused(https_gateway: TlsGateway) -> None:
    with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
        httpx.get(https_gateway.url + "/healthz")
    with pytest.raises(botocore.exceptions.SSLError):
        boto3.client(
            "s3",
            endpoint_url=https_gateway.url,
            aws_access_key_id="x",
            aws_secret_access_key="y",
            region_name="us-east-1",
        ).list_buckets()


def test_plain_http_to_the_tls_port_is_refused(https_gateway: TlsGateway) -> None:
    with socket.create_connection(("127.0.0.1", https_gateway.port), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        answer = b""
        try:
            while chunk := sock.recv(4096):
                answer += chunk
        except ConnectionResetError:
            pass
    assert not answer.startswith(b"HTTP/"), answer[:100]
    with pytest.raises(httpx.TransportError):
        httpx.get(f"http://127.0.0.1:{https_gateway.port}/healthz", timeout=10)
    # ... and HTTPS on the same port goes on.
    trust = client_context(https_gateway.ca_file)
    assert httpx.get(https_gateway.url + "/healthz", verify=trust).status_code == 200


def test_sts_without_a_client_ca_is_not_offered(https_gateway: TlsGateway) -> None:
    trust = client_context(https_gateway.ca_file)
    params = {"Action": "AssumeRoleWithCertificate", "Version": "2011-06-15"}
    answer = httpx.post(https_gateway.url + "/", params=params, verify=trust)
    assert answer.status_code == 400 and "<Code>InvalidAction</Code>" in answer.text


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def _get(conn: http.client.HTTPSConnection) -> int:
    conn.request("GET", "/healthz")
    answer = conn.getresponse()
    answer.read()
    return answer.status


def _peer_serial(conn: http.client.HTTPSConnection) -> int:
    der = conn.sock.getpeercert(binary_form=True)  # type: ignore[union-attr]
    return x509.load_der_x509_certificate(der).serial_number


def test_a_rotated_certificate_is_served_to_new_connections(
    pki: Pki, seaweedfs, tmp_path: Path
) -> None:
    issued = pki.server_cert("rotating")
    live = CertFiles(tmp_path / "tls.crt", tmp_path / "tls.key")  # the files cert-manager writes
    live.cert.write_bytes(issued.cert.read_bytes())
    live.key.write_bytes(issued.key.read_bytes())
    old_serial = serial_of_pem(live.cert.read_bytes())
    records = _Records()  # the gateway's warnings (logging is global: its thread's too)
    logging.getLogger("iamgw.http").addHandler(records)
    try:
        with tls_gateway(tmp_path / "data", seaweedfs, live, pki.server_ca_file) as gateway:
            assert served_serial(gateway.port, gateway.ca_file) == old_serial
            # A client keeps one connection open across the rotation.
            conn = http.client.HTTPSConnection(
                "127.0.0.1", gateway.port, context=client_context(gateway.ca_file), timeout=10
            )
            assert _get(conn) == 200
            sock = conn.sock

            # First a pair caught half written: never served, the last good one stays.
            new = pki.server_cert("rotated")
            new_cert, new_key = new.cert.read_bytes(), new.key.read_bytes()
            live.cert.write_bytes(new_cert[: len(new_cert) // 2])

            def refused_and_old_one_served() -> bool:
                assert _get(conn) == 200
                assert served_serial(gateway.port, gateway.ca_file) == old_serial
                return any("do not load" in m for m in records.messages)

            wait_until(
                refused_and_old_one_served, 30, interval=0.2, what="the broken pair is tried"
            )

            # Then the whole pair, certificate first and key after, as a plain copy writes them.
            live.cert.write_bytes(new_cert)
            live.key.write_bytes(new_key)
            new_serial = serial_of_pem(new_cert)

            def rotated() -> bool:
                assert _get(conn) == 200  # the open connection is served all along
                return served_serial(gateway.port, gateway.ca_file) == new_serial

            wait_until(rotated, 30, interval=0.2, what="new connections get the new certificate")
            for _ in range(3):  # and every one after
                assert served_serial(gateway.port, gateway.ca_file) == new_serial
            # The connection opened before the rotation is the same one, on its old certificate.
            assert _get(conn) == 200 and conn.sock is sock
            assert _peer_serial(conn) == old_serial
            conn.close()
            # boto3 on a new connection trusts the new certificate as it did the old one.
            assert "Buckets" in gateway.client().list_buckets()
    finally:
        logging.getLogger("iamgw.http").removeHandler(records)
