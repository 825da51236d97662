"""Each device's latest retained status, as the device health service heard it, for the API to show.

The broker already keeps the latest status retained, but the API does not hold
a broker session; the device health service, which reads every status anyway,
writes it here. An `offline` last will carries no versions or sensors, so those
stay as the device last reported them, next to when it was last seen online.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa

from maskwatch.database.schema import device_status

DeviceKind = Literal["gate", "camera"]


@dataclass(frozen=True)
class StatusReport:
    """One status message, reduced to what is kept."""

    device_id: str
    kind: DeviceKind
    online: bool
    at: datetime
    """The status's own time, or when it was received (a last will has none)."""
    software_version: str | None = None
    config_version: str | None = None
    sensors: Mapping[str, str] | None = None


@dataclass(frozen=True)
class DeviceHealth:
    online: bool
    status_at: datetime
    last_seen_at: datetime | None
    software_version: str | None
    config_version: str | None
    sensors: dict[str, str]


def record_status(engine: sa.Engine, report: StatusReport) -> None:
    """Keep `report` as the device's latest status; an older one (a retained copy seen again) changes
    nothing, and an offline one keeps what the device said when it was last online."""
    with engine.begin() as connection:
        current = connection.execute(
            sa.select(device_status.c.status_at, device_status.c.last_seen_at).where(
                device_status.c.device_id == report.device_id
            )
        ).one_or_none()
        if current is not None and _aware(current.status_at) > report.at:
            return
        values: dict[str, Any] = {"kind": report.kind, "online": report.online, "status_at": report.at}
        if report.online:
            values |= {
                "last_seen_at": report.at,
                "software_version": report.software_version,
                "config_version": report.config_version,
                "sensors": dict(report.sensors) if report.sensors is not None else None,
            }
        if current is None:
            connection.execute(sa.insert(device_status).values(device_id=report.device_id, **values))
        else:
            connection.execute(
                sa.update(device_status).where(device_status.c.device_id == report.device_id).values(**values)
            )


def load_health(connection: sa.Connection, device_ids: Iterable[str]) -> dict[str, DeviceHealth]:
    """The latest status of each of `device_ids` that ever reported one."""
    ids = sorted(set(device_ids))
    if not ids:
        return {}
    rows = connection.execute(sa.select(device_status).where(device_status.c.device_id.in_(ids)))
    return {
        row.device_id: DeviceHealth(
            online=bool(row.online),
            status_at=_aware(row.status_at),
            last_seen_at=_aware(row.last_seen_at) if row.last_seen_at is not None else None,
            software_version=row.software_version,
            config_version=row.config_version,
            sensors=dict(row.sensors or {}),
        )
        for row in rows
    }


def forget_status(connection: sa.Connection, device_id: str) -> None:
    """A deleted device's status goes with it."""
    connection.execute(sa.delete(device_status).where(device_status.c.device_id == device_id))


def _aware(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time here is UTC."""
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
