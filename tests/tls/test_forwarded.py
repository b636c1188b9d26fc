"""`aws:SourceIp` and `aws:SecureTransport` from the real connection, and from
X-Forwarded-For / X-Forwarded-Proto only when the peer is a trusted proxy; shown by
bucket policies that turn on them.

The test's "proxy" is a client whose connections come from 127.0.0.2 (any 127/8
address is the loopback), the one address in `[server] trusted_proxies`; the other
clients connect from 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterator

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import httpx
import pytest

from iamgw.identity import forwarded_client
from tests.iam_helpers import make_user
from tests.tls.conftest import Pki
from tests.tls.servers import TlsGateway, client_context, serve_gateway, tls_gateway

TRUSTED = "127.0.0.2"
CLIENT = "203.0.113.7"  # the address the policy allows
OTHER = "198.51.100.9"


@pytest.fixture(scope="module")
def plain_gateway(pki: Pki, seaweedfs, tmp_path_factory) -> Iterator[TlsGateway]:
    """Over HTTP, trusting 127.0.0.2 (and 10/8) as proxies."""
    env = {"IAMGW_SERVER_TRUSTED_PROXIES": f"{TRUSTED}/32, 10.0.0.0/8"}
    data_dir = tmp_path_factory.mktemp("plain")
    with serve_gateway(data_dir, seaweedfs, pki.server_ca_file, extra_env=env) as gateway:
        yield gateway


@pytest.fixture(scope="module")
def https_gateway(pki: Pki, seaweedfs, tmp_path_factory) -> Iterator[TlsGateway]:
    cert = pki.server_cert("forwarded")
    with tls_gateway(
        tmp_path_factory.mktemp("tls"), seaweedfs, cert, pki.server_ca_file
    ) as gateway:
        yield gateway


def proxy() -> httpx.Client:
    """An anonymous client connecting from the trusted proxy's address."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=TRUSTED), timeout=10)


def _bucket_with_policy(s3, bucket: str, statements: list[dict]) -> None:
    if bucket not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="doc.txt", Body=b"the document")
    policy = {"Version": "2012-10-17", "Statement": statements}
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(policy))


