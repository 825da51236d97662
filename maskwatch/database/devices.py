"""Gates and cameras as one list of devices, for their lifecycle: register, revoke, delete.

Both kinds sign in to the broker by their id, so one id names at most one
device of either kind; the admin API lists them together, with their broker
account's state beside them.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import sqlalchemy as sa

from maskwatch.database.device_status import forget_status
from maskwatch.database.gates import DeviceIdTaken, UnknownSiteError
from maskwatch.database.schema import cameras, gates, sites

DeviceKind = Literal["gate", "camera"]

__all__ = [
    "DeviceIdTaken",
    "DeviceKind",
    "DeviceRecord",
    "UnknownSiteError",
    "add_device",
    "delete_device",
    "list_devices",
    "load_device",
    "registered_gates",
    "set_revoked",
]


@dataclass(frozen=True)
class DeviceRecord:
    device_id: str
    kind: DeviceKind
    site_id: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    reads_stream: bool
    """A camera the server reads itself (RTSP): it has no broker account to manage."""


def _all_devices() -> sa.Subquery:
    return sa.union_all(
        sa.select(
            gates.c.gate_id.label("device_id"),
            sa.literal("gate").label("kind"),
            gates.c.site_id,
            gates.c.name,
            gates.c.created_at,
            gates.c.revoked_at,
            sa.literal(False).label("reads_stream"),
        ),
        sa.select(
            cameras.c.camera_id.label("device_id"),
            sa.literal("camera").label("kind"),
            cameras.c.site_id,
            cameras.c.name,
            cameras.c.created_at,
            cameras.c.revoked_at,
            cameras.c.rtsp_url.is_not(None).label("reads_stream"),
        ),
    ).subquery("devices")


def _record(row: sa.Row[Any]) -> DeviceRecord:
    return DeviceRecord(
        device_id=row.device_id,
        kind="camera" if row.kind == "camera" else "gate",
        site_id=row.site_id,
        name=row.name,
        created_at=_aware(row.created_at),
        revoked_at=_aware(row.revoked_at) if row.revoked_at is not None else None,
        reads_stream=bool(row.reads_stream),
    )


def list_devices(
    connection: sa.Connection,
    *,
    sites_visible: Collection[str] | None,
    kind: DeviceKind | None = None,
    offset: int = 0,
    limit: int = 100,
) -> tuple[int, list[DeviceRecord]]:
    """The devices of `sites_visible` (None: every site), by id; and how many there are in all."""
    devices = _all_devices()
    query = sa.select(devices)
    if sites_visible is not None:
        query = query.where(devices.c.site_id.in_(sorted(sites_visible)))
    if kind is not None:
        query = query.where(devices.c.kind == kind)
    total = connection.execute(sa.select(sa.func.count()).select_from(query.subquery())).scalar_one()
    rows = connection.execute(query.order_by(devices.c.device_id).offset(offset).limit(limit))
    return int(total), [_record(row) for row in rows]


def load_device(connection: sa.Connection, device_id: str) -> DeviceRecord | None:
    devices = _all_devices()
    row = connection.execute(sa.select(devices).where(devices.c.device_id == device_id)).first()
    return _record(row) if row is not None else None


def registered_gates(connection: sa.Connection, gate_ids: Iterable[str]) -> set[str]:
    ids = sorted(set(gate_ids))
    if not ids:
        return set()
    return set(connection.execute(sa.select(gates.c.gate_id).where(gates.c.gate_id.in_(ids))).scalars())


def add_device(connection: sa.Connection, kind: DeviceKind, device_id: str, site_id: str, name: str) -> None:
    """Register a new device; an id any gate or camera already has is refused (DeviceIdTaken)."""
    if connection.execute(sa.select(sites.c.site_id).where(sites.c.site_id == site_id)).first() is None:
        raise UnknownSiteError(f"no site {site_id!r}; create it first")
    if load_device(connection, device_id) is not None:
        raise DeviceIdTaken(f"{device_id!r} is taken by a registered gate or camera")
    now = datetime.now(UTC)
    if kind == "gate":
        connection.execute(
            sa.insert(gates).values(gate_id=device_id, site_id=site_id, name=name, created_at=now)
        )
    else:
        connection.execute(
            sa.insert(cameras).values(
                camera_id=device_id, site_id=site_id, name=name, settings={}, created_at=now
            )
        )


def set_revoked(connection: sa.Connection, device: DeviceRecord, at: datetime | None) -> None:
    """Record that the device's account was taken away (`at`) or given back (None)."""
    table, key = (gates, gates.c.gate_id) if device.kind == "gate" else (cameras, cameras.c.camera_id)
    connection.execute(sa.update(table).where(key == device.device_id).values(revoked_at=at))


def delete_device(connection: sa.Connection, device: DeviceRecord) -> None:
    """Forget the device and its status; a gate's past checks stay (they count for the default site)."""
    table, key = (gates, gates.c.gate_id) if device.kind == "gate" else (cameras, cameras.c.camera_id)
    connection.execute(sa.delete(table).where(key == device.device_id))
    forget_status(connection, device.device_id)


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
