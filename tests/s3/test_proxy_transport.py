"""Retries and failover of the proxy, in process: a fake transport answers for the nodes.

Each node of the fake behaves as told: answers, refuses the connection, answers 5xx or
hangs. The real-node tests of the same behaviour stay (test_upstreams.py,
test_hung_node.py); these check the decisions themselves, without starting servers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from iamgw.errors import ServiceUnavailable
from iamgw.s3 import proxy
from iamgw.s3.proxy import Proxy
from iamgw.s3.upstreams import (
    Body,
    Headers,
    NodeUnreachable,
    Upstream,
    UpstreamPool,
    UpstreamResponse,
)

OK, REFUSE, FAIL, HANG = "ok", "refuse", "fail", "hang"


class FakeResponse:
    def __init__(self, status: int, body: bytes) -> None:
        self.status = status
        self.body = body
        self.content_length: int | None = len(body)
        self.raw_headers = [(b"Content-Length", str(len(body)).encode())]
        self.released = False

    async def read(self) -> bytes:
        return self.body

    async def iter_chunks(self) -> AsyncIterator[bytes]:
        yield self.body

    def release(self) -> None:
        self.released = True

    def close(self) -> None:
        self.released = True


class FakeTransport:
    """Answers for each node (by endpoint) as `behaviour` says; records what was sent."""

    def __init__(self, behaviour: dict[str, str]) -> None:
        self.behaviour = behaviour
        self.sent: list[tuple[str, str]] = []  # (endpoint, method)

    async def send(self, method: str, url: str, headers: Headers, body: Body) -> UpstreamResponse:
        endpoint = next(e for e in self.behaviour if url.startswith(e + "/"))
        self.sent.append((endpoint, method))
        if body is not None and not isinstance(body, bytes):
            async for _ in body:  # the node reads the whole body before it answers
                pass
        what = self.behaviour[endpoint]
        if what == REFUSE:
            raise NodeUnreachable("connection refused") from ConnectionRefusedError()
        if what == HANG:
            await asyncio.sleep(3600)
        if what == FAIL:
            return FakeResponse(500, b"<Error><Code>InternalError</Code></Error>")
        return FakeResponse(200, f"from {endpoint}".encode())

    async def aclose(self) -> None:
        pass


def make_proxy(*behaviours: str, first_byte: float = 10.0) -> tuple[Proxy, FakeTransport]:
    endpoints = [f"http://node{i}" for i in range(len(behaviours))]
    nodes = [Upstream(e, "key", "secret", first_byte_timeout=first_byte) for e in endpoints]
    transport = FakeTransport(dict(zip(endpoints, behaviours, strict=True)))
    return Proxy(UpstreamPool(nodes, transport=transport)), transport


def forward(p: Proxy, method: str = "GET", body: Any = None, **kwargs: Any) -> Any:
    return asyncio.run(p.forward(method, "bucket", "key", [], {}, body, **kwargs))


async def streamed(data: bytes) -> AsyncIterator[bytes]:
    yield data


@pytest.mark.parametrize("method", ["GET", "HEAD", "PUT", "DELETE"])
def test_an_idempotent_request_fails_over_to_the_next_node(method: str) -> None:
    p, transport = make_proxy(REFUSE, OK)
    response = forward(p, method)
    assert (response.status_code, response.body) == (200, b"from http://node1")
    assert transport.sent == [("http://node0", method), ("http://node1", method)]
    assert [n.up for n in p.pool.nodes] == [False, True]


def test_a_non_idempotent_request_answered_5xx_is_not_retried() -> None:
    p, transport = make_proxy(FAIL, OK)
    response = forward(p, "POST", b"<Delete/>")
    assert response.status_code == 500
    assert transport.sent == [("http://node0", "POST")]
    assert [n.up for n in p.pool.nodes] == [True, True]  # left to the health check


def test_a_non_idempotent_request_that_hangs_is_503_and_not_retried(monkeypatch) -> None:
    monkeypatch.setattr(proxy, "SLOW_ANSWER_SECONDS", 0.05)
    p, transport = make_proxy(HANG, OK)
    with pytest.raises(ServiceUnavailable, match="did not answer within 0.05 s"):
        forward(p, "POST", b"<Delete/>")
    assert transport.sent == [("http://node0", "POST")]
    assert [n.up for n in p.pool.nodes] == [True, True]  # slow work is not a dead node


def test_a_streamed_body_already_sent_is_not_sent_again() -> None:
    p, transport = make_proxy(REFUSE, OK)
    with pytest.raises(ServiceUnavailable, match="node0 failed"):
        forward(p, "PUT", streamed(b"data"), content_length=4)
    assert transport.sent == [("http://node0", "PUT")]


def test_a_spooled_body_is_replayed_on_the_next_node() -> None:
    p, transport = make_proxy(REFUSE, OK)
    response = forward(
        p, "PUT", streamed(b"data"), content_length=4, replay=lambda: streamed(b"data")
    )
    assert response.status_code == 200
    assert transport.sent == [("http://node0", "PUT"), ("http://node1", "PUT")]


def test_the_first_byte_timeout_takes_a_silent_node_out() -> None:
    p, transport = make_proxy(HANG, OK, first_byte=0.05)
    response = forward(p, "GET")
    assert response.body == b"from http://node1"
    assert [n.up for n in p.pool.nodes] == [False, True]


def test_a_silent_node_with_nowhere_else_to_go_is_503() -> None:
    p, _ = make_proxy(HANG, first_byte=0.05)
    with pytest.raises(ServiceUnavailable, match="did not answer within 0.05 s"):
        forward(p, "GET")
    assert not p.pool.nodes[0].up


def test_a_5xx_answer_is_retried_on_another_node() -> None:
    p, transport = make_proxy(FAIL, OK)
    response = forward(p, "GET")
    assert response.body == b"from http://node1"
    assert transport.sent == [("http://node0", "GET"), ("http://node1", "GET")]


def test_a_5xx_with_nowhere_else_to_go_is_passed_on() -> None:
    p, _ = make_proxy(FAIL)
    assert forward(p, "GET").status_code == 500


@pytest.mark.parametrize("behaviour", [FAIL, REFUSE, HANG])
def test_the_health_check_takes_a_failing_node_out(monkeypatch, behaviour: str) -> None:
    monkeypatch.setattr("iamgw.s3.upstreams.HEALTH_CHECK_SECONDS", 0.05)
    p, _ = make_proxy(behaviour, OK)
    asyncio.run(p.pool.check())
    assert [n.up for n in p.pool.nodes] == [False, True]


def test_no_node_up_is_503() -> None:
    p, transport = make_proxy(REFUSE, REFUSE)
    with pytest.raises(ServiceUnavailable, match="node1 failed"):
        forward(p, "GET")
    assert [n.up for n in p.pool.nodes] == [False, False]
    with pytest.raises(ServiceUnavailable, match="no storage node is up"):
        forward(p, "GET")
    assert len(transport.sent) == 2  # nothing sent once every node is down
