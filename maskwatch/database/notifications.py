"""Notification recipients and deliveries: who hears of an alert, and what was sent to whom.

A delivery is one transition of one alert for one recipient on one channel,
keyed so that however often the transition arrives (a redelivered stream entry,
a re-run job) it exists once, and its status says whether it was sent: checked
before sending, recorded after.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from maskwatch.database.schema import deliveries, notification_recipients, user_sites, users
from maskwatch.notification_rules import QuietHours, RateLimit, Severity, severity_of

PENDING, SENT, DEAD = "pending", "sent", "dead"
REGISTERED_BY = "registered_by"
"""In a recipient's secrets: the user who registered their own device (a browser, a phone)."""


def add_recipient(
    engine: sa.Engine,
    *,
    site_id: str,
    channel: str,
    address: str,
    language: str = "en",
    time_zone: str = "UTC",
    secrets: dict[str, str] | None = None,
    kinds: Sequence[str] = (),
    min_severity: Severity = Severity.INFO,
    quiet_hours: QuietHours | None = None,
    rate_limit: RateLimit | None = None,
) -> int:
    with engine.begin() as connection:
        recipient_id = connection.execute(
            sa.insert(notification_recipients)
            .values(
                site_id=site_id,
                channel=channel,
                address=address,
                language=language,
                time_zone=time_zone,
                secrets=secrets or {},
                kinds=list(kinds),
                min_severity=min_severity.label,
                quiet_hours=quiet_hours.model_dump() if quiet_hours else None,
                rate_limit=str(rate_limit) if rate_limit else None,
                enabled=True,
                created_at=datetime.now(UTC),
            )
            .returning(notification_recipients.c.recipient_id)
        ).scalar_one()
    return int(recipient_id)


def recipients_for(connection: sa.Connection, site_id: str, kind: str) -> list[sa.Row[Any]]:
    """The enabled recipients of a site who hear of `kind` alerts (their kinds, and at least their least
    severity). A user's own phone or browser hears only while that user may still see the site: removing
    a user, or a site from them, silences it."""
    rows = connection.execute(
        sa.select(notification_recipients).where(
            notification_recipients.c.site_id == site_id, notification_recipients.c.enabled.is_(True)
        )
    ).all()
    severity = severity_of(kind)
    hearing = [row for row in rows if (not row.kinds or kind in row.kinds) and severity >= min_severity(row)]
    owners = {owner for row in hearing if (owner := registered_by(row)) is not None}
    if not owners:
        return hearing
    allowed = _users_seeing(connection, owners, site_id)
    return [row for row in hearing if (owner := registered_by(row)) is None or owner in allowed]


def min_severity(row: sa.Row[Any]) -> Severity:
    try:
        return Severity.parse(str(row.min_severity or "info"))
    except ValueError:  # written by a newer build: hear everything rather than miss an alert
        return Severity.INFO


def quiet_hours(row: sa.Row[Any]) -> QuietHours | None:
    """The recipient's quiet hours, if set (and readable: a damaged value holds nothing back)."""
    if not isinstance(row.quiet_hours, dict):
        return None
    try:
        return QuietHours.model_validate(row.quiet_hours)
    except ValueError:
        return None


def rate_limit(row: sa.Row[Any]) -> RateLimit | None:
    """The recipient's own rate limit, if set."""
    try:
        return RateLimit.parse(row.rate_limit) if row.rate_limit else None
    except ValueError:
        return None


def registered_by(row: sa.Row[Any]) -> int | None:
    """The user whose own device this recipient is, if it is one."""
    secrets = row.secrets if isinstance(row.secrets, dict) else {}
    value = secrets.get(REGISTERED_BY)
    return int(value) if isinstance(value, str | int) and str(value).isdigit() else None


