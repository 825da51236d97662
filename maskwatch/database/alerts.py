"""Alerts raised for a site (people unmasked indoors, a device gone offline): the shared writes.

Transitions arrive on the alerts stream and may arrive twice (a redelivery
after a crash): each write is conditional on the alert's current state, so a
repeated transition changes nothing.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from maskwatch.contracts import AlertKind, AlertTransition, Transition
from maskwatch.database.schema import alerts


def open_alert(conn: sa.Connection, site_id: str, device_id: str, kind: str, details: dict[str, Any]) -> int:
    """Raise an alert; for the monitors and the notifier. The caller commits."""
    alert_id = conn.execute(
        sa.insert(alerts)
        .values(site_id=site_id, device_id=device_id, kind=kind, opened_at=datetime.now(UTC), details=details)
        .returning(alerts.c.alert_id)
    ).scalar_one()
    return int(alert_id)


def record_transition(conn: sa.Connection, transition: AlertTransition) -> bool:
    """Apply one transition; False when it was already applied (or came for an unknown alert)."""
    key = str(transition.alert_id)
    if transition.transition is Transition.OPENED:
        details: dict[str, Any] = {
            "track": transition.track,
            "box": list(transition.box) if transition.box else None,
            "unmasked_since": transition.unmasked_since.isoformat() if transition.unmasked_since else None,
        }
        if transition.kind is AlertKind.DEVICE_OFFLINE:
            details = {
                "device_kind": transition.device_kind,
                "offline_since": transition.offline_since.isoformat() if transition.offline_since else None,
            }
        insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
        result = conn.execute(
            insert(alerts)
            .values(
                alert_key=key,
                site_id=transition.site_id,
                device_id=transition.device_id,
                kind=transition.kind.value,
                opened_at=transition.at,
                details=details,
                snapshot=transition.snapshot,
                crop=transition.crop,
            )
            .on_conflict_do_nothing(index_elements=["alert_key"])
        )
        return bool(result.rowcount)
    if transition.transition is Transition.ACKNOWLEDGED:
        result = conn.execute(
            sa.update(alerts)
            .where(alerts.c.alert_key == key, alerts.c.acknowledged_at.is_(None))
            .values(acknowledged_at=transition.at, acknowledged_by=transition.by_user)
        )
        return bool(result.rowcount)
    result = conn.execute(
        sa.update(alerts)
        .where(alerts.c.alert_key == key, alerts.c.resolved_at.is_(None))
        .values(resolved_at=transition.at, resolved_by=transition.by_user, resolution=transition.why)
    )
    return bool(result.rowcount)
