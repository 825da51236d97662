"""Alerts raised for a site (people unmasked indoors, a device gone offline): the shared writes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from maskwatch.database.schema import alerts


def open_alert(conn: sa.Connection, site_id: str, device_id: str, kind: str, details: dict[str, Any]) -> int:
    """Raise an alert; for the monitors and the notifier. The caller commits."""
    alert_id = conn.execute(
        sa.insert(alerts)
        .values(site_id=site_id, device_id=device_id, kind=kind, opened_at=datetime.now(UTC), details=details)
        .returning(alerts.c.alert_id)
    ).scalar_one()
    return int(alert_id)
