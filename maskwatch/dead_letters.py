"""What an operator does with entries a service gave up on: list them, requeue them, drop them.

A consumer moves an entry to `<stream>:dead` when it cannot be decoded or has
failed `max_deliveries` times. Requeueing appends the same kind and data to the
stream it came from (every group reading it sees it again; consumers are
idempotent, so a group that had handled it does nothing twice) and only then
removes it from the dead letters, so a crash in between duplicates, never loses.
"""

from __future__ import annotations

from collections.abc import Sequence

from maskwatch.queue import DeadLetter, WorkQueue
from maskwatch.streams import Stream

LIST_LIMIT = 10_000


async def list_dead(queue: WorkQueue, stream: Stream, *, limit: int = 100) -> list[DeadLetter]:
    return await queue.dead_letters(stream.dead_letters, limit)


async def requeue(queue: WorkQueue, stream: Stream, ids: Sequence[str] | None = None) -> list[DeadLetter]:
    """Put the chosen dead letters (all when `ids` is None) back on `stream`; returns those moved."""
    chosen = await _chosen(queue, stream, ids)
    for letter in chosen:
        await queue.add(stream.key, letter.kind, letter.data, image=letter.image)
        await queue.remove(stream.dead_letters, [letter.id])
    return chosen


async def drop(queue: WorkQueue, stream: Stream, ids: Sequence[str] | None = None) -> list[DeadLetter]:
    """Delete the chosen dead letters (all when `ids` is None) for good; returns those dropped."""
    chosen = await _chosen(queue, stream, ids)
    await queue.remove(stream.dead_letters, [letter.id for letter in chosen])
    return chosen


async def _chosen(queue: WorkQueue, stream: Stream, ids: Sequence[str] | None) -> list[DeadLetter]:
    letters = await queue.dead_letters(stream.dead_letters, LIST_LIMIT)
    if ids is None:
        return letters
    by_id = {letter.id: letter for letter in letters}
    missing = [i for i in ids if i not in by_id]
    if missing:
        raise KeyError(f"no dead letters {', '.join(missing)} in {stream.dead_letters}")
    return [by_id[i] for i in ids]
