"""The notifier's settings (`MASKWATCH_NOTIFIER__*`): where links point, how deliveries are retried."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, BeforeValidator, Field

from maskwatch.consumer import ConsumerSettings
from maskwatch.notification_rules import RateLimit


def _rate(value: object) -> object:
    return RateLimit.parse(value) if isinstance(value, str) else value


RateLimitSetting = Annotated[RateLimit, BeforeValidator(_rate)]
"""A rate limit written as `5/10min` (or as `{"count": 5, "per_s": 600}`)."""

PEOPLE = "6/10min"


class RateLimits(BaseModel):
    """How many messages may go out before the rest are held for a digest.

    Channels that reach people's phones and inboxes default to six messages in
    any ten minutes per recipient: enough for every alert of a normal day, while
    a burst (a crowd walking in unmasked) becomes one digest instead of fifty
    pushes. Webhooks feed machines, which want every event as it happens, so
    they have no limit unless a recipient sets one. A recipient's own
    `rate_limit` overrides its channel's default.
    """

    per_recipient: dict[str, RateLimitSetting] = Field(
        default_factory=lambda: {
            "email": RateLimit.parse(PEOPLE),
            "sns": RateLimit.parse(PEOPLE),
            "fcm": RateLimit.parse(PEOPLE),
            "webpush": RateLimit.parse(PEOPLE),
        }
    )
    """By channel name: the default for each recipient on that channel."""
    per_channel: dict[str, RateLimitSetting] = Field(default_factory=dict)
    """By channel name: for all recipients together (an SMS budget, a provider's quota)."""


class NotifierSettings(ConsumerSettings):
    dashboard_url: str = "http://127.0.0.1:8000"
    """The console as admins reach it: messages link to `{dashboard_url}/alerts/{id}`."""
    retry_intervals_s: list[float] = Field(default=[10, 30, 60, 120, 300, 600], min_length=1, max_length=20)
    """Waits between tries, growing and capped; after the last one the delivery is dead (for an admin)."""
    channels: dict[str, dict[str, object]] = Field(default_factory=dict)
    """Each channel's own settings by name (`webhook`, `email`, `sns`, `fcm`, `webpush`)."""
    rate_limits: RateLimits = Field(default_factory=RateLimits)


class RetryPolicy(BaseModel):
    intervals_s: list[float]

    @property
    def max_attempts(self) -> int:
        return len(self.intervals_s) + 1

    def delay(self, attempts: int, retry_after_s: float | None = None) -> float:
        """How long to wait after `attempts` failed tries: the schedule, or longer if the receiver asked."""
        scheduled = self.intervals_s[min(attempts, len(self.intervals_s)) - 1]
        return max(scheduled, retry_after_s or 0.0)
