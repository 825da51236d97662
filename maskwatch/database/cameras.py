"""Indoor cameras as the database knows them: their site, their stream (if the server reads it), settings."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from maskwatch.database.gates import DeviceIdTaken, UnknownSiteError
from maskwatch.database.schema import cameras, gates, sites

__all__ = [
    "CameraRecord",
    "DeviceIdTaken",
    "UnknownSiteError",
    "load_cameras",
    "record_sightings",
    "register_camera",
]


@dataclass(frozen=True)
class CameraRecord:
    camera_id: str
    site_id: str
    name: str
    rtsp_url: str | None
    settings: dict[str, Any]


def register_camera(
    engine: sa.Engine,
    camera_id: str,
    *,
    site_id: str,
    name: str | None = None,
    rtsp_url: str | None = None,
    settings: dict[str, Any] | None = None,
) -> None:
    """Record the camera under its site (registering it again updates it)."""
    with engine.begin() as connection:
        if connection.execute(sa.select(sites.c.site_id).where(sites.c.site_id == site_id)).first() is None:
            raise UnknownSiteError(f"no site {site_id!r}; create it first (the admin API, /api/v1/sites)")
        if connection.execute(sa.select(gates.c.gate_id).where(gates.c.gate_id == camera_id)).first():
            raise DeviceIdTaken(f"{camera_id!r} is a gate's id; give the camera another")
        values: dict[str, Any] = {"site_id": site_id, "name": name or camera_id, "rtsp_url": rtsp_url}
        if settings is not None:
            values["settings"] = settings
        updated = connection.execute(
            sa.update(cameras).where(cameras.c.camera_id == camera_id).values(**values)
        )
        if updated.rowcount == 0:
            values.setdefault("settings", {})
            connection.execute(
                sa.insert(cameras).values(camera_id=camera_id, created_at=datetime.now(UTC), **values)
            )


def record_sightings(engine: sa.Engine, seen: dict[str, datetime]) -> None:
    """Note when each camera's latest frame was analysed (never moving a time backwards)."""
    if not seen:
        return
    with engine.begin() as connection:
        for camera_id, at in seen.items():
            connection.execute(
                sa.update(cameras)
                .where(
                    cameras.c.camera_id == camera_id,
                    sa.or_(cameras.c.last_seen_at.is_(None), cameras.c.last_seen_at < at),
                )
                .values(last_seen_at=at)
            )


def load_cameras(connection: sa.Connection) -> dict[str, CameraRecord]:
    rows = connection.execute(sa.select(cameras)).all()
    return {
        row.camera_id: CameraRecord(
            row.camera_id, row.site_id, row.name, row.rtsp_url, dict(row.settings or {})
        )
        for row in rows
    }
