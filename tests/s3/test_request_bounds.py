"""One reading of every request, and bounded reads before anyone is authenticated
(security findings 3, 4, 5 and the request-parsing part of 9).

- A repeated `Host` (or any header that addresses, frames or authenticates a request)
  is refused: addressing once used the first, the signature the last.
- A signed header sent twice is refused rather than read as its joined values.
- An upper-case payload hash is malformed, not a hash left unverified.
- Heads over 64 KiB and Query bodies over 1 MiB are refused as they arrive: the
  gateway's memory stays flat under such traffic.
- Odd dates and expiry values are AWS errors, never 500s.
"""

from __future__ import annotations

import hashlib
import socket
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import botocore.exceptions
import pytest

from tests.gateway_server import ROOT_KEY, process_rss_mib
from tests.s3.test_attacks import error, send, signed


@pytest.fixture(scope="module")
def bucket(root_s3) -> str:
    root_s3.create_bucket(Bucket="bounds")
    root_s3.put_object(Bucket="bounds", Key="doc", Body=b"original")
    root_s3.create_bucket(Bucket="bounds-other")
    root_s3.put_object(Bucket="bounds-other", Key="doc", Body=b"other original")
    return "bounds"


def raw_request(url: str, head: bytes, body: bytes = b"", timeout: float = 10) -> bytes:
    """Send bytes as they are (clients will not send a second Host) and read the answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as sock:
        sock.sendall(head + body)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
            if b"\r\n\r\n" in answer and b"</Error>" in answer:
                break
        return answer


def head_of(request, extra: list[tuple[str, str]] = (), skip: tuple[str, ...] = ()) -> bytes:
    """The request line and headers of a botocore-signed request, with `extra` first."""
    parts = urlsplit(request.url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    lines = [f"{request.method} {target} HTTP/1.1", *(f"{k}: {v}" for k, v in extra)]
    host_sent = False
    for name, value in request.headers.items():
        if name.lower() in skip:
            continue
        host_sent |= name.lower() == "host"
        lines.append(f"{name}: {value}")
    if not host_sent:
        lines.append(f"Host: {parts.netloc}")
    body = request.body or b""
    lines += [f"Content-Length: {len(body)}", "Connection: close"]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


def test_a_second_host_header_is_refused(gateway, bucket, node) -> None:
    port = urlsplit(gateway.url).port
    request = signed(
        "PUT",
        f"{gateway.url}/doc",
        body=b"overwritten",
        headers={"Host": f"bounds.127.0.0.1:{port}"},
    )
    for extra in ([("Host", f"bounds-other.127.0.0.1:{port}")], [("Host", f"127.0.0.1:{port}")]):
        answer = raw_request(gateway.url, head_of(request, extra), request.body)
        assert answer.startswith(b"HTTP/1.1 400") and b"<Code>InvalidRequest</Code>" in answer
    assert node.get_object(Bucket="bounds", Key="doc")["Body"].read() == b"original"
    assert node.get_object(Bucket="bounds-other", Key="doc")["Body"].read() == b"other original"


def test_a_repeated_signed_header_is_refused(gateway, bucket, node) -> None:
    request = signed(
        "PUT", f"{gateway.url}/bounds/meta", body=b"x", headers={"x-amz-meta-a": "1,2"}
    )
    extra = [("x-amz-meta-a", "1"), ("x-amz-meta-a", "2")]
    answer = raw_request(gateway.url, head_of(request, extra, skip=("x-amz-meta-a",)), b"x")
    assert answer.startswith(b"HTTP/1.1 400") and b"<Code>InvalidRequest</Code>" in answer
    with pytest.raises(botocore.exceptions.ClientError):
        node.head_object(Bucket="bounds", Key="meta")


def test_an_upper_case_payload_hash_is_malformed(gateway, bucket, node) -> None:
    digest = hashlib.sha256(b"the signed body").hexdigest().upper()
    request = signed(
        "PUT", f"{gateway.url}/bounds/doc", body=b"the signed body", payload_hash=digest
    )
    r = send(request, body=b"another body!!!")
    assert r.status_code == 400 and error(r) == "InvalidArgument", r.text
    r = send(request)
    assert r.status_code == 400 and error(r) == "InvalidArgument", r.text
    assert node.get_object(Bucket="bounds", Key="doc")["Body"].read() == b"original"


def test_an_anonymous_payload_hash_is_verified_too(gateway, bucket, node) -> None:
    import httpx

    digest = hashlib.sha256(b"declared").hexdigest()
    r = httpx.put(
        f"{gateway.url}/bounds/anon", content=b"sent", headers={"x-amz-content-sha256": digest}
    )
    assert r.status_code in (400, 403), r.text
    with pytest.raises(botocore.exceptions.ClientError):
        node.head_object(Bucket="bounds", Key="anon")


def test_a_head_over_64_kib_is_refused_as_it_arrives(gateway) -> None:
    head = b"GET /bounds/doc HTTP/1.1\r\nHost: 127.0.0.1\r\nx-big: " + b"a" * (80 << 10)
    answer = raw_request(gateway.url, head)  # never finished: refused before its end
    assert answer.startswith(b"HTTP/1.1 400")
    assert b"<Code>RequestHeaderSectionTooLarge</Code>" in answer


def test_a_head_under_the_limit_is_read(gateway, bucket) -> None:
    r = send(signed("GET", f"{gateway.url}/bounds/doc"), headers={"x-ignored": "a" * 30_000})
    assert r.status_code == 200 and r.content == b"original"


def _stream(url: str, head: bytes, total: int, filler: bytes = b"a" * (1 << 20)) -> bytes:
    """Send `head`, then up to `total` bytes of `filler` again and again; the answer."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=10) as sock:
        sock.sendall(head)
        sent = 0
        try:
            while sent < total:
                sock.sendall(filler)
                sent += len(filler)
        except OSError:
            pass  # refused and closed by the gateway: the point
        answer = b""
        try:
            while chunk := sock.recv(65536):
                answer += chunk
        except OSError:
            pass
        return answer


