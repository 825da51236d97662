"""The rules a notification recipient sets: how severe an alert must be, when to be quiet, how often to hear.

They live on the shared floor because two services read them: the admin API
checks what an admin (or a user registering their phone) sends, and the
notifier applies them. Each is a value with one job:

- `Severity`: every alert kind has one; a recipient hears of alerts at or above
  its `min_severity` (a night guard may want only a gate gone offline).
- `QuietHours`: a daily span in the recipient's own time zone during which
  messages are held; when it ends, what was held arrives as one digest.
- `RateLimit`: at most `count` messages in any `per_s` seconds; beyond that the
  messages are held and the next one out carries them all (a burst of fifty
  alerts is one digest, not fifty pushes).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from enum import IntEnum
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, model_validator

from maskwatch.contracts.alert_transition import AlertKind


class Severity(IntEnum):
    INFO = 10
    WARNING = 20
    CRITICAL = 30

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Severity:
        try:
            return cls[value.upper()]
        except KeyError as exc:
            raise ValueError(f"a severity is one of {', '.join(s.label for s in cls)}") from exc


SEVERITY_LABELS = tuple(s.label for s in Severity)

SEVERITY_OF_KIND: dict[AlertKind, Severity] = {
    AlertKind.UNMASKED: Severity.WARNING,
    AlertKind.DEVICE_OFFLINE: Severity.CRITICAL,
    # A gate that cannot check anyone stops the venue's entrance; one unmasked person does not.
}


def severity_of(kind: str) -> Severity:
    """An alert kind's severity; a kind this build does not know is a warning (heard by default)."""
    try:
        return SEVERITY_OF_KIND[AlertKind(kind)]
    except ValueError:
        return Severity.WARNING


HOUR_MINUTE = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


def _clock_time(value: str) -> time:
    match = HOUR_MINUTE.match(value)
    if match is None:
        raise ValueError(f"{value!r} is not a time of day as HH:MM (00:00 to 23:59)")
    return time(int(match.group(1)), int(match.group(2)))


def zone_or_utc(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


class QuietHours(BaseModel):
    """From `start` to `end` every day, local time; `end` before `start` spans midnight (22:00-07:00)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    start: str = Field(description="HH:MM, local time, when the quiet begins", examples=["22:00"])
    end: str = Field(description="HH:MM, local time, when the held messages go out", examples=["07:00"])

    @model_validator(mode="after")
    def _times(self) -> QuietHours:
        if _clock_time(self.start) == _clock_time(self.end):
            raise ValueError("quiet hours that start when they end would never end; leave them unset")
        return self

    def ends_at(self, now: datetime, time_zone: str) -> datetime | None:
        """When the quiet span holding `now` ends (in UTC), or None when `now` is not quiet."""
        zone = zone_or_utc(time_zone)
        local = now.astimezone(zone)
        start, end = _clock_time(self.start), _clock_time(self.end)
        today = local.date()
        for day in (today - timedelta(days=1), today):  # the span that began yesterday may still run
            begins = datetime.combine(day, start, tzinfo=zone)
            ends = datetime.combine(day if end > start else day + timedelta(days=1), end, tzinfo=zone)
            if begins <= local < ends:
                return ends.astimezone(UTC)
        return None


DURATION_UNITS = {"s": 1, "sec": 1, "min": 60, "m": 60, "h": 3600, "d": 86400}
RATE = re.compile(r"^\s*(\d+)\s*/\s*(\d*)\s*(s|sec|min|m|h|d)\s*$")


class RateLimit(BaseModel):
    """At most `count` messages in any window of `per_s` seconds (a sliding window, not a calendar one)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    count: int = Field(ge=1, le=10_000)
    per_s: float = Field(gt=0, le=7 * 86400)

    @classmethod
    def parse(cls, text: str) -> RateLimit:
        """`5/10min`, `1/h`, `20/s`: a count, a slash, a span (s, min, h or d, with an optional number)."""
        match = RATE.match(text)
        if match is None:
            raise ValueError(f"{text!r} is not a rate such as 5/10min, 1/h or 20/s")
        count, amount, unit = match.groups()
        return cls(count=int(count), per_s=(int(amount) if amount else 1) * DURATION_UNITS[unit])

    def __str__(self) -> str:
        for unit, seconds in (("d", 86400), ("h", 3600), ("min", 60), ("s", 1)):
            if self.per_s >= seconds and self.per_s % seconds == 0:
                amount = int(self.per_s // seconds)
                return f"{self.count}/{'' if amount == 1 else amount}{unit}"
        return f"{self.count}/{self.per_s:g}s"
