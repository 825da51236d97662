"""One delivery attempt, the same whoever runs it (an rq job, or the in-process runner).

Exactly once per delivery key: the status is checked before sending and the
send recorded after, so a repeated job, a redelivered stream entry or a revived
dead letter never sends twice what was already sent. (A crash between a send
and its record can repeat that one send; the webhook's id, the same on every
try, lets a receiver drop it.) Failures are counted in the delivery's row: a
permanent one, or the last allowed try, makes it dead, for an admin to retry.
"""

from __future__ import annotations

import logging
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
    disable_recipient,
    earlier_pending,
    load_delivery,
    record_failure,
    record_sent,
)
from maskwatch.snapshots import SnapshotStore
from services.notifier.channels.base import Channel, DeliveryFailed, Notification, Recipient
from services.notifier.render import render
from services.notifier.settings import RetryPolicy

log = logging.getLogger(__name__)

WAIT_FOR_EARLIER_S = 0.5
"""How soon to look again when an earlier transition of the same alert is still being delivered."""


class Outcome(Enum):
    SENT = "sent"
    ALREADY_SENT = "already_sent"
    RETRY = "retry"
    DEAD = "dead"
    MISSING = "missing"
    BUSY = "busy"
    """Another attempt holds it right now."""


@dataclass(frozen=True)
class Attempt:
    outcome: Outcome
    retry_in_s: float = 0.0


class Deliverer:
    def __init__(
        self,
        database: sa.Engine,
        channels: dict[str, Channel],
        policy: RetryPolicy,
        snapshots: SnapshotStore | None = None,
    ) -> None:
        self._database = database
        self._channels = channels
        self._policy = policy
        self._snapshots = snapshots

    def deliver(self, delivery_id: str) -> Attempt:
        with self._database.connect() as connection:
            loaded = load_delivery(connection, delivery_id)
        if loaded is None:
            return Attempt(Outcome.MISSING)
        row, recipient = loaded
        if row.status == SENT:
            return Attempt(Outcome.ALREADY_SENT)
        if row.status == DEAD:
            return Attempt(Outcome.DEAD)
        with self._database.begin() as connection:
            if earlier_pending(connection, row):  # not a failure: its turn comes after the earlier one
                return Attempt(Outcome.RETRY, WAIT_FOR_EARLIER_S)
            if not claim(connection, delivery_id):
                return Attempt(Outcome.BUSY)
        channel = self._channels.get(row.channel)
        if channel is None:
            return self._failed(
                row, recipient, DeliveryFailed(f"the {row.channel} channel is not configured")
            )
        notification = self._notification(row.notification)
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
        with self._database.begin() as connection:
            record_sent(connection, delivery_id, answer)
        metrics.NOTIFICATIONS_SENT.labels(row.channel).inc()
        metrics.NOTIFICATION_LATENCY.labels(row.channel).observe(
            max(0.0, (datetime.now(UTC) - notification.at).total_seconds())
        )
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

    def _notification(self, stored: dict[str, Any]) -> Notification:
        snapshot = None
        name = stored.get("snapshot")
        if self._snapshots is not None and name:
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
