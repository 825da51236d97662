"""Which gates are registered, and at which site, so the controller answers only them, by their rules.

Read from the `gates` table (registered by `maskwatch device add` or the admin API) and
refreshed in the background of the batch loop, and at once (at most every few seconds)
when a gate it does not know asks: a gate registered a moment ago is answered. When the
database cannot be read, the last known map stays in use.
"""

from __future__ import annotations

import asyncio
import logging
import time

import sqlalchemy as sa

from maskwatch.database.schema import gates

log = logging.getLogger(__name__)


class GateDirectory:
    def __init__(self, engine: sa.Engine, *, refresh_s: float = 30.0, miss_refresh_s: float = 2.0) -> None:
        self._engine = engine
        self._refresh_s = refresh_s
        self._miss_refresh_s = miss_refresh_s
        self._sites: dict[str, str] = {}
        self._loaded_at = float("-inf")

    def site_of(self, gate_id: str) -> str | None:
        return self._sites.get(gate_id)

    async def knows(self, gate_id: str) -> bool:
        """Whether the gate is registered, looking again if it was not a moment ago."""
        if gate_id not in self._sites and time.monotonic() - self._loaded_at >= self._miss_refresh_s:
            await self._refresh()
        return gate_id in self._sites

    async def refresh_if_stale(self) -> None:
        if time.monotonic() - self._loaded_at < self._refresh_s:
            return
        await self._refresh()

    async def _refresh(self) -> None:
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
