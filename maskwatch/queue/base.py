"""The queue interface every service codes against."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from maskwatch.streams import StreamGroup


class QueueUnavailable(ConnectionError):
    """The queue's server cannot be reached; callers back off and retry."""


class GroupMissing(RuntimeError):
    """The consumer group is gone (Redis restarted without its data); the consumer creates it again."""


@dataclass(frozen=True, slots=True)
class Entry:
    id: str
    kind: str
    """Which contract `data` holds, so one stream can carry several (verdicts and rejections)."""
    data: bytes
    deliveries: int
    """1 on first delivery; higher when a consumer died holding it."""
    stream: str = ""
    """The stream it was read from (a consumer may read several)."""
    image: bytes = b""
    """The image of a message that carries one, as raw bytes beside `data` (never base64 inside it)."""


@dataclass(frozen=True, slots=True)
class NewEntry:
    """One entry to append: what `add_many` writes in a single round trip."""

    kind: str
    data: bytes
    image: bytes = b""


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """An entry a consumer gave up on, kept with the reason for an operator to requeue or drop."""

    id: str
    kind: str
    data: bytes
    error: str
    source_id: str
    """Its id in the stream it came from."""
    image: bytes = b""


@dataclass(frozen=True, slots=True)
class QueueDepth:
    length: int
    """Entries in the stream, delivered or not."""
    pending: int
    """Entries delivered to a consumer and not yet acknowledged."""


class WorkQueue(Protocol):
    async def add(
        self, stream: str, kind: str, data: bytes, *, image: bytes = b"", max_length: int | None = None
    ) -> str:
        """Append an entry; with `max_length`, the stream keeps about that many, dropping the oldest."""
        ...

    async def add_many(
        self, stream: str, entries: Sequence[NewEntry], *, max_length: int | None = None
    ) -> list[str]:
        """Append several entries in order, in one round trip to the server (a worker's whole batch)."""
        ...

    async def ensure_group(self, spec: StreamGroup) -> None: ...

    async def read(self, spec: StreamGroup, consumer: str, count: int, block_ms: int) -> list[Entry]:
        """Entries for `consumer`: stale ones reclaimed from dead consumers first, then new ones.

        Waits up to `block_ms` when there is nothing to hand out.
        """
        ...

    async def held_by(self, spec: StreamGroup, consumer: str, count: int) -> list[Entry]:
        """Entries delivered to `consumer` and not acknowledged: what it was doing when it stopped."""
        ...

    async def ack(self, spec: StreamGroup, ids: Sequence[str]) -> None:
        """Acknowledge and delete: an acknowledged entry is never delivered again."""
        ...

    async def dead_letter(self, spec: StreamGroup, dead_stream: str, entry: Entry, error: str) -> None: ...

    async def dead_letters(self, dead_stream: str, count: int) -> list[DeadLetter]:
        """The oldest `count` entries of a dead-letter stream."""
        ...

    async def remove(self, stream: str, ids: Sequence[str]) -> int:
        """Delete entries outright (from a dead-letter stream); returns how many were there."""
        ...

    async def depth(self, spec: StreamGroup) -> QueueDepth: ...

    async def claim(self, claims: Sequence[tuple[str, str]], ttl_s: int) -> list[bool]:
        """First claim wins: each (key, token) sets `key` to `token` for `ttl_s` seconds unless the key
        already holds another token. True where the caller holds the key (just now, or already with the
        same token, as a redelivered entry does), in one round trip. How a check is answered once when
        two analyses of it arrive (a worker killed after publishing, a write retried after a lost reply).
        """
        ...

    async def close(self) -> None: ...