def _users_seeing(connection: sa.Connection, user_ids: set[int], site_id: str) -> set[int]:
    enabled = connection.execute(
        sa.select(users.c.user_id, users.c.all_sites).where(
            users.c.user_id.in_(sorted(user_ids)), users.c.disabled.is_(False)
        )
    ).all()
    scoped = {
        int(uid)
        for uid in connection.execute(
            sa.select(user_sites.c.user_id).where(
                user_sites.c.user_id.in_(sorted(user_ids)), user_sites.c.site_id == site_id
            )
        ).scalars()
    }
    return {int(row.user_id) for row in enabled if row.all_sites or row.user_id in scoped}


def plan_deliveries(
    connection: sa.Connection,
    *,
    alert_key: str,
    transition: str,
    notification: dict[str, Any],
    recipients: Sequence[sa.Row[Any]],
) -> list[str]:
    """Create the deliveries this transition owes (once each); returns every one still pending."""
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    keys = []
    now = datetime.now(UTC)
    for recipient in recipients:
        key = f"{alert_key}:{transition}:{recipient.channel}:{recipient.recipient_id}"
        keys.append(key)
        connection.execute(
            insert(deliveries)
            .values(
                delivery_id=str(uuid.uuid4()),
                delivery_key=key,
                alert_key=alert_key,
                transition=transition,
                channel=recipient.channel,
                recipient_id=recipient.recipient_id,
                notification=notification,
                status=PENDING,
                attempts=0,
                created_at=now,
            )
            .on_conflict_do_nothing(index_elements=["delivery_key"])
        )
    if not keys:
        return []
    return list(
        connection.execute(
            sa.select(deliveries.c.delivery_id).where(
                deliveries.c.delivery_key.in_(keys), deliveries.c.status == PENDING
            )
        ).scalars()
    )


def load_delivery(connection: sa.Connection, delivery_id: str) -> tuple[sa.Row[Any], sa.Row[Any]] | None:
    """The delivery and its recipient, or None."""
    row = connection.execute(sa.select(deliveries).where(deliveries.c.delivery_id == delivery_id)).first()
    if row is None:
        return None
    recipient = connection.execute(
        sa.select(notification_recipients).where(notification_recipients.c.recipient_id == row.recipient_id)
    ).one()
    return row, recipient


CLAIM_S = 120.0
"""Longer than any channel's timeout: a claim outliving its attempt means the attempt's process died."""


def claim(connection: sa.Connection, delivery_id: str) -> bool:
    """Take a pending delivery for one attempt; False when it is sent, dead, or another attempt holds it."""
    now = datetime.now(UTC)
    result = connection.execute(
        sa.update(deliveries)
        .where(
            deliveries.c.delivery_id == delivery_id,
            deliveries.c.status == PENDING,
            sa.or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
        )
        .values(claimed_until=now + timedelta(seconds=CLAIM_S))
    )
    return bool(result.rowcount)


TRANSITION_ORDER = ("opened", "acknowledged", "resolved")


def earlier_pending(connection: sa.Connection, row: sa.Row[Any]) -> sa.Row[Any] | None:
    """An earlier transition of the same alert to the same recipient that is still to be sent, if any: a
    resolution must not overtake its opening."""
    earlier = (
        TRANSITION_ORDER[: TRANSITION_ORDER.index(row.transition)]
        if row.transition in TRANSITION_ORDER
        else ()
    )
    if not earlier:
        return None
    return connection.execute(
        sa.select(deliveries).where(
            deliveries.c.alert_key == row.alert_key,
            deliveries.c.channel == row.channel,
            deliveries.c.recipient_id == row.recipient_id,
            deliveries.c.transition.in_(earlier),
            deliveries.c.status == PENDING,
        )
    ).first()


def hold(connection: sa.Connection, delivery_id: str, now: datetime, *, release_claim: bool) -> None:
    """Keep a delivery back (quiet hours, a rate limit) for the next message out to its recipient, and
    give back the claim when this attempt holds one."""
    values: dict[str, Any] = {"held_since": sa.func.coalesce(deliveries.c.held_since, now)}
    if release_claim:
        values["claimed_until"] = None
    connection.execute(
        sa.update(deliveries)
        .where(deliveries.c.delivery_id == delivery_id, deliveries.c.status == PENDING)
        .values(**values)
    )