def _anyone_may_read(bucket: str, condition: dict | None = None) -> dict:
    statement = {
        "Effect": "Allow",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    if condition:
        statement["Condition"] = condition
    return statement


@pytest.fixture(scope="module")
def ip_bucket(plain_gateway: TlsGateway) -> str:
    bucket = "fwd-source-ip"
    condition = {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    _bucket_with_policy(plain_gateway.client(), bucket, [_anyone_may_read(bucket, condition)])
    return f"{plain_gateway.url}/{bucket}/doc.txt"


def test_the_peer_address_decides_without_headers(ip_bucket: str) -> None:
    assert httpx.get(ip_bucket).status_code == 403  # 127.0.0.1 is not 203.0.113.0/24
    with proxy() as client:
        assert client.get(ip_bucket).status_code == 403  # nor is the proxy itself


def test_a_forged_forwarded_for_from_an_untrusted_peer_is_ignored(ip_bucket: str) -> None:
    for forged in (CLIENT, f"{CLIENT}, {CLIENT}", f"{OTHER}, {CLIENT}"):
        answer = httpx.get(ip_bucket, headers={"X-Forwarded-For": forged})
        assert answer.status_code == 403, forged
        assert "<Code>AccessDenied</Code>" in answer.text


@pytest.mark.parametrize(
    ("forwarded_for", "status"),
    [
        (CLIENT, 200),  # the proxy speaks for its client
        (f"{OTHER}, {CLIENT}", 200),  # the client's own (forged) entry is left of the proxy's
        (f"{CLIENT}, {OTHER}", 403),  # the right-most untrusted address is the client
        (f"{CLIENT}, {TRUSTED}", 200),  # a chain of trusted proxies is walked through
        (f"{CLIENT}, 10.1.2.3", 200),  # ... whichever trusted network they are in
        (f"{CLIENT}:51234", 200),  # a port, as some proxies write it
        (f"{CLIENT}, not-an-address", 403),  # garbage on the way: nothing is believed
    ],
)
def test_forwarded_for_from_a_trusted_proxy_is_believed(
    ip_bucket: str, forwarded_for: str, status: int
) -> None:
    with proxy() as client:
        answer = client.get(ip_bucket, headers={"X-Forwarded-For": forwarded_for})
    assert answer.status_code == status, answer.text
    if status == 200:
        assert answer.content == b"the document"


def test_several_forwarded_for_headers_read_as_one_list(ip_bucket: str) -> None:
    with proxy() as client:
        headers = [("X-Forwarded-For", OTHER), ("X-Forwarded-For", CLIENT)]
        assert client.get(ip_bucket, headers=headers).status_code == 200
        headers = [("X-Forwarded-For", CLIENT), ("X-Forwarded-For", OTHER)]
        assert client.get(ip_bucket, headers=headers).status_code == 403


SECURE_ONLY = "fwd-secure-only"


def _secure_only_statements() -> list[dict]:
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{SECURE_ONLY}/*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    return [_anyone_may_read(SECURE_ONLY), deny]


@pytest.fixture(scope="module")
def secure_only(plain_gateway: TlsGateway, https_gateway: TlsGateway) -> str:
    """The same bucket (on the shared node) and policy behind both gateways."""
    _bucket_with_policy(https_gateway.client(), SECURE_ONLY, _secure_only_statements())
    _bucket_with_policy(plain_gateway.client(), SECURE_ONLY, _secure_only_statements())
    return f"/{SECURE_ONLY}/doc.txt"


def test_secure_transport_is_true_over_https(https_gateway: TlsGateway, secure_only: str) -> None:
    trust = client_context(https_gateway.ca_file)
    answer = httpx.get(https_gateway.url + secure_only, verify=trust)
    assert answer.status_code == 200 and answer.content == b"the document"


def test_secure_transport_is_false_over_http(plain_gateway: TlsGateway, secure_only) -> None:
    answer = httpx.get(plain_gateway.url + secure_only)
    assert answer.status_code == 403 and "<Code>AccessDenied</Code>" in answer.text
    # A client cannot claim HTTPS for itself ...
    answer = httpx.get(plain_gateway.url + secure_only, headers={"X-Forwarded-Proto": "https"})
    assert answer.status_code == 403


@pytest.mark.parametrize(
    ("proto", "status"), [("https", 200), ("HTTPS", 200), ("http", 403), ("https, http", 403)]
)
def test_forwarded_proto_from_a_trusted_proxy_is_believed(
    plain_gateway: TlsGateway, secure_only: str, proto: str, status: int
) -> None:
    # ... a proxy that terminated the client's TLS can.
    with proxy() as client:
        answer = client.get(plain_gateway.url + secure_only, headers={"X-Forwarded-Proto": proto})
    assert answer.status_code == status


def test_signed_requests_are_decided_on_the_same_address(ip_bucket: str, plain_gateway) -> None:
    """An IAM user's identity policy with aws:SourceIp (botocore signs, httpx sends from
    the address chosen)."""
    keys = make_user(
        plain_gateway.client("iam"),
        "from-the-office",
        inline={
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": "s3:ListBucket",
                    "Resource": "arn:aws:s3:::fwd-source-ip",
                    "Condition": {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
                }
            ],
        },
    )

    def signed_list() -> botocore.awsrequest.AWSPreparedRequest:
        raw = botocore.awsrequest.AWSRequest(
            method="GET", url=f"{plain_gateway.url}/fwd-source-ip?list-type=2"
        )
        credentials = botocore.credentials.Credentials(keys.key, keys.secret)
        botocore.auth.S3SigV4Auth(credentials, "s3", "us-east-1").add_auth(raw)
        return raw.prepare()

    prepared = signed_list()
    assert httpx.get(prepared.url, headers=dict(prepared.headers)).status_code == 403
    prepared = signed_list()
    headers = {**dict(prepared.headers), "X-Forwarded-For": CLIENT}
    with proxy() as client:
        assert client.get(prepared.url, headers=headers).status_code == 200
    assert httpx.get(prepared.url, headers=headers).status_code == 403  # forged


def test_forwarded_client_reads_the_forms_proxies_write() -> None:
    trusted = [ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("2001:db8::/32")]
    assert forwarded_client(["203.0.113.7"], trusted) == "203.0.113.7"
    assert forwarded_client(["[2001:db9::1]:443", "10.0.0.1"], trusted) == "2001:db9::1"
    assert forwarded_client(["::ffff:203.0.113.7"], trusted) == "203.0.113.7"
    assert forwarded_client(["203.0.113.7", "2001:db8::5"], trusted) == "203.0.113.7"
    # Only trusted entries: the farthest one known.
    assert forwarded_client(["10.0.0.9", "10.0.0.1"], trusted) == "10.0.0.9"
    assert forwarded_client(["unknown", "10.0.0.1"], trusted) is None
    assert forwarded_client([""], trusted) is None
