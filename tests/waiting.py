"""Waiting for something to happen: poll a condition instead of sleeping a fixed time, so
a test goes on as soon as the thing happened and still passes on a slow machine."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")


def wait_until(
    condition: Callable[[], T], timeout: float = 10, interval: float = 0.05, what: str = ""
) -> T:
    """The first true value of `condition()`, polled every `interval` seconds; fails the
    test when `timeout` seconds pass first (the condition is tried once more at the end)."""
    deadline = time.monotonic() + timeout
    while True:
        last = time.monotonic() >= deadline
        value = condition()
        if value:
            return value
        if last:
            raise AssertionError(f"not within {timeout:g} s: {what or condition}")
        time.sleep(interval)


def next_whole_second() -> int:
    """Wait for the wall clock's next whole second, and return it (epoch seconds).

    Session tokens carry their issue time (`iat`) in whole seconds: a session issued
    from then on is issued after anything that happened before the call.
    """
    second = math.floor(time.time()) + 1
    wait_until(lambda: time.time() >= second, timeout=2, interval=0.01, what="the next second")
    return second
