"""Writes outcomes and alert transitions to the database, once each however often they are delivered."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from maskwatch import metrics
from maskwatch.consumer import ConsumerSettings, consume_messages
from maskwatch.contracts import AlertTransition, Message, Rejection, Verdict
from maskwatch.database.alerts import record_transition
from maskwatch.database.figures import RETRY
from maskwatch.database.schema import check_reasons, checks, rejections
from maskwatch.queue import QueueSettings, WorkQueue
from maskwatch.streams import Group, Streams
from services.stats.settings import StatsSettings
from services.stats.visits import retries

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
        self,
        engine: sa.Engine,
        queue: WorkQueue,
        queue_settings: QueueSettings | None = None,
        settings: ConsumerSettings | None = None,
        *,
        name: str = "stats-1",
    ) -> None:
        """`settings` may be plain consumer settings (the retry window is then its default, 30 s)."""
        self._engine = engine
        self._queue = queue
        self._queue_settings = queue_settings or QueueSettings()
        self._settings = settings or StatsSettings()
        self._streams = Streams(self._queue_settings.prefix)
        self.name = name
        self._retry_window_s = (
            self._settings.retry_window_s
            if isinstance(self._settings, StatsSettings)
            else StatsSettings().retry_window_s
        )

    async def run(self, stop: asyncio.Event, *, burst: bool = False) -> int:
        return await consume_messages(
            self._queue,
            (self._streams.outcomes.read_by(Group.STATS), self._streams.alerts.read_by(Group.STATS)),
            consumer=self.name,
            handle=self.handle_batch,
            settings=self._settings,
            max_deliveries=self._queue_settings.max_deliveries,
            stop=stop,
            burst=burst,
        )

    async def handle_batch(self, messages: Sequence[Message]) -> None:
        verdicts = [m for m in messages if isinstance(m, Verdict)]
        rejected = [m for m in messages if isinstance(m, Rejection)]
        transitions = [m for m in messages if isinstance(m, AlertTransition)]
        await asyncio.to_thread(self.write, verdicts, rejected, transitions)

    def write(
        self,
        verdicts: Sequence[Verdict],
        rejected: Sequence[Rejection],
        transitions: Sequence[AlertTransition] = (),
    ) -> None:
        """One transaction per batch; rows already present are left alone."""
        if not verdicts and not rejected and not transitions:
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
                reason_rows += [
                    {"check_id": check_id, "reason": RETRY, "enforced": False}
                    for check_id in retries(connection, verdicts, self._retry_window_s)
                ]
                if reason_rows:
                    connection.execute(insert(check_reasons).on_conflict_do_nothing(), reason_rows)
            if rejected:
                connection.execute(
                    insert(rejections).on_conflict_do_nothing(index_elements=["rejection_id"]),
                    [rejection_row(r) for r in rejected],
                )
            for transition in transitions:
                if not record_transition(connection, transition):
                    log.debug(
                        "alert %s: %s already recorded", transition.alert_id, transition.transition.value
                    )
        metrics.STATS_ROWS_WRITTEN.labels("checks").inc(len(verdicts))
        metrics.STATS_ROWS_WRITTEN.labels("rejections").inc(len(rejected))
        metrics.STATS_ROWS_WRITTEN.labels("alerts").inc(len(transitions))
        for v in verdicts:
            log.debug("gate %s: check %s recorded", v.gate_id, v.check_id)


def _insert_for(engine: sa.Engine) -> Any:
    return postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
