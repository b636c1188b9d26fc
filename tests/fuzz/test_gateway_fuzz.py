"""Hostile requests against a started gateway and a real node (security issue: fuzz suite).

Properties, for every generated request:
- the answer is never a 5xx other than 501 (not implemented) and 503 (unavailable);
- without a valid signature and an allowing decision nothing changes: not the node's
  buckets and objects, not the IAM store (its generation counter);
- the gateway's memory stays bounded, and no secret, token or signature reaches a log
  line or the audit log.
The budget is set in conftest.py (`IAMGW_FUZZ_EXAMPLES`).
"""

from __future__ import annotations

import json
import os
import socket
from collections import Counter
from urllib.parse import urlsplit

import pytest
from botocore.auth import S3SigV4Auth, SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from hypothesis import given
from hypothesis import strategies as st

from tests.fuzz import strategies as fs
from tests.fuzz.conftest import FUZZ, FuzzTarget
from tests.gateway_server import ROOT_KEY, ROOT_SECRET, process_rss_mib
from tests.policy.policy_helpers import parse_or_malformed

ALLOWED_5XX = {501, 503}
VERBOSE = bool(os.environ.get("IAMGW_FUZZ_VERBOSE"))  # print every request and its answer


def send_raw(
    url: str, method: str, target: str, headers: list[tuple[str, str]], body: bytes = b""
) -> int | None:
    """Send exactly these bytes (repeated and lying headers included); the status, or
    None when the gateway closed the connection without an answer."""
    parts = urlsplit(url)
    names = {n.lower() for n, _ in headers}
    lines = [f"{method} {target} HTTP/1.1"]
    if "host" not in names:
        lines.append(f"Host: {parts.netloc}")
    lines += [f"{n}: {v}" for n, v in headers]
    if "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    lines.append("Connection: close")
    data = ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", "surrogateescape") + body
    with socket.create_connection((parts.hostname, parts.port), timeout=20) as sock:
        sock.sendall(data)
        if "content-length" in names:
            # A length of the fuzzer's may lie: the body ends here, not at a timeout (the
            # gateway may then see a client that went away, and answer nothing).
            sock.shutdown(socket.SHUT_WR)
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    status = int(answer[9:12]) if answer.startswith(b"HTTP/1.1 ") else None
    if VERBOSE:
        code = (
            answer[answer.find(b"<Code>") + 6 : answer.find(b"</Code>")]
            if b"<Code>" in answer
            else b""
        )
        print(status, code.decode(), method, target[:120], headers[:6])
    return status


def check_status(target: FuzzTarget, test: str, status: int | None, what: str) -> None:
    target.statuses.setdefault(test, Counter())[status] += 1
    assert status is None or status < 500 or status in ALLOWED_5XX, f"{status} for {what}"


def _signed(
    target: FuzzTarget,
    method: str,
    path: str,
    query: str,
    headers,
    body: bytes,
    key: str,
    secret: str,
    service: str = "s3",
) -> tuple[str, list[tuple[str, str]]]:
    """botocore's signature over a request; returns the wire target and headers."""
    url = target.gateway.url + path + (f"?{query}" if query else "")
    extra = {n: v for n, v in headers if n not in ("host", "authorization")}
    request = AWSRequest(method=method, url=url, data=body, headers=extra)
    signer = S3SigV4Auth if service == "s3" else SigV4Auth
    try:
        signer(Credentials(key, secret), service, "us-east-1").add_auth(request)
    except (ValueError, UnicodeError):
        return path + (f"?{query}" if query else ""), list(headers)  # unsignable: send as is
    target.signatures.add(request.headers["Authorization"].rsplit("Signature=", 1)[-1])
    parts = urlsplit(request.url)
    wire = parts.path + (f"?{parts.query}" if parts.query else "")
    return wire, [(n, str(v)) for n, v in request.headers.items()]


# Any request line, headers and body, as a client or an attacker could send them.
RAW_REQUEST = {"method": fs.methods, "path": fs.raw_paths, "query": fs.raw_queries,
               "headers": fs.headers, "body": fs.bodies}  # fmt: skip


@pytest.fixture(scope="module")
def baseline(target: FuzzTarget):
    return {
        "rss": process_rss_mib(),
        "node": target.node_state(),
        "generation": target.generation(),
    }


@FUZZ
@given(**RAW_REQUEST)
def test_unsigned_and_forged_requests_change_nothing(
    target, baseline, method, path, query, headers, body
) -> None:
    wire = path + (f"?{query}" if query else "")
    status = send_raw(target.gateway.url, method, wire, headers, body)
    check_status(target, "unsigned", status, f"{method} {wire}")


