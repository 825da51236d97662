"""Sliding-window rate limits shared by every delivery worker: per channel and per recipient.

A message takes one slot in each window that applies (the channel's, the
recipient's) or none: a message refused by one window must not use up the
other. Refused, the caller learns how long until a slot frees, and holds the
message for the digest that goes out then.

With Redis each window is a sorted set of send times, changed by one Lua script
so that rq workers in several processes share it atomically; on the embedded
defaults the same arithmetic runs in memory. The clock is passed in rather than
read here (which is why this is not the `limits` package, which reads the wall
clock itself): tests step time instead of sleeping through windows.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from redis import Redis

from maskwatch.notification_rules import RateLimit


@dataclass(frozen=True)
class Window:
    """One rate limit applied to one thing (`channel:sns`, `recipient:42`)."""

    key: str
    limit: RateLimit


class RateLimiter(Protocol):
    def acquire(self, windows: Sequence[Window], now: float, token: str) -> float:
        """Take a slot in every window, or in none. Returns 0 when taken; otherwise the seconds until
        every window has a slot again."""
        ...


class MemoryRateLimiter:
    """The windows in this process: for the embedded setup, whose deliveries all run here."""

    def __init__(self) -> None:
        self._sent: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, windows: Sequence[Window], now: float, token: str) -> float:
        with self._lock:
            wait = 0.0
            for window in windows:
                times = self._sent.setdefault(window.key, deque())
                while times and times[0] <= now - window.limit.per_s:
                    times.popleft()
                if len(times) >= window.limit.count:
                    wait = max(wait, times[len(times) - window.limit.count] + window.limit.per_s - now)
            if wait > 0:
                return wait
            for window in windows:
                self._sent[window.key].append(now)
            return 0.0


# KEYS: the windows. ARGV: now, a unique member, then count and seconds for each window.
_ACQUIRE = """
local now = tonumber(ARGV[1])
local wait = 0
for i, key in ipairs(KEYS) do
  local count = tonumber(ARGV[1 + 2 * i])
  local window = tonumber(ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  local held = redis.call('ZCARD', key)
  if held >= count then
    local freeing = redis.call('ZRANGE', key, held - count, held - count, 'WITHSCORES')
    local w = tonumber(freeing[2]) + window - now
    if w > wait then wait = w end
  end
end
if wait > 0 then return tostring(wait) end
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, math.ceil(tonumber(ARGV[2 + 2 * i]) * 1000) + 1000)
end
return '0'
"""


class RedisRateLimiter:
    """The windows in Redis, under `{prefix}:ratelimit:…`, shared by every worker of the installation."""

    def __init__(self, redis_url: str, prefix: str) -> None:
        self._redis = Redis.from_url(redis_url)
        self._prefix = prefix
        self._script = self._redis.register_script(_ACQUIRE)

    def acquire(self, windows: Sequence[Window], now: float, token: str) -> float:
        if not windows:
            return 0.0
        keys = [f"{self._prefix}:ratelimit:{w.key}" for w in windows]
        args: list[str | float | int] = [now, f"{token}:{now}"]
        for window in windows:
            args += [window.limit.count, window.limit.per_s]
        return float(self._script(keys=keys, args=args))

    def close(self) -> None:
        self._redis.close()
