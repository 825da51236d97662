"""Sign-in rate limit: a sliding window of failed attempts per client address and email.

In-process, so each API process counts on its own; with several processes
behind a load balancer the effective limit is multiplied by their number.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class SlidingWindow:
    def __init__(self, limit: int, window_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window_s = window_s
        self._clock = clock
        self._hits: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: tuple[str, str], now: float) -> deque[float]:
        hits = self._hits.setdefault(key, deque())
        while hits and hits[0] <= now - self.window_s:
            hits.popleft()
        return hits

    def retry_after(self, key: tuple[str, str]) -> float:
        """Seconds until `key` may try again; 0 when it may now."""
        with self._lock:
            now = self._clock()
            hits = self._recent(key, now)
            if len(hits) < self.limit:
                return 0.0
            return max(0.0, hits[0] + self.window_s - now)

    def hit(self, key: tuple[str, str]) -> None:
        with self._lock:
            now = self._clock()
            self._recent(key, now).append(now)
            if len(self._hits) > 100_000:
                self._hits = {k: v for k, v in self._hits.items() if self._recent(k, now)}

    def clear(self, key: tuple[str, str]) -> None:
        with self._lock:
            self._hits.pop(key, None)
