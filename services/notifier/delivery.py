"""One delivery attempt, the same whoever runs it (an rq job, or the in-process runner).

Exactly once per delivery key: the status is checked before sending and the
send recorded after, so a repeated job, a redelivered stream entry or a revived
dead letter never sends twice what was already sent. (A crash between a send
and its record can repeat that one send; the webhook's id, the same on every
try, lets a receiver drop it.) Failures are counted in the delivery's row: a
permanent one, or the last allowed try, makes it dead, for an admin to retry.

Before sending, the recipient's rules apply: in its quiet hours, or past its
(or its channel's) rate limit, the delivery is held rather than sent. The next
message that does go out to that recipient claims every held delivery and
carries them all as one digest; each held delivery's own attempt, coming later,
finds itself sent.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import Enum
from typing import Any

import sqlalchemy as sa

from maskwatch import metrics
from maskwatch.database.notifications import (
    DEAD,
    SENT,
    claim,
    claim_held,
    disable_recipient,
    earlier_pending,
    hold,
    load_delivery,
    quiet_hours,
    rate_limit,
    record_failure,
    record_sent,
    release,
)
from maskwatch.snapshots import SnapshotStore
from services.notifier.channels.base import Channel, DeliveryFailed, Notification, Recipient
from services.notifier.rate_limits import MemoryRateLimiter, RateLimiter, Window
from services.notifier.render import render
from services.notifier.settings import RateLimits, RetryPolicy

log = logging.getLogger(__name__)

WAIT_FOR_EARLIER_S = 0.5
"""How soon to look again when an earlier transition of the same alert is still being delivered."""
LONGEST_HOLD_S = 900.0
"""A held delivery looks again at least this often, so changed quiet hours or limits apply soon."""
SHORTEST_HOLD_S = 0.05


def utc_now() -> datetime:
    return datetime.now(UTC)


class Outcome(Enum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    RETRY = "retry"
    DEAD = "dead"
    MISSING = "missing"
    BUSY = "busy"
    """Another attempt holds it right now."""
    HELD = "held"
    """Quiet hours or a rate limit: it goes out later, in a digest, when the recipient may hear again."""


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    retry_in_s: float = 0.0

    @property
    def again(self) -> bool:
        """Whether the delivery needs another attempt after `retry_in_s`."""
        return self.outcome in (Outcome.RETRY, Outcome.HELD)


class Deliverer:
    def __init__(
        self,
        database: sa.Engine,
        channels: dict[str, Channel],
        policy: RetryPolicy,
        snapshots: SnapshotStore | None = None,
        *,
        rate_limits: RateLimits | None = None,
        limiter: RateLimiter | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._database = database
        self._channels = channels
        self._policy = policy
        self._snapshots = snapshots
        self._rate_limits = rate_limits or RateLimits()
        self._limiter = limiter or MemoryRateLimiter()
        self._clock = clock

    def deliver(self, delivery_id: str) -> Attempt:
        now = self._clock()
        with self._database.connect() as connection:
            loaded = load_delivery(connection, delivery_id)
        if loaded is None:
            return Attempt(Outcome.MISSING)
        row, recipient = loaded
        if row.status == SENT:
            return Attempt(Outcome.ALREADY_SENT)
        if row.status == DEAD:
            return Attempt(Outcome.DEAD)
        quiet = quiet_hours(recipient)
        quiet_until = quiet.ends_at(now, recipient.time_zone) if quiet is not None else None
        if quiet_until is not None:
            return self._hold(row, (quiet_until - now).total_seconds(), "quiet hours", now, claimed=False)
        with self._database.begin() as connection:
            earlier = earlier_pending(connection, row)
            if earlier is not None and earlier.held_since is None:
                # Not a failure: its turn comes after the earlier one (a held one goes out with it).
                return Attempt(Outcome.RETRY, WAIT_FOR_EARLIER_S)
            if not claim(connection, delivery_id):
                return Attempt(Outcome.BUSY)
        wait = self._limiter.acquire(self._windows(row.channel, recipient), now.timestamp(), delivery_id)
        if wait > 0:
            return self._hold(row, wait, "rate limit", now)
        with self._database.begin() as connection:
            carried = claim_held(connection, recipient.recipient_id, delivery_id, now)
            if earlier is not None and earlier.delivery_id not in {r.delivery_id for r in carried}:
                # The held earlier transition is out with another attempt right now: after it, then.
                release(connection, [delivery_id, *(r.delivery_id for r in carried)])
                return Attempt(Outcome.RETRY, WAIT_FOR_EARLIER_S)
        batch = sorted([row, *carried], key=lambda r: (r.created_at, r.delivery_id))
        outcome = self._send(row, recipient, batch)
        if outcome.outcome is not Outcome.SENT:
            with self._database.begin() as connection:
                release(connection, [r.delivery_id for r in carried])
        return outcome

    def _windows(self, channel: str, recipient: sa.Row[Any]) -> list[Window]:
        windows = []
        per_channel = self._rate_limits.per_channel.get(channel)
        if per_channel is not None:
            windows.append(Window(f"channel:{channel}", per_channel))
        per_recipient = rate_limit(recipient) or self._rate_limits.per_recipient.get(channel)
        if per_recipient is not None:
            windows.append(Window(f"recipient:{recipient.recipient_id}", per_recipient))
        return windows

    def _hold(
        self, row: sa.Row[Any], wait_s: float, why: str, now: datetime, *, claimed: bool = True
    ) -> Attempt:
        with self._database.begin() as connection:
            hold(connection, row.delivery_id, now, release_claim=claimed)
        if row.held_since is None:
            metrics.NOTIFICATIONS_HELD.labels(row.channel, why).inc()
            log.info(
                "notifier: alert %s %s on %s to recipient %d held (%s) for the next digest",
                row.alert_key,
                row.transition,
                row.channel,
                row.recipient_id,
                why,
            )
        return Attempt(Outcome.HELD, min(LONGEST_HOLD_S, max(SHORTEST_HOLD_S, wait_s)))

    def _send(self, row: sa.Row[Any], recipient: sa.Row[Any], batch: Sequence[sa.Row[Any]]) -> Attempt:
        delivery_id = row.delivery_id
        channel = self._channels.get(row.channel)
        if channel is None:
            return self._failed(
                row, recipient, DeliveryFailed(f"the {row.channel} channel is not configured")
            )
        if len(batch) == 1:
            notification = self._notification(row.notification)
        else:
            items = [self._notification(r.notification, with_snapshot=False) for r in batch]
            notification = dataclasses.replace(items[-1], digest=tuple(items))
        rendered = render(notification, recipient.language, recipient.time_zone)
        target = Recipient(
            recipient_id=recipient.recipient_id,
            address=recipient.address,
            language=recipient.language,
            time_zone=recipient.time_zone,
            secrets=dict(recipient.secrets or {}),
        )
        try:
            answer = channel.send(target, notification, rendered, delivery_id=row.delivery_id)
        except DeliveryFailed as exc:
            return self._failed(row, recipient, exc)
        except Exception as exc:  # a channel's own bug: retried like a network error, and logged
            log.exception("notifier: %s channel failed on delivery %s", row.channel, delivery_id)
            return self._failed(row, recipient, DeliveryFailed(f"{type(exc).__name__}: {exc}"))
        ids = [r.delivery_id for r in batch]
        if len(batch) > 1:
            answer = answer | {"digest": delivery_id, "carried": len(batch)}
        with self._database.begin() as connection:
            record_sent(connection, ids, answer)
        metrics.NOTIFICATIONS_SENT.labels(row.channel).inc()
        sent_at = self._clock()
        for item in notification.digest or (notification,):
            metrics.NOTIFICATION_LATENCY.labels(row.channel).observe(
                max(0.0, (sent_at - item.at).total_seconds())
            )
        if len(batch) > 1:
            log.info(
                "notifier: digest of %d transitions sent on %s to recipient %d",
                len(batch),
                row.channel,
                recipient.recipient_id,
            )
        else:
            log.info(
                "notifier: alert %s %s sent on %s to recipient %d",
                row.alert_key,
                row.transition,
                row.channel,
                recipient.recipient_id,
            )
        return Attempt(Outcome.SENT)

    def _failed(self, row: sa.Row[Any], recipient: sa.Row[Any], failure: DeliveryFailed) -> Attempt:
        dead = failure.permanent or row.attempts + 1 >= self._policy.max_attempts
        with self._database.begin() as connection:
            attempts = record_failure(connection, row.delivery_id, failure.reason, dead=dead)
            if failure.permanent:
                disable_recipient(connection, recipient.recipient_id)
        log.warning(
            "notifier: delivery %s on %s failed (try %d): %s%s",
            row.delivery_id,
            row.channel,
            attempts,
            failure.reason,
            "; dead" if dead else "",
        )
        if dead:
            metrics.NOTIFICATIONS_FAILED.labels(row.channel).inc()
            return Attempt(Outcome.DEAD)
        return Attempt(Outcome.RETRY, self._policy.delay(attempts, failure.retry_after_s))

    def _notification(self, stored: dict[str, Any], *, with_snapshot: bool = True) -> Notification:
        snapshot = None
        name = stored.get("snapshot")
        if with_snapshot and self._snapshots is not None and name:
            path = self._snapshots.path(name)
            snapshot = path.read_bytes() if path is not None else None
        return Notification(
            alert_id=stored["alert_id"],
            transition=stored["transition"],
            kind=stored["kind"],
            site_id=stored["site_id"],
            site_name=stored.get("site_name") or stored["site_id"],
            device_id=stored["device_id"],
            at=datetime.fromisoformat(stored["at"]),
            unmasked_since=datetime.fromisoformat(stored["unmasked_since"])
            if stored.get("unmasked_since")
            else None,
            offline_since=datetime.fromisoformat(stored["offline_since"])
            if stored.get("offline_since")
            else None,
            why=stored.get("why"),
            link=stored.get("link", ""),
            snapshot_jpeg=snapshot,
        )
