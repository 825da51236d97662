"""The stats writer's settings (`MASKWATCH_STATS__BATCH_SIZE`, `__BLOCK_MS`, `__RETRY_WINDOW_S`)."""

from __future__ import annotations

from pydantic import Field

from maskwatch.consumer import ConsumerSettings


class StatsSettings(ConsumerSettings):
    """How the stats writer reads its stream, and when a check is the same person trying again."""

    batch_size: int = Field(default=256, ge=1, le=1024)
    retry_window_s: float = Field(default=30.0, ge=0, le=3600)
    """A check this soon after a denial at the same gate is the same person trying again: one visitor
    (services/stats/visits.py). Applies to checks written after a change; 0 counts every attempt."""
