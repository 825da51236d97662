"""An in-process queue with the same semantics as Redis Streams, for a one-machine setup.

Every service must then run in the same process and event loop (the embedded
launcher does that); nothing survives a restart, which is the price of having
no Redis to install.

Like Redis, each consumer group has its own view of a stream (what it has not
been given yet, what it holds unacknowledged); an entry is dropped once every
group declared on its stream has acknowledged it.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from maskwatch.queue.base import DeadLetter, Entry, NewEntry, QueueDepth
from maskwatch.streams import StreamGroup


@dataclass
class _Pending:
    consumer: str
    delivered_at: float
    deliveries: int


@dataclass
class _Group:
    undelivered: dict[str, None]
    """Entry ids in order (a dict: ordered, and O(1) to test and remove)."""
    pending: dict[str, _Pending] = field(default_factory=dict)


@dataclass
class _Stream:
    entries: dict[str, tuple[str, bytes, bytes]] = field(default_factory=dict)
    """(kind, data, image) by id."""
    groups: dict[str, _Group] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)


class MemoryQueue:
    def __init__(self, *, claim_idle_ms: int) -> None:
        self._streams: dict[str, _Stream] = {}
        self._claim_idle_s = claim_idle_ms / 1000
        self._ids = itertools.count(1)
        self._added: dict[str, asyncio.Event] = {}
        self._claims: dict[str, tuple[str, float]] = {}
        """Token and expiry (monotonic) by key."""

    def _stream(self, name: str) -> _Stream:
        return self._streams.setdefault(name, _Stream())

    def _group(self, spec: StreamGroup) -> tuple[_Stream, _Group]:
        stream = self._stream(spec.stream)
        for name in (spec.group, *spec.groups):
            if name not in stream.groups:  # like XGROUP CREATE … 0: a new group sees every entry kept
                stream.groups[name] = _Group(undelivered=dict.fromkeys(stream.entries))
        return stream, stream.groups[spec.group]

    def _new_id(self) -> str:
        return f"{int(time.time() * 1000)}-{next(self._ids)}"

    async def add(
        self, stream: str, kind: str, data: bytes, *, image: bytes = b"", max_length: int | None = None
    ) -> str:
        entry_id = self._new_id()
        target = self._stream(stream)
        target.entries[entry_id] = (kind, data, image)
        for group in target.groups.values():
            group.undelivered[entry_id] = None
        if max_length is not None:
            while len(target.entries) > max_length:  # like XADD MAXLEN: the oldest go, delivered or not
                oldest = next(iter(target.entries))
                del target.entries[oldest]
                for group in target.groups.values():
                    group.undelivered.pop(oldest, None)
                    group.pending.pop(oldest, None)
        self._signal(stream).set()
        return entry_id

    async def add_many(
        self, stream: str, entries: Sequence[NewEntry], *, max_length: int | None = None
    ) -> list[str]:
        return [await self.add(stream, e.kind, e.data, image=e.image, max_length=max_length) for e in entries]

    def _signal(self, stream: str) -> asyncio.Event:
        return self._added.setdefault(stream, asyncio.Event())

    async def ensure_group(self, spec: StreamGroup) -> None:
        self._group(spec)

    async def read(self, spec: StreamGroup, consumer: str, count: int, block_ms: int) -> list[Entry]:
        stream, group = self._group(spec)
        deadline = time.monotonic() + block_ms / 1000
        while True:
            added = self._signal(spec.stream)
            added.clear()  # single-threaded: nothing can be added between this and the look below
            entries = self._reclaim(spec, stream, group, consumer, count) or self._deliver_new(
                spec, stream, group, consumer, count
            )
            remaining = deadline - time.monotonic()
            if entries or remaining <= 0:
                return entries
            try:
                await asyncio.wait_for(added.wait(), timeout=min(remaining, self._claim_idle_s))
            except TimeoutError:
                pass

    async def held_by(self, spec: StreamGroup, consumer: str, count: int) -> list[Entry]:
        stream, group = self._group(spec)
        entries: list[Entry] = []
        for entry_id, pending in group.pending.items():
            if pending.consumer == consumer and len(entries) < count:
                pending.deliveries += 1
                pending.delivered_at = time.monotonic()
                kind, data, image = stream.entries[entry_id]
                entries.append(Entry(entry_id, kind, data, pending.deliveries, spec.stream, image))
        return entries

    def _reclaim(
        self, spec: StreamGroup, stream: _Stream, group: _Group, consumer: str, count: int
    ) -> list[Entry]:
        now = time.monotonic()
        entries: list[Entry] = []
        for entry_id, pending in list(group.pending.items()):
            if len(entries) >= count:
                break
            if now - pending.delivered_at >= self._claim_idle_s:
                pending.consumer, pending.delivered_at = consumer, now
                pending.deliveries += 1
                kind, data, image = stream.entries[entry_id]
                entries.append(Entry(entry_id, kind, data, pending.deliveries, spec.stream, image))
        return entries

    def _deliver_new(
        self, spec: StreamGroup, stream: _Stream, group: _Group, consumer: str, count: int
    ) -> list[Entry]:
        taken = list(itertools.islice(group.undelivered, count))
        now = time.monotonic()
        entries: list[Entry] = []
        for entry_id in taken:
            del group.undelivered[entry_id]
            group.pending[entry_id] = _Pending(consumer, now, 1)
            kind, data, image = stream.entries[entry_id]
            entries.append(Entry(entry_id, kind, data, 1, spec.stream, image))
        return entries

    async def ack(self, spec: StreamGroup, ids: Sequence[str]) -> None:
        stream, group = self._group(spec)
        for entry_id in ids:
            if group.pending.pop(entry_id, None) is not None:
                self._drop_if_done(stream, entry_id)

    @staticmethod
    def _drop_if_done(stream: _Stream, entry_id: str) -> None:
        """Forget an entry once no group has it waiting or held (what trimming does on Redis)."""
        if not any(entry_id in g.pending or entry_id in g.undelivered for g in stream.groups.values()):
            stream.entries.pop(entry_id, None)

    async def dead_letter(self, spec: StreamGroup, dead_stream: str, entry: Entry, error: str) -> None:
        dead = self._stream(dead_stream)
        dead_id = self._new_id()
        dead.entries[dead_id] = (entry.kind, entry.data, entry.image)
        dead.errors[dead_id] = error
        dead.sources[dead_id] = entry.id
        await self.ack(spec, [entry.id])

    async def dead_letters(self, dead_stream: str, count: int) -> list[DeadLetter]:
        dead = self._stream(dead_stream)
        return [
            DeadLetter(
                entry_id, kind, data, dead.errors.get(entry_id, ""), dead.sources.get(entry_id, ""), image
            )
            for entry_id, (kind, data, image) in list(dead.entries.items())[:count]
        ]

    async def remove(self, stream: str, ids: Sequence[str]) -> int:
        target = self._stream(stream)
        removed = 0
        for entry_id in ids:
            if target.entries.pop(entry_id, None) is not None:
                removed += 1
                target.errors.pop(entry_id, None)
                target.sources.pop(entry_id, None)
                for group in target.groups.values():
                    group.undelivered.pop(entry_id, None)
                    group.pending.pop(entry_id, None)
        return removed

    async def depth(self, spec: StreamGroup) -> QueueDepth:
        stream, group = self._group(spec)
        return QueueDepth(length=len(stream.entries), pending=len(group.pending))

    async def claim(self, claims: Sequence[tuple[str, str]], ttl_s: int) -> list[bool]:
        now = time.monotonic()
        for key, (_, expires) in list(self._claims.items()):  # oldest first: stop at the first alive
            if expires > now:
                break
            del self._claims[key]
        answer = []
        for key, token in claims:
            held = self._claims.get(key)
            if held is None or held[1] <= now:
                self._claims.pop(key, None)  # re-inserted last, so the dict stays in expiry order
                self._claims[key] = held = (token, now + ttl_s)
            answer.append(held[0] == token)
        return answer

    async def close(self) -> None:
        return None
