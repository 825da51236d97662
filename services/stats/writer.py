"""Writes outcomes to the database, exactly once per check however often they are delivered."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from maskwatch import metrics
from maskwatch.consumer import consume
from maskwatch.contracts import ContractError, Rejection, Verdict, decode
from maskwatch.queue import Entry, WorkQueue
from maskwatch.settings import Settings
from maskwatch.streams import Streams
from services.stats.schema import check_reasons, checks, rejections

log = logging.getLogger(__name__)


def check_row(verdict: Verdict) -> dict[str, Any]:
    labels = {f.label for f in verdict.faces}
    timings = verdict.timings
    return {
        "check_id": verdict.check_id,
        "gate_id": verdict.gate_id,
        "captured_at": verdict.captured_at,
        "decided_at": verdict.decided_at,
        "decision": verdict.decision.value,
        "offline_decision": verdict.offline_decision.value if verdict.offline_decision else None,
        "message": verdict.message[:200],
        "temperature_c": verdict.temperature_c,
        "face_count": len(verdict.faces),
        "mask_label": labels.pop() if len(labels) == 1 else None,
        "total_ms": timings.total_ms,
        "model_ms": timings.decode_ms + timings.detect_ms + timings.classify_ms,
    }


def rejection_row(rejection: Rejection) -> dict[str, Any]:
    row = rejection.model_dump(exclude={"v"})
    row["code"] = rejection.code.value
    row["detail"] = rejection.detail[:1000]
    row["gate_id"] = rejection.gate_id[:200]
    row["topic"] = rejection.topic[:400]
    return row


class StatsWriter:
    def __init__(
        self, engine: sa.Engine, queue: WorkQueue, settings: Settings, *, name: str = "stats-1"
    ) -> None:
        self._engine = engine
        self._queue = queue
        self._settings = settings
        self._streams = Streams(settings.queue.prefix)
        self.name = name

    async def run(self, stop: asyncio.Event, *, burst: bool = False) -> int:
        return await consume(
            self._queue,
            self._streams.outcomes,
            consumer=self.name,
            handle=self.handle_batch,
            batch_size=256,
            block_ms=self._settings.worker.block_ms,
            max_deliveries=self._settings.queue.max_deliveries,
            stop=stop,
            burst=burst,
        )

    async def handle_batch(self, entries: Sequence[Entry]) -> None:
        verdicts: list[Verdict] = []
        rejected: list[Rejection] = []
        for entry in entries:
            try:
                if entry.kind == "verdict":
                    verdicts.append(decode(Verdict, entry.data))
                elif entry.kind == "rejection":
                    rejected.append(decode(Rejection, entry.data))
                else:
                    raise ContractError("schema", f"unknown outcome kind {entry.kind!r}")
            except ContractError as exc:
                log.error("%s: entry %s unreadable: %s", self.name, entry.id, exc.detail)
                await self._queue.dead_letter(
                    self._streams.outcomes, Streams.dead_letters(self._streams.outcomes), entry, exc.detail
                )
        await asyncio.to_thread(self.write, verdicts, rejected)

    def write(self, verdicts: Sequence[Verdict], rejected: Sequence[Rejection]) -> None:
        """One transaction per batch; rows already present are left alone."""
        if not verdicts and not rejected:
            return
        insert = _insert_for(self._engine)
        with self._engine.begin() as connection:
            if verdicts:
                connection.execute(
                    insert(checks).on_conflict_do_nothing(index_elements=["check_id"]),
                    [check_row(v) for v in verdicts],
                )
                reason_rows = [
                    {"check_id": v.check_id, "reason": r.value, "enforced": enforced}
                    for v in verdicts
                    for reasons, enforced in ((v.reasons, True), (v.flags, False))
                    for r in reasons
                ]
                if reason_rows:
                    connection.execute(insert(check_reasons).on_conflict_do_nothing(), reason_rows)
            if rejected:
                connection.execute(
                    insert(rejections).on_conflict_do_nothing(index_elements=["rejection_id"]),
                    [rejection_row(r) for r in rejected],
                )
        metrics.STATS_ROWS_WRITTEN.labels("checks").inc(len(verdicts))
        metrics.STATS_ROWS_WRITTEN.labels("rejections").inc(len(rejected))
        for v in verdicts:
            log.debug("gate %s: check %s recorded", v.gate_id, v.check_id)


def _insert_for(engine: sa.Engine) -> Any:
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
