"""Sign-in rate limits: failed sign-ins per client address (hard) and per account (soft).

Keyed on (address, email) as it once was, five wrong guesses from a shared
address (an office NAT, a proxy) locked the real user out even with the right
password, and a client choosing its address (`X-Forwarded-For`) dodged the
limit. So there are two counts, each a sliding window of failures:

- per client address, across every account (`login_address_attempts`): beyond
  it the address is refused with 429 before any password is checked. This is
  what bounds guessing. The address is the peer, or what a trusted proxy says
  (services/api/proxies.py); IPv6 counts per /64, which one machine owns whole.
- per account, from every address (`login_attempts`): beyond it further wrong
  passwords answer 429 with `Retry-After` instead of 401, so clients back off
  and the audit log shows the account under attack. It never refuses the right
  password: anyone can trigger it, so a hard lock would let anyone lock anyone
  out. A success clears the account's count.

An attempt takes its slot in the address window before the password is checked
and gives it back on success, so parallel requests cannot all slip under the
limit while the hashes are being computed.

`MemoryWindows` counts in this process (one API process, the embedded setup);
`RedisWindows` counts in Redis, changed atomically by Lua scripts, so every API
replica shares the limits. Both read a clock given to them rather than calling
`time` here, so tests step time instead of sleeping through windows.
"""

from __future__ import annotations

import hashlib
import ipaddress
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from redis import Redis

MAX_MEMORY_KEYS = 100_000
"""Past this many counted keys the memory windows drop the ones whose failures have all expired."""


class Windows(Protocol):
    """Sliding windows of failures, each under a key, holding at most its limit's newest entries."""

    def take(self, key: str, member: str, limit: int, window_s: float, *, force: bool = False) -> float:
        """Count `member` in `key`'s window if it holds fewer than `limit` (always when `force`). Returns
        0 when it had room; otherwise the seconds until it has room again."""
        ...

    def release(self, key: str, member: str) -> None:
        """Take back one entry (an attempt that turned out not to be a failure)."""
        ...

    def clear(self, key: str) -> None: ...

    def close(self) -> None: ...


class MemoryWindows:
    """The windows in this process; the default clock is monotonic."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._entries: dict[str, deque[tuple[float, str]]] = {}
        """Per key, (expiry, member), oldest first."""
        self._lock = threading.Lock()

    def _live(self, key: str, now: float) -> deque[tuple[float, str]]:
        entries = self._entries.setdefault(key, deque())
        while entries and entries[0][0] <= now:
            entries.popleft()
        return entries

    def take(self, key: str, member: str, limit: int, window_s: float, *, force: bool = False) -> float:
        with self._lock:
            now = self._clock()
            entries = self._live(key, now)
            wait = 0.0
            if len(entries) >= limit:
                wait = entries[len(entries) - limit][0] - now
                if not force:
                    return wait
            entries.append((now + window_s, member))
            while len(entries) > limit:
                entries.popleft()
            if len(self._entries) > MAX_MEMORY_KEYS:
                self._entries = {k: v for k, v in self._entries.items() if v and v[-1][0] > now}
            return wait

    def release(self, key: str, member: str) -> None:
        with self._lock:
            entries = self._entries.get(key)
            if entries is None:
                return
            for entry in entries:
                if entry[1] == member:
                    entries.remove(entry)
                    break

    def clear(self, key: str) -> None:
        with self._lock:
            self._entries.pop(key, None)

    def close(self) -> None:
        pass


# KEYS: the window. ARGV: now, member, limit, window seconds, force (1 or 0). Scores are failure times.
_TAKE = """
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[3])
local window = tonumber(ARGV[4])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
local held = redis.call('ZCARD', KEYS[1])
local wait = 0
if held >= limit then
  local oldest = redis.call('ZRANGE', KEYS[1], held - limit, held - limit, 'WITHSCORES')
  wait = tonumber(oldest[2]) + window - now
  if ARGV[5] ~= '1' then return tostring(wait) end
end
redis.call('ZADD', KEYS[1], now, ARGV[2])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -(limit + 1))
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000) + 1000)
return tostring(wait)
"""


class RedisWindows:
    """The windows in Redis under `{prefix}:signin:…`, shared by every API replica.

    The default clock is the wall clock, the one time the replicas share; skew between them only moves
    a failure's expiry by that much.
    """

    def __init__(self, redis_url: str, prefix: str, clock: Callable[[], float] = time.time) -> None:
        self._redis = Redis.from_url(redis_url, socket_timeout=5, socket_connect_timeout=5)
        self._prefix = f"{prefix}:signin:"
        self._clock = clock
        self._take = self._redis.register_script(_TAKE)

    def take(self, key: str, member: str, limit: int, window_s: float, *, force: bool = False) -> float:
        args: list[str | int | float] = [self._clock(), member, limit, window_s, int(force)]
        return float(self._take(keys=[self._prefix + key], args=args))

    def release(self, key: str, member: str) -> None:
        self._redis.zrem(self._prefix + key, member)

    def clear(self, key: str) -> None:
        self._redis.delete(self._prefix + key)

    def close(self) -> None:
        self._redis.close()


def address_key(host: str) -> str:
    """What one client address counts under: an IPv4 address as is (also when IPv4-mapped), an IPv6
    address by its /64, anything else (a test client's name, a Unix socket) verbatim."""
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return f"address:{host}"
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return f"address:{address.ipv4_mapped}"
        return f"address:{ipaddress.IPv6Network((address, 64), strict=False)}"
    return f"address:{address}"


def account_key(email: str) -> str:
    """An account's count, by a digest of its normalized email (short keys, no addresses in Redis)."""
    return "account:" + hashlib.sha256(email.encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Attempt:
    """One sign-in attempt, holding its slot in the address's window until it succeeds or fails."""

    address: str
    member: str
    retry_after_s: float
    """Above 0: the address is over its limit; refuse without checking the password."""


class SignInLimiter:
    def __init__(self, windows: Windows, *, per_address: int, per_account: int, window_s: float) -> None:
        self.windows = windows
        self.per_address = per_address
        self.per_account = per_account
        self.window_s = window_s

    def admit(self, client_host: str) -> Attempt:
        """Take a slot for an attempt from this client; see `Attempt.retry_after_s`."""
        address, member = address_key(client_host), uuid.uuid4().hex
        wait = self.windows.take(address, member, self.per_address, self.window_s)
        return Attempt(address, member, wait)

    def succeeded(self, attempt: Attempt, email: str) -> None:
        """The right password: the attempt was no failure, and the account's failures are forgiven."""
        self.windows.release(attempt.address, attempt.member)
        self.windows.clear(account_key(email))

    def failed(self, attempt: Attempt, email: str) -> float:
        """Count a failure against the account too (the address's slot stays taken). Returns 0, or the
        seconds a client should wait when the account was already over its limit."""
        return self.windows.take(
            account_key(email), attempt.member, self.per_account, self.window_s, force=True
        )

    def close(self) -> None:
        self.windows.close()
