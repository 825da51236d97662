"""The stats writer's settings (`MASKWATCH_STATS__BATCH_SIZE`, `__BLOCK_MS`, `__LINGER_MS`,
`__RETRY_WINDOW_S`)."""

from __future__ import annotations

from pydantic import Field

from maskwatch.consumer import ConsumerSettings


class StatsSettings(ConsumerSettings):
    """How the stats writer reads its stream, and when a check is the same person trying again."""

    batch_size: int = Field(default=256, ge=1, le=1024)
    linger_ms: int = Field(default=250, ge=0, le=10_000)
    """No gate waits on the writer, so it lets a quarter of a second's checks gather and writes them in
    one transaction: 1.0-1.5 ms of its CPU per check at 24-39 checks/s against 3.3-4.5 ms with a
    transaction each, and PostgreSQL's 0.3 against 0.8 ms (docs/sizing.md). The console's live feed
    reads the database every half second, so a check still reaches it within about a second."""
    retry_window_s: float = Field(default=30.0, ge=0, le=3600)
    """A check this soon after a denial at the same gate is the same person trying again: one visitor
    (services/stats/visits.py). Applies to checks written after a change; 0 counts every attempt."""
