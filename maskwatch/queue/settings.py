"""How every service reaches the queue (`MASKWATCH_QUEUE__*`)."""

from __future__ import annotations

from pydantic import BaseModel


class QueueSettings(BaseModel):
    url: str = "memory://"
    """`redis://host:port/db` for Redis Streams, or `memory://` for the in-process queue."""
    prefix: str = "maskwatch"
    claim_idle_ms: int = 30_000
    """An entry held this long by a consumer that stopped answering is handed to another."""
    max_deliveries: int = 5
    """After this many failed deliveries an entry is moved to the dead-letter stream."""
