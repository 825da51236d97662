"""Work queues between services: Redis Streams in production, an in-process twin for one machine.

Both give the same guarantees, checked by one shared test suite: an entry stays
pending until it is acknowledged, an entry held too long by a silent consumer
is redelivered, and an entry that keeps failing goes to a dead-letter stream.
"""

from maskwatch.queue.base import (
    DeadLetter,
    Entry,
    GroupMissing,
    NewEntry,
    QueueDepth,
    QueueUnavailable,
    WorkQueue,
)
from maskwatch.queue.factory import open_queue
from maskwatch.queue.settings import QueueSettings

__all__ = [
    "DeadLetter",
    "Entry",
    "GroupMissing",
    "NewEntry",
    "QueueDepth",
    "QueueSettings",
    "QueueUnavailable",
    "WorkQueue",
    "open_queue",
]
