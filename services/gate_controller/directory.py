"""Which gates are registered, at which site, and the entry rules admins set for them, so the
controller answers only them, by their rules.

Read from the `gates` and `entry_rules` tables (written by `maskwatch device add` and the admin API)
and refreshed in the background of the batch loop every few seconds, so a rule changed in the console
applies to the next checks without a restart; and at once (at most every few seconds) when a gate it
does not know asks: a gate registered a moment ago is answered. When the database cannot be read,
the last known gates and rules stay in use.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import sqlalchemy as sa

from maskwatch.database import entry_rules
from maskwatch.database.schema import gates
from maskwatch.entry_rules import StoredRules

log = logging.getLogger(__name__)


class GateDirectory:
    def __init__(
        self,
        engine: sa.Engine,
        *,
        refresh_s: float = 5.0,
        miss_refresh_s: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        self._refresh_s = refresh_s
        self._miss_refresh_s = miss_refresh_s
        self._clock = clock
        self._sites: dict[str, str] = {}
        self._rules = StoredRules()
        self._loaded_at = float("-inf")

    @property
    def rules(self) -> StoredRules:
        """The entry rules admins set per site and gate, as last read."""
        return self._rules

    def site_of(self, gate_id: str) -> str | None:
        return self._sites.get(gate_id)

    async def knows(self, gate_id: str) -> bool:
        """Whether the gate is registered, looking again if it was not a moment ago."""
        if gate_id not in self._sites and self._clock() - self._loaded_at >= self._miss_refresh_s:
            await self._refresh()
        return gate_id in self._sites

    async def refresh_if_stale(self) -> None:
        if self._clock() - self._loaded_at < self._refresh_s:
            return
        await self._refresh()

    async def _refresh(self) -> None:
        self._loaded_at = self._clock()
        try:
            self._sites, self._rules = await asyncio.to_thread(self._load)
        except sa.exc.SQLAlchemyError as exc:
            log.warning(
                "gate directory: database unreadable (%s); keeping %d known gates", exc, len(self._sites)
            )

    def _load(self) -> tuple[dict[str, str], StoredRules]:
        with self._engine.connect() as connection:
            rows = connection.execute(sa.select(gates.c.gate_id, gates.c.site_id)).all()
            rules = entry_rules.load_all(connection)
        return {gate_id: site_id for gate_id, site_id in rows}, rules
