"""AssumeRoleWithCertificate (MinIO): a client certificate of `[server] tls_client_ca`,
presented in the TLS handshake, gets a session whose policy is the one its subject CN
names, never outliving the certificate."""

from __future__ import annotations

import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import botocore.exceptions
import httpx
import pytest
import trustme
from cryptography import x509

from tests.tls.conftest import Pki
from tests.tls.servers import (
    CertFiles,
    TlsGateway,
    client_context,
    expired_client_cert,
    tls_gateway,
)

NS = {"sts": "https://sts.amazonaws.com/doc/2011-06-15/"}
ACTION = {"Action": "AssumeRoleWithCertificate", "Version": "2011-06-15"}


@pytest.fixture(scope="module")
def gateway(pki: Pki, seaweedfs, tmp_path_factory) -> Iterator[TlsGateway]:
    cert = pki.server_cert("sts-cert")
    env = {"IAMGW_SERVER_TLS_CLIENT_CA": str(pki.client_ca_file)}
    data_dir = tmp_path_factory.mktemp("sts-cert")
    with tls_gateway(data_dir, seaweedfs, cert, pki.server_ca_file, env) as server:
        s3 = server.client()
        s3.create_bucket(Bucket="cert-data")
        s3.put_object(Bucket="cert-data", Key="report.csv", Body=b"a,b\n1,2\n")
        yield server


def assume(gateway: TlsGateway, cert: CertFiles | None, **params: str) -> httpx.Response:
    """POST /?Action=AssumeRoleWithCertificate&... as MinIO documents it, over TLS."""
    context = client_context(gateway.ca_file, cert)
    return httpx.post(gateway.url + "/", params={**ACTION, **params}, verify=context, timeout=10)


def credentials(answer: httpx.Response) -> dict[str, str]:
    assert answer.status_code == 200, answer.text
    root = ET.fromstring(answer.text)
    assert root.tag == f"{{{NS['sts']}}}AssumeRoleWithCertificateResponse"
    found = root.find("sts:AssumeRoleWithCertificateResult/sts:Credentials", NS)
    assert found is not None
    values = {child.tag.split("}")[1]: child.text or "" for child in found}
    user = root.find("sts:AssumeRoleWithCertificateResult/sts:AssumedRoleUser/sts:Arn", NS)
    values["Arn"] = user.text if user is not None and user.text else ""
    return values


def error_code(answer: httpx.Response) -> str:
    found = ET.fromstring(answer.text).find(".//sts:Error/sts:Code", NS)
    return found.text if found is not None and found.text else ""


def expiration(creds: dict[str, str]) -> datetime:
    return datetime.fromisoformat(creds["Expiration"].replace("Z", "+00:00"))


def test_a_good_certificate_gets_the_policy_its_cn_names(pki: Pki, gateway: TlsGateway) -> None:
    cert = pki.client_cert("readonly")
    creds = credentials(assume(gateway, cert, DurationSeconds="900"))
    assert creds["AccessKeyId"].startswith("ASIA")
    assert creds["Arn"] == "arn:aws:sts::000000000000:assumed-role/certificate/readonly"
    left = (expiration(creds) - datetime.now(UTC)).total_seconds()
    assert 800 < left <= 900  # DurationSeconds honoured below the certificate's expiry
    s3 = gateway.client(
        key=creds["AccessKeyId"], secret=creds["SecretAccessKey"], token=creds["SessionToken"]
    )
    assert s3.get_object(Bucket="cert-data", Key="report.csv")["Body"].read() == b"a,b\n1,2\n"
    with pytest.raises(botocore.exceptions.ClientError) as info:  # readonly: no writes
        s3.put_object(Bucket="cert-data", Key="new.csv", Body=b"x")
    assert info.value.response["Error"]["Code"] == "AccessDenied"
    identity = gateway.client(
        "sts",
        key=creds["AccessKeyId"],
        secret=creds["SecretAccessKey"],
        token=creds["SessionToken"],
    ).get_caller_identity()
    assert identity["Arn"] == creds["Arn"]


def test_the_session_never_outlives_the_certificate(pki: Pki, gateway: TlsGateway) -> None:
    not_after = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    cert = pki.client_cert("readwrite", not_after=not_after)
    served = x509.load_pem_x509_certificate(cert.cert.read_bytes()).not_valid_after_utc
    creds = credentials(assume(gateway, cert, DurationSeconds="43200"))
    assert served - timedelta(seconds=5) <= expiration(creds) <= served
    creds = credentials(assume(gateway, cert))  # the default hour fits in the two
    left = (expiration(creds) - datetime.now(UTC)).total_seconds()
    assert 3500 < left <= 3600


def test_curl_as_minio_documents_it(pki: Pki, gateway: TlsGateway) -> None:
    cert = pki.client_cert("readonly")
    url = f"{gateway.url}?Action=AssumeRoleWithCertificate&Version=2011-06-15&DurationSeconds=3600"
    done = subprocess.run(
        ["curl", "-sS", "-X", "POST", "--cacert", str(gateway.ca_file),
         "--key", str(cert.key), "--cert", str(cert.cert), url],
        capture_output=True, text=True, timeout=30, check=True,
    )  # fmt: skip
    assert "<AccessKeyId>ASIA" in done.stdout and "<SessionToken>" in done.stdout


def test_an_expired_certificate_is_refused(pki: Pki, gateway: TlsGateway, tmp_path) -> None:
    cert = expired_client_cert(pki.client_ca, "readonly", tmp_path)
    answer = assume(gateway, cert)
    assert answer.status_code == 403 and error_code(answer) == "AccessDenied"
    assert "expired" in answer.text


def test_a_certificate_not_valid_yet_is_refused(pki: Pki, gateway: TlsGateway) -> None:
    soon = datetime.now(UTC) + timedelta(hours=1)
    cert = pki.client_cert("readonly", not_before=soon, not_after=soon + timedelta(days=1))
    answer = assume(gateway, cert)
    assert answer.status_code == 403 and error_code(answer) == "AccessDenied"


def test_a_foreign_certificate_is_refused_in_the_handshake(pki: Pki, gateway: TlsGateway) -> None:
    foreign = pki.client_cert("readonly", ca=trustme.CA())
    with pytest.raises(httpx.TransportError):
        assume(gateway, foreign)
    # The gateway goes on serving: the next good certificate gets its session.
    credentials(assume(gateway, pki.client_cert("readonly")))


def test_no_certificate_is_access_denied(gateway: TlsGateway) -> None:
    answer = assume(gateway, None)
    assert answer.status_code == 403 and error_code(answer) == "AccessDenied"
    assert "no client certificate" in answer.text


def test_a_cn_naming_no_policy_is_access_denied(pki: Pki, gateway: TlsGateway) -> None:
    answer = assume(gateway, pki.client_cert("no-such-policy"))
    assert answer.status_code == 403 and error_code(answer) == "AccessDenied"


def test_duration_bounds_are_sts_ones(pki: Pki, gateway: TlsGateway) -> None:
    cert = pki.client_cert("readonly")
    for bad in ("60", "99999999", "soon"):
        answer = assume(gateway, cert, DurationSeconds=bad)
        assert answer.status_code == 400 and error_code(answer) == "ValidationError", bad


def test_other_requests_need_no_certificate(gateway: TlsGateway) -> None:
    """The certificate is asked for, not required: boto3 without one is served."""
    assert "Buckets" in gateway.client().list_buckets()
