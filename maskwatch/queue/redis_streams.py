"""Redis Streams with consumer groups: durable, shared by processes and machines.

A stream with one reading group deletes an entry when that group acknowledges
it (XACK + XDEL). A stream that several groups read keeps it until every group
is past it: after each acknowledgement the stream is trimmed (XTRIM MINID) below
the oldest entry any group still holds or has not been given.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from maskwatch.queue.base import DeadLetter, Entry, GroupMissing, NewEntry, QueueDepth, QueueUnavailable
from maskwatch.streams import StreamGroup


@contextmanager
def _translated() -> Iterator[None]:
    """Redis's failures as the queue's own: unreachable (back off and retry), or a group it no longer has
    (Redis restarted without its data, or the stream deleted, even while a consumer waited on it: create
    the group again). Everything else is a bug, raised as is."""
    try:
        yield
    except (RedisConnectionError, RedisTimeoutError) as exc:
        raise QueueUnavailable(str(exc)) from exc
    except ResponseError as exc:
        # UNBLOCKED: the stream was deleted while this consumer waited on it, and its groups with it.
        if str(exc).startswith(("NOGROUP", "UNBLOCKED")):
            raise GroupMissing(str(exc)) from exc
        raise


class RedisStreamQueue:
    def __init__(self, url: str, *, claim_idle_ms: int) -> None:
        self._redis: aioredis.Redis = aioredis.Redis.from_url(url)
        self._claim_idle_ms = claim_idle_ms
        self._last_claim: dict[str, float] = {}

    async def add(
        self, stream: str, kind: str, data: bytes, *, image: bytes = b"", max_length: int | None = None
    ) -> str:
        with _translated():
            entry_id = await self._redis.xadd(
                stream, _fields(kind, data, image), maxlen=max_length, approximate=False
            )
        return _text(entry_id)

    async def add_many(
        self, stream: str, entries: Sequence[NewEntry], *, max_length: int | None = None
    ) -> list[str]:
        """One pipelined round trip (not a transaction: each XADD stands alone, in order)."""
        if not entries:
            return []
        with _translated():
            async with self._redis.pipeline(transaction=False) as pipe:
                for e in entries:
                    pipe.xadd(stream, _fields(e.kind, e.data, e.image), maxlen=max_length, approximate=False)
                ids = await pipe.execute()
        return [_text(i) for i in ids]

    async def ensure_group(self, spec: StreamGroup) -> None:
        """Create this group and every other declared on the stream, so none misses an entry."""
        for group in dict.fromkeys((spec.group, *spec.groups)):
            try:
                with _translated():
                    await self._redis.xgroup_create(spec.stream, group, id="0", mkstream=True)
            except ResponseError as exc:
                if "BUSYGROUP" not in str(exc):
                    raise

    async def read(self, spec: StreamGroup, consumer: str, count: int, block_ms: int) -> list[Entry]:
        with _translated():
            return await self._read(spec, consumer, count, block_ms)

    async def _read(self, spec: StreamGroup, consumer: str, count: int, block_ms: int) -> list[Entry]:
        reclaimed = await self._reclaim(spec, consumer, count)
        if reclaimed:
            return reclaimed
        response = await self._redis.xreadgroup(
            spec.group, consumer, {spec.stream: ">"}, count=count, block=block_ms or None
        )
        entries: list[Entry] = []
        for _stream, items in _stream_items(response):
            entries.extend(_entry(spec, entry_id, fields, 1) for entry_id, fields in items if fields)
        return entries

    async def held_by(self, spec: StreamGroup, consumer: str, count: int) -> list[Entry]:
        with _translated():
            return await self._held_by(spec, consumer, count)

    async def _held_by(self, spec: StreamGroup, consumer: str, count: int) -> list[Entry]:
        response = await self._redis.xreadgroup(spec.group, consumer, {spec.stream: "0"}, count=count)
        entries: list[Entry] = []
        for _stream, items in _stream_items(response):
            for entry_id, fields in items:
                if not fields:
                    await self._redis.xack(spec.stream, spec.group, entry_id)
                    continue
                entries.append(_entry(spec, entry_id, fields, 2))
        return entries

    async def _reclaim(self, spec: StreamGroup, consumer: str, count: int) -> list[Entry]:
        """Take over entries whose consumer went silent for claim_idle_ms (looked for twice per period)."""
        now = time.monotonic()
        if now - self._last_claim.get(spec.stream, 0.0) < self._claim_idle_ms / 2000:
            return []
        self._last_claim[spec.stream] = now
        _next, claimed, *_ = await self._redis.xautoclaim(
            spec.stream, spec.group, consumer, self._claim_idle_ms, start_id="0-0", count=count
        )
        entries = []
        for entry_id, fields in claimed:
            if not fields:  # deleted while pending
                await self._redis.xack(spec.stream, spec.group, entry_id)
                continue
            info = await self._redis.xpending_range(spec.stream, spec.group, entry_id, entry_id, 1)
            deliveries = int(info[0]["times_delivered"]) if info else 2
            entries.append(_entry(spec, entry_id, fields, deliveries))
        return entries

    async def ack(self, spec: StreamGroup, ids: Sequence[str]) -> None:
        if ids:
            with _translated():
                await self._ack(spec, ids)

    async def _ack(self, spec: StreamGroup, ids: Sequence[str]) -> None:
        if spec.shared:
            await self._redis.xack(spec.stream, spec.group, *ids)
            await self._trim_behind_every_group(spec)
            return
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xack(spec.stream, spec.group, *ids)
            pipe.xdel(spec.stream, *ids)
            await pipe.execute()

    async def _trim_behind_every_group(self, spec: StreamGroup) -> None:
        """Delete the entries every group has been given and acknowledged."""
        keep_from: list[tuple[int, int]] = []
        for info in await self._redis.xinfo_groups(spec.stream):
            name = _text(info["name"])
            summary = await self._redis.xpending(spec.stream, name) if int(info["pending"]) else None
            if summary and summary.get("min") is not None:
                keep_from.append(_id_tuple(summary["min"]))
            else:
                # Nothing pending (or all of it acknowledged since XINFO answered): everything delivered
                # up to the group's last id is done.
                ms, seq = _id_tuple(info["last-delivered-id"])
                keep_from.append((ms, seq + 1))
        if keep_from:
            ms, seq = min(keep_from)
            await self._redis.xtrim(spec.stream, minid=f"{ms}-{seq}", approximate=False)

    async def dead_letter(self, spec: StreamGroup, dead_stream: str, entry: Entry, error: str) -> None:
        with _translated():
            await self._dead_letter(spec, dead_stream, entry, error)

    async def _dead_letter(self, spec: StreamGroup, dead_stream: str, entry: Entry, error: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.xadd(
                dead_stream,
                _fields(entry.kind, entry.data, entry.image) | {"error": error, "source_id": entry.id},
            )
            pipe.xack(spec.stream, spec.group, entry.id)
            if not spec.shared:
                pipe.xdel(spec.stream, entry.id)
            await pipe.execute()
        if spec.shared:
            await self._trim_behind_every_group(spec)

    async def dead_letters(self, dead_stream: str, count: int) -> list[DeadLetter]:
        with _translated():
            reply: Any = await self._redis.xrange(dead_stream, count=count)
            items: list[tuple[Any, dict[Any, Any]]] = [(i, f or {}) for i, f in reply or []]
        return [
            DeadLetter(
                id=_text(entry_id),
                kind=_text(fields.get(b"kind", b"")),
                data=bytes(fields.get(b"data", b"")),
                error=_text(fields.get(b"error", b"")),
                source_id=_text(fields.get(b"source_id", b"")),
                image=bytes(fields.get(b"image", b"")),
            )
            for entry_id, fields in items
        ]

    async def remove(self, stream: str, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        with _translated():
            return int(await self._redis.xdel(stream, *ids))

    async def depth(self, spec: StreamGroup) -> QueueDepth:
        with _translated():
            length = await self._redis.xlen(spec.stream)
            try:
                pending = await self._redis.xpending(spec.stream, spec.group)
            except ResponseError:  # no group yet
                return QueueDepth(length=length, pending=0)
        return QueueDepth(length=length, pending=int(pending["pending"]))

    async def claim(self, claims: Sequence[tuple[str, str]], ttl_s: int) -> list[bool]:
        if not claims:
            return []
        keys = [key for key, _ in claims]
        with _translated():
            held = await self._redis.eval(_CLAIM, len(keys), *keys, ttl_s, *(token for _, token in claims))
        return [bool(h) for h in held]

    async def close(self) -> None:
        await self._redis.aclose()


_CLAIM = """
local held = {}
for i, key in ipairs(KEYS) do
  local token = ARGV[i + 1]
  if redis.call('SET', key, token, 'NX', 'EX', ARGV[1]) or redis.call('GET', key) == token then
    held[i] = 1
  else
    held[i] = 0
  end
end
return held
"""
"""SET NX per key, in order, in one script: a later key in the same call already sees an earlier one."""


def _stream_items(response: Any) -> list[tuple[Any, list[tuple[Any, dict[Any, Any]]]]]:
    """XREADGROUP's reply as (stream, [(id, fields)]); redis-py types it loosely."""
    return list(response or [])


def _id_tuple(entry_id: Any) -> tuple[int, int]:
    ms, _, seq = _text(entry_id).partition("-")
    return int(ms), int(seq or 0)


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _fields(kind: str, data: bytes, image: bytes) -> dict[Any, Any]:
    """An entry's fields; the image, when there is one, is a binary field of its own."""
    fields: dict[Any, Any] = {"kind": kind, "data": data}
    if image:
        fields["image"] = image
    return fields


def _entry(spec: StreamGroup, entry_id: Any, fields: dict[Any, Any], deliveries: int) -> Entry:
    kind = fields.get(b"kind", b"")
    data = fields.get(b"data", b"")
    return Entry(
        id=_text(entry_id),
        kind=_text(kind),
        data=bytes(data),
        deliveries=deliveries,
        stream=spec.stream,
        image=bytes(fields.get(b"image", b"")),
    )
