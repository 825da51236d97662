"""Which site each gate belongs to, so the controller can apply that site's rules.

Read from the `gates` table (registered by `maskwatch device add` or the admin API) and
refreshed in the background of the batch loop; when the database cannot be read, the
last known map stays in use and the installation-wide rules apply to unknown gates.
"""

from __future__ import annotations

import asyncio
import logging
import time

import sqlalchemy as sa

from maskwatch.database.schema import gates

log = logging.getLogger(__name__)


class GateDirectory:
    def __init__(self, engine: sa.Engine, *, refresh_s: float = 30.0) -> None:
        self._engine = engine
        self._refresh_s = refresh_s
        self._sites: dict[str, str] = {}
        self._loaded_at = float("-inf")

    def site_of(self, gate_id: str) -> str | None:
        return self._sites.get(gate_id)

    async def refresh_if_stale(self) -> None:
        if time.monotonic() - self._loaded_at < self._refresh_s:
            return
        self._loaded_at = time.monotonic()
        try:
            self._sites = await asyncio.to_thread(self._load)
        except sa.exc.SQLAlchemyError as exc:
            log.warning(
                "gate directory: database unreadable (%s); keeping %d known gates", exc, len(self._sites)
            )

    def _load(self) -> dict[str, str]:
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(gates.c.gate_id, gates.c.site_id)).all()
        return {gate_id: site_id for gate_id, site_id in rows}
