"""An admin's request to try dead deliveries again, on the `delivery_retries` stream, for the notifier.

The admin API (or `maskwatch notify deliveries retry`) has already made the
deliveries pending again in the database; this message tells the running
notifier to hand them to its runner now. One path on every backend: the rq
workers on Redis, or the notifier's own loop on the embedded defaults, where
the API shares the process's queue.
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, Field

from maskwatch.contracts.common import Message


class DeliveryRetry(Message):
    delivery_ids: list[str] = Field(min_length=1, max_length=10_000)
    at: AwareDatetime
    by_user: int | None = None
    """Who asked (the API's user); None from the command line."""
    via: Literal["api", "cli"]
