"""Gates as the database knows them: which site each belongs to."""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa

from maskwatch.database.schema import cameras, gates, sites


class UnknownSiteError(ValueError):
    pass


class DeviceIdTaken(ValueError):
    """Gates and cameras sign in to the broker with their id: one id cannot name both."""


def register_gate(engine: sa.Engine, gate_id: str, *, site_id: str, name: str | None = None) -> None:
    """Record the gate under its site, so its checks count for that site (re-provisioning moves it)."""
    with engine.begin() as connection:
        if connection.execute(sa.select(sites.c.site_id).where(sites.c.site_id == site_id)).first() is None:
            raise UnknownSiteError(f"no site {site_id!r}; create it first (the admin API, /api/v1/sites)")
        if connection.execute(sa.select(cameras.c.camera_id).where(cameras.c.camera_id == gate_id)).first():
            raise DeviceIdTaken(f"{gate_id!r} is a camera's id; give the gate another")
        values = {"site_id": site_id, "name": name or gate_id}
        updated = connection.execute(sa.update(gates).where(gates.c.gate_id == gate_id).values(**values))
        if updated.rowcount == 0:
            connection.execute(
                sa.insert(gates).values(gate_id=gate_id, created_at=datetime.now(UTC), **values)
            )
