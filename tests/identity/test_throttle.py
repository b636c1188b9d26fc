"""iamgw.identity.throttle.FailedLogins: the window, attempts in flight, bounded memory."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from iamgw.identity.throttle import FailedLogins


def test_failures_are_counted_within_the_window_only() -> None:
    limits = FailedLogins(limit=3, window=60)
    for now in (0.0, 10.0, 20.0):
        limits.end("k", failed=True, now=now)
    assert limits.blocked("k", now=59.0)
    assert not limits.blocked("k", now=60.0)  # the first one has left the window
    assert limits.failures("k", now=80.0) == 0
    assert len(limits) == 0  # an expired key is dropped


def test_success_clears_the_key_and_other_keys_are_apart() -> None:
    limits = FailedLogins(limit=2, window=60)
    limits.end("a", failed=True)
    limits.end("a", failed=True)
    limits.end("b", failed=True)
    assert limits.blocked("a") and not limits.blocked("b")
    limits.clear("a")
    assert not limits.blocked("a")


def test_memory_stays_bounded_however_many_keys() -> None:
    limits = FailedLogins(limit=5, window=60, max_keys=100)
    for i in range(10_000):
        limits.end(f"name-{i}", failed=True)
    assert len(limits) == 100
    assert limits.failures("name-9999") == 1 and limits.failures("name-0") == 0
    for _ in range(50):  # a key keeps at most `limit` stamps
        limits.end("name-9999", failed=True)
    assert limits.failures("name-9999") == 5


def test_attempts_in_flight_wait_instead_of_passing_the_limit() -> None:
    async def run() -> tuple[list[bool], list[str]]:
        limits = FailedLogins(limit=2, window=60)
        order: list[str] = []

        async def attempt(i: int, fails: bool) -> bool:
            if not await limits.begin("k"):
                order.append(f"{i} refused")
                return False
            order.append(f"{i} started")
            await asyncio.sleep(0.01)
            limits.end("k", failed=fails)
            return True

        started = await asyncio.gather(*(attempt(i, fails=True) for i in range(5)))
        return started, order

    started, order = asyncio.run(run())
    assert started == [True, True, False, False, False]
    assert order[:2] == ["0 started", "1 started"]


def test_attempts_that_succeed_all_run() -> None:
    async def run() -> list[bool]:
        limits = FailedLogins(limit=2, window=60)

        async def attempt() -> bool:
            ok = await limits.begin("k")
            await asyncio.sleep(0)
            limits.end("k", failed=False)
            return ok

        return await asyncio.gather(*(attempt() for _ in range(20)))

    assert all(asyncio.run(run()))


def test_waiting_attempts_start_in_the_order_they_came() -> None:
    """A newcomer queues behind the attempts already waiting: were it let in first, a
    client that asks again as soon as it is answered could starve the others."""

    async def run() -> list[str]:
        limits = FailedLogins(limit=1, window=60)
        order: list[str] = []
        assert await limits.begin("k")  # A

        async def waiting() -> None:
            assert await limits.begin("k")
            order.append("B")
            await asyncio.sleep(0)
            limits.end("k", failed=False)

        b = asyncio.create_task(waiting())
        await asyncio.sleep(0)  # B waits for A
        limits.end("k", failed=False)
        assert await limits.begin("k")  # C, at once: after B
        order.append("C")
        limits.end("k", failed=False)
        await b
        return order

    assert asyncio.run(run()) == ["B", "C"]


def test_a_waiter_that_gives_up_leaves_the_line() -> None:
    async def run() -> tuple[bool, int]:
        limits = FailedLogins(limit=1, window=60)
        assert await limits.begin("k")
        with anyio.move_on_after(0.01):
            await limits.begin("k")  # gives up
        later = asyncio.create_task(limits.begin("k"))
        await asyncio.sleep(0)
        limits.end("k", failed=True)  # one failure: the limit of 1 is reached
        refused = await later
        return refused, len(limits._waiting)

    assert asyncio.run(run()) == (False, 0)


@pytest.mark.parametrize("args", [(0, 60), (5, 0), (5, -1)])
def test_limits_must_be_positive(args: tuple[int, float]) -> None:
    with pytest.raises(ValueError):
        FailedLogins(*args)


@pytest.mark.parametrize(
    ("source", "key"),
    [
        ("192.0.2.7", "192.0.2.7"),
        ("2001:db8:1:2:aaaa::1", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff:ffff:ffff:ffff", "2001:db8:1:2::/64"),
        ("::ffff:192.0.2.7", "192.0.2.7"),
        ("not-an-address", "not-an-address"),
    ],
)
def test_ipv6_clients_are_counted_by_their_64(source: str, key: str) -> None:
    from iamgw.identity.ldap import source_key

    assert source_key(source) == key


def test_look_alike_names_share_one_key() -> None:
    from iamgw.identity.ldap import name_key

    spellings = ["alice", "ALICE", " alice ", "ａｌｉｃｅ", "𝐚lice", "ALİCE", "al\u00adice"]
    assert {name_key(s) for s in spellings} == {"alice"}
