"""Failed logins limited per key (a user name, a source address) in a sliding window.

An attempt may start only when, even if it and every attempt still in flight for the
key failed, the key would stay within the limit; otherwise it waits for one to end.
So a burst of concurrent guesses cannot slip past the limit, while concurrent logins
that succeed never wait long and are never refused. Waiters start in the order they
came, and a newcomer queues behind them: with every waiter woken at once, the one
whose client asked again at once would take each free place and the others could wait
out their whole budget. The failures table holds at most
`max_keys` keys, the least recently failed going first: an attacker's many names
cannot grow it without bound (the in-flight table is bounded by what is in flight).
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque

import anyio


class _Waiter:
    """An attempt waiting for its turn; `woken` is set when it should look again."""

    __slots__ = ("woken",)

    def __init__(self) -> None:
        self.woken = anyio.Event()


class FailedLogins:
    """At most `limit` failures per key within `window` seconds."""

    def __init__(self, limit: int, window: float, max_keys: int = 10_000) -> None:
        if limit < 1 or window <= 0 or max_keys < 1:
            raise ValueError("limit, window and max_keys must be positive")
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._failed: OrderedDict[str, deque[float]] = OrderedDict()
        self._in_flight: dict[str, int] = {}
        self._waiting: dict[str, deque[_Waiter]] = {}  # first come, first started

    def __len__(self) -> int:
        return len(self._failed)

    def failures(self, key: str, now: float | None = None) -> int:
        stamps = self._failed.get(key)
        if stamps is None:
            return 0
        now = time.monotonic() if now is None else now
        while stamps and now - stamps[0] >= self.window:
            stamps.popleft()
        if not stamps:
            del self._failed[key]
        return len(stamps)

    def blocked(self, key: str, now: float | None = None) -> bool:
        return self.failures(key, now) >= self.limit

    def try_begin(self, key: str) -> bool | None:
        """`begin` if it need not wait: True (started) or False (over the limit); None
        when it would wait (the key's attempts in flight, or others already waiting)."""
        if self.failures(key) >= self.limit:
            return False
        if key in self._waiting:
            return None
        return self._try_start(key)

    async def begin(self, key: str) -> bool:
        """Start an attempt (True), waiting while attempts in flight could still take the
        key to its limit; False when the key is over the limit (nothing started)."""
        verdict = self.try_begin(key)
        if verdict is not None:
            return verdict
        queue = self._waiting.setdefault(key, deque())
        me = _Waiter()
        queue.append(me)
        try:
            while True:
                if queue[0] is me:
                    verdict = self._try_start(key)
                    if verdict is not None:
                        return verdict
                await me.woken.wait()
                me.woken = anyio.Event()
        finally:
            # Started, refused or cancelled: the next in line looks for itself.
            first = queue[0] is me
            queue.remove(me)
            if not queue:
                self._waiting.pop(key, None)
            elif first:
                queue[0].woken.set()

    def _try_start(self, key: str) -> bool | None:
        """True: started; False: over the limit; None: must wait for an attempt to end."""
        failed = self.failures(key)
        if failed >= self.limit:
            return False
        if failed + self._in_flight.get(key, 0) < self.limit:
            self._in_flight[key] = self._in_flight.get(key, 0) + 1
            return True
        return None

    def end(self, key: str, *, failed: bool, now: float | None = None) -> None:
        """End an attempt that `begin` started; `failed`: count it against the key."""
        left = self._in_flight.pop(key, 1) - 1
        if left > 0:
            self._in_flight[key] = left
        if failed:
            self._record(key, time.monotonic() if now is None else now)
        queue = self._waiting.get(key)
        if queue:
            queue[0].woken.set()

    def fail(self, key: str) -> None:
        """Count a failure against the key outside an attempt (a login the directory
        took but the caller then refused: it must count as a wrong password does)."""
        self._record(key, time.monotonic())

    def clear(self, key: str) -> None:
        """Forget the key's failures (its login has just succeeded)."""
        self._failed.pop(key, None)
        queue = self._waiting.get(key)
        if queue:
            queue[0].woken.set()

    def _record(self, key: str, now: float) -> None:
        stamps = self._failed.pop(key, None) or deque(maxlen=self.limit)
        stamps.append(now)
        self._failed[key] = stamps  # the most recently failed last
        while len(self._failed) > self.max_keys:
            self._failed.popitem(last=False)
