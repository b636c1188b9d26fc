"""Failed logins counted per key (a user name, a source address) in a sliding window.

An attempt is counted when it starts (`begin`), so that many attempts in flight at
once cannot all slip under the limit, and taken back (`forgive`) when it did not
fail for the user's fault. The table holds at most `max_keys` keys: the least
recently counted go first, so an attacker's many names cannot grow it without bound.
"""

from __future__ import annotations

import time
from collections import OrderedDict, deque


class FailedLogins:
    """At most `limit` failures per key within `window` seconds."""

    def __init__(self, limit: int, window: float, max_keys: int = 10_000) -> None:
        if limit < 1 or window <= 0 or max_keys < 1:
            raise ValueError("limit, window and max_keys must be positive")
        self.limit = limit
        self.window = window
        self.max_keys = max_keys
        self._stamps: OrderedDict[str, deque[float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._stamps)

    def blocked(self, key: str, now: float | None = None) -> bool:
        stamps = self._stamps.get(key)
        if stamps is None:
            return False
        now = time.monotonic() if now is None else now
        # deque(maxlen=limit): full and its oldest still inside the window -> over the limit.
        return len(stamps) >= self.limit and now - stamps[0] < self.window

    def begin(self, key: str, now: float | None = None) -> float:
        """Count an attempt as failed until told otherwise; its stamp for `forgive`."""
        now = time.monotonic() if now is None else now
        stamps = self._stamps.pop(key, None)
        if stamps is None:
            stamps = deque(maxlen=self.limit)
        while stamps and now - stamps[0] >= self.window:
            stamps.popleft()
        stamps.append(now)
        self._stamps[key] = stamps  # most recently counted last
        while len(self._stamps) > self.max_keys:
            self._stamps.popitem(last=False)
        return now

    def forgive(self, key: str, stamp: float) -> None:
        """Take back one attempt (it succeeded, or the directory did not answer)."""
        stamps = self._stamps.get(key)
        if stamps is None:
            return
        try:
            stamps.remove(stamp)
        except ValueError:
            return
        if not stamps:
            del self._stamps[key]

    def clear(self, key: str) -> None:
        self._stamps.pop(key, None)