def claim_held(
    connection: sa.Connection, recipient_id: int, besides: str, now: datetime
) -> list[sa.Row[Any]]:
    """Claim every other held delivery of the recipient that no attempt holds: they go out with this one,
    as a digest. Oldest first."""
    claimed = connection.execute(
        sa.update(deliveries)
        .where(
            deliveries.c.recipient_id == recipient_id,
            deliveries.c.status == PENDING,
            deliveries.c.held_since.is_not(None),
            deliveries.c.delivery_id != besides,
            sa.or_(deliveries.c.claimed_until.is_(None), deliveries.c.claimed_until < now),
        )
        .values(claimed_until=now + timedelta(seconds=CLAIM_S))
        .returning(deliveries.c.delivery_id)
    )
    ids = [str(i) for i in claimed.scalars()]
    if not ids:
        return []
    return list(
        connection.execute(
            sa.select(deliveries).where(deliveries.c.delivery_id.in_(ids)).order_by(deliveries.c.created_at)
        ).all()
    )


def release(connection: sa.Connection, delivery_ids: Sequence[str]) -> None:
    """Give back claims taken for a digest that did not go out: the deliveries stay held."""
    if delivery_ids:
        connection.execute(
            sa.update(deliveries)
            .where(deliveries.c.delivery_id.in_(list(delivery_ids)), deliveries.c.status == PENDING)
            .values(claimed_until=None)
        )


def record_sent(connection: sa.Connection, delivery_ids: str | Sequence[str], answer: dict[str, Any]) -> None:
    """Sent: one delivery, or every delivery one digest carried (each answer names the digest)."""
    ids = [delivery_ids] if isinstance(delivery_ids, str) else list(delivery_ids)
    connection.execute(
        sa.update(deliveries)
        .where(deliveries.c.delivery_id.in_(ids))
        .values(status=SENT, sent_at=datetime.now(UTC), answer=answer, attempts=deliveries.c.attempts + 1)
    )


def record_failure(connection: sa.Connection, delivery_id: str, error: str, *, dead: bool) -> int:
    """Count a failed attempt (and give up when `dead`); returns the attempts made so far."""
    connection.execute(
        sa.update(deliveries)
        .where(deliveries.c.delivery_id == delivery_id)
        .values(
            attempts=deliveries.c.attempts + 1,
            last_error=error[:500],
            status=DEAD if dead else PENDING,
            claimed_until=None,
        )
    )
    attempts = connection.execute(
        sa.select(deliveries.c.attempts).where(deliveries.c.delivery_id == delivery_id)
    ).scalar_one()
    return int(attempts)


def disable_recipient(connection: sa.Connection, recipient_id: int) -> None:
    """An address the channel says is gone (an unregistered phone, an expired push subscription)."""
    connection.execute(
        sa.update(notification_recipients)
        .where(notification_recipients.c.recipient_id == recipient_id)
        .values(enabled=False)
    )


def list_deliveries(connection: sa.Connection, status: str, limit: int = 100) -> list[sa.Row[Any]]:
    return list(
        connection.execute(
            sa.select(deliveries)
            .where(deliveries.c.status == status)
            .order_by(deliveries.c.created_at)
            .limit(limit)
        ).all()
    )


def revive(connection: sa.Connection, delivery_ids: Sequence[str]) -> list[str]:
    """Dead deliveries back to pending with their attempts reset (an admin fixed the receiver)."""
    result = connection.execute(
        sa.update(deliveries)
        .where(deliveries.c.delivery_id.in_(list(delivery_ids)), deliveries.c.status == DEAD)
        .values(status=PENDING, attempts=0)
        .returning(deliveries.c.delivery_id)
    )
    return [str(r) for r in result.scalars()]