@FUZZ
@given(**RAW_REQUEST)
def test_signed_requests_of_a_reader_change_nothing(
    target, baseline, method, path, query, headers, body
) -> None:
    """Correctly signed by a user allowed only to read: whatever the request says, the
    node does not change."""
    wire, sent = _signed(
        target, method, path, query, headers, body, target.reader_key, target.reader_secret
    )
    status = send_raw(target.gateway.url, method, wire, sent, body)
    check_status(target, "reader", status, f"{method} {wire}")


def test_the_node_did_not_change(target, baseline) -> None:
    assert target.node_state() == baseline["node"]
    # The reader's requests were authenticated and decided (some allowed, some denied),
    # so the property above was tested past the signature check.
    reader = target.statuses["reader"]
    assert reader[200] > 0 and reader[403] > 0, reader


@FUZZ
@given(
    body=fs.query_bodies(),
    how=st.sampled_from(["unsigned", "iam", "sts"]),
    headers=st.lists(
        st.tuples(
            st.sampled_from(["x-amz-content-sha256", "x-amz-security-token", "content-type"]),
            fs._VALUES,
        ),
        max_size=2,
    ),
)
def test_query_calls_without_permission_change_nothing(
    target, baseline, body, how, headers
) -> None:
    form = [("Content-Type", "application/x-www-form-urlencoded")]
    if how == "unsigned":
        wire, sent = "/", form + headers
    else:
        wire, sent = _signed(
            target,
            "POST",
            "/",
            "",
            form + headers,
            body,
            target.reader_key,
            target.reader_secret,
            service=how,
        )
    status = send_raw(target.gateway.url, "POST", wire, sent, body)
    check_status(target, f"query-{how}", status, body[:80].decode())


def test_the_store_did_not_change(target, baseline) -> None:
    assert target.generation() == baseline["generation"]


@FUZZ
@given(body=fs.query_bodies())
def test_root_query_calls_are_answered_without_5xx(target, baseline, body) -> None:
    """Root may change the store; whatever it sends is still answered with an AWS error
    or a result, never a failure of the gateway."""
    form = [("Content-Type", "application/x-www-form-urlencoded")]
    wire, sent = _signed(target, "POST", "/", "", form, body, ROOT_KEY, ROOT_SECRET, "iam")
    status = send_raw(target.gateway.url, "POST", wire, sent, body)
    check_status(target, "query-root", status, body[:80].decode())


@FUZZ
@given(text=fs.policy_texts, kind=st.sampled_from(["identity", "resource", "trust"]))
def test_policy_documents_parse_or_are_malformed(text, kind) -> None:
    """The library's only failure for any document is MalformedPolicyDocument."""
    parse_or_malformed(text, kind)


@FUZZ
@given(text=fs.policy_texts)
def test_policy_documents_through_iam(target, baseline, text) -> None:
    body = "&".join(
        f"{n}={fs._encode(v)}"
        for n, v in [
            ("Action", "CreatePolicy"),
            ("Version", "2010-05-08"),
            ("PolicyName", "fuzzed"),
            ("PolicyDocument", text),
        ]
    ).encode()
    form = [("Content-Type", "application/x-www-form-urlencoded")]
    wire, sent = _signed(target, "POST", "/", "", form, body, ROOT_KEY, ROOT_SECRET, "iam")
    status = send_raw(target.gateway.url, "POST", wire, sent, body)
    check_status(target, "policy-iam", status, text[:80])
    if status == 200:
        target.gateway.repo.delete_policy(f"arn:aws:iam::{target.gateway.account_id}:policy/fuzzed")


def test_memory_stayed_bounded(target, baseline) -> None:
    grown = process_rss_mib() - baseline["rss"]
    assert grown < 64, f"RSS grew by {grown:.0f} MiB during the fuzz suite"


def test_no_secret_reached_a_log_or_the_audit(target, baseline) -> None:
    text = "\n".join(target.logs.lines) + "\n" + target.audit_text()
    assert text.strip(), "nothing was logged or audited: the check would prove nothing"
    for secret in [*target.secrets, *target.signatures]:
        assert secret not in text, "a secret, token or signature reached a log line"
    for line in target.audit_text().splitlines():
        record = json.loads(line)
        assert "?" not in record.get("path", ""), "a query string reached the audit log"


def test_report(target) -> None:
    """The answers the suite got (shown with `pytest -s`): proof of where requests went."""
    assert target.statuses
    for test, counts in sorted(target.statuses.items()):
        print(f"{test:12} " + ", ".join(f"{s}: {n}" for s, n in sorted(counts.items(), key=str)))