def test_memory_stays_flat_under_oversized_requests(gateway) -> None:
    """3 heads of 33 MiB, a 150 MiB chunked form and a 300 MiB declared form: each is
    refused while it arrives, and the gateway's (this process's) RSS does not grow."""
    before = process_rss_mib()
    for _ in range(3):
        _stream(gateway.url, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nx-amz-meta-k: ", 33 << 20)
    chunked = (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
    )
    answer = _stream(gateway.url, chunked, 150 << 20, b"100000\r\n" + b"a" * (1 << 20) + b"\r\n")
    assert b"RequestEntityTooLarge" in answer
    declared = (
        b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 314572800\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n\r\n"
    )
    started = time.monotonic()
    answer = _stream(gateway.url, declared, 0)
    assert b"RequestEntityTooLarge" in answer and time.monotonic() - started < 10
    grown_mib = process_rss_mib() - before
    assert grown_mib < 24, f"RSS grew by {grown_mib:.0f} MiB"


@pytest.mark.parametrize(
    ("headers", "query", "code"),
    [
        ({"Date": "Fri, 31 Dec 9999 23:59:59 -0100"}, "", "AccessDenied"),
        ({"Date": "x" * 5000}, "", "AccessDenied"),
        ({}, "X-Amz-Expires=" + "9" * 5000, "AuthorizationQueryParametersError"),
        ({}, "X-Amz-Expires=%C2%B2", "AuthorizationQueryParametersError"),
    ],
)
def test_odd_dates_and_expiries_are_aws_errors(gateway, bucket, headers, query, code) -> None:
    import httpx

    if query:
        now = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        url = (
            f"{gateway.url}/bounds/doc?X-Amz-Algorithm=AWS4-HMAC-SHA256"
            f"&X-Amz-Credential={ROOT_KEY}%2F{now[:8]}%2Fus-east-1%2Fs3%2Faws4_request"
            f"&X-Amz-Date={now}&X-Amz-SignedHeaders=host&X-Amz-Signature={'0' * 64}&{query}"
        )
        r = httpx.get(url)
    else:
        auth = (
            f"AWS4-HMAC-SHA256 Credential={ROOT_KEY}/20261201/us-east-1/s3/aws4_request, "
            f"SignedHeaders=date;host, Signature={'0' * 64}"
        )
        r = httpx.get(
            f"{gateway.url}/bounds/doc",
            headers={**headers, "Authorization": auth, "x-amz-content-sha256": "UNSIGNED-PAYLOAD"},
        )
    assert r.status_code < 500 and error(r) == code, r.text


@pytest.mark.parametrize("length", ["²", "9" * 5000, "-1", " "])
def test_odd_decoded_lengths_are_aws_errors(gateway, bucket, node, length) -> None:
    request = signed(
        "PUT",
        f"{gateway.url}/bounds/chunked-odd",
        body=b"0\r\n\r\n",
        headers={"x-amz-decoded-content-length": length, "content-encoding": "aws-chunked"},
        payload_hash="STREAMING-UNSIGNED-PAYLOAD-TRAILER",
    )
    head = head_of(request)  # as raw bytes: httpx sends ASCII header values only
    answer = raw_request(gateway.url, head, request.body)
    assert answer.startswith(b"HTTP/1.1 400"), answer
    assert b"<Code>InvalidArgument</Code>" in answer or b"<Code>InvalidRequest</Code>" in answer
    with pytest.raises(botocore.exceptions.ClientError):
        node.head_object(Bucket="bounds", Key="chunked-odd")


@pytest.mark.parametrize("path", ["/%01odd", "/odd%00bucket/key", "/bounds/%ED%A0%80"])
def test_echoed_names_keep_the_error_well_formed(gateway, bucket, path) -> None:
    import xml.etree.ElementTree as ET

    import httpx

    r = httpx.get(gateway.url + path)
    assert 400 <= r.status_code < 500, r.text
    assert ET.fromstring(r.content).find("Code") is not None
