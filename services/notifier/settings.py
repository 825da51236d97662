"""The notifier's settings (`MASKWATCH_NOTIFIER__*`): where links point, how deliveries are retried."""

from __future__ import annotations

from pydantic import BaseModel, Field

from maskwatch.consumer import ConsumerSettings


class NotifierSettings(ConsumerSettings):
    dashboard_url: str = "http://127.0.0.1:8000"
    """The console as admins reach it: messages link to `{dashboard_url}/alerts/{id}`."""
    retry_intervals_s: list[float] = Field(default=[10, 30, 60, 120, 300, 600], min_length=1, max_length=20)
    """Waits between tries, growing and capped; after the last one the delivery is dead (for an admin)."""
    channels: dict[str, dict[str, object]] = Field(default_factory=dict)
    """Each channel's own settings by name (`webhook`, `email`, `sns`, `fcm`, `webpush`)."""


class RetryPolicy(BaseModel):
    intervals_s: list[float]

    @property
    def max_attempts(self) -> int:
        return len(self.intervals_s) + 1

    def delay(self, attempts: int, retry_after_s: float | None = None) -> float:
        """How long to wait after `attempts` failed tries: the schedule, or longer if the receiver asked."""
        scheduled = self.intervals_s[min(attempts, len(self.intervals_s)) - 1]
        return max(scheduled, retry_after_s or 0.0)
