"""`Expect: 100-continue`: a denied upload is refused before its body is sent."""

from __future__ import annotations

import socket

from tests.s3.test_attacks import signed


def first_status_line(
    url: str, path: str, headers: dict[str, str], send_body: bytes | None
) -> bytes:
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = f"PUT {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
        sock.sendall(head.encode() + b"\r\n")
        answer = sock.recv(65536)
        first = answer.split(b"\r\n", 1)[0]
        if send_body is not None and b"100" in first:
            sock.sendall(send_body)
            while b"HTTP/1.1 200" not in answer:  # the final answer, after the body
                more = sock.recv(65536)
                if not more:
                    break
                answer += more
        return first


def test_denied_upload_gets_no_100_continue(gateway, root_s3) -> None:
    root_s3.create_bucket(Bucket="expect")
    headers = {
        "Host": gateway.url.removeprefix("http://"),
        "Content-Length": "5",
        "Expect": "100-continue",
    }
    assert first_status_line(gateway.url, "/expect/k", headers, None).startswith(b"HTTP/1.1 403")


def test_allowed_upload_is_invited_to_send(gateway, root_s3) -> None:
    root_s3.create_bucket(Bucket="expect2")
    request = signed(
        "PUT", f"{gateway.url}/expect2/k", body=b"hello", headers={"Expect": "100-continue"}
    )
    headers = {k: v for k, v in request.headers.items()}
    headers["Host"] = gateway.url.removeprefix("http://")
    headers["Content-Length"] = "5"
    first = first_status_line(gateway.url, "/expect2/k", headers, b"hello")
    assert first == b"HTTP/1.1 100 Continue"
    assert root_s3.get_object(Bucket="expect2", Key="k")["Body"].read() == b"hello"
