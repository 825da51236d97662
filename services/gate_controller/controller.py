"""Turns analyses into verdicts and sends each to its gate."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import aiomqtt
from pydantic import ValidationError

from maskwatch import metrics
from maskwatch.consumer import ConsumerSettings, consume_messages
from maskwatch.contracts import (
    Decision,
    GateAnalysis,
    Message,
    Rejection,
    RejectionCode,
    Timings,
    Verdict,
)
from maskwatch.contracts.common import utc_now
from maskwatch.entry_rules import NO_STORED_RULES, StoredRules
from maskwatch.mqtt import MqttSettings, mqtt_client, run_connected
from maskwatch.queue import QueueSettings, WorkQueue
from maskwatch.rejections import publish_rejection
from maskwatch.streams import Group, Streams, append_many
from maskwatch.topics import Topics
from services.gate_controller.directory import GateDirectory
from services.gate_controller.policy import PolicyConfig, RuleSet, decide

log = logging.getLogger(__name__)

ANSWER_CLAIM_TTL_S = 600
"""How long the controller remembers which analysis of a check it answered: far past the check
deadline and the time a dead consumer's entries wait before another takes them."""


def image_rejection(analysis: GateAnalysis, topics: Topics) -> Rejection:
    """An unreadable photo is the device's fault, not the person's: answer with a rejection, not a denial."""
    return Rejection(
        gate_id=analysis.gate_id,
        check_id=analysis.check_id,
        received_at=analysis.received_at,
        code=RejectionCode.BAD_IMAGE,
        detail=analysis.image_error or "unreadable image",
        topic=topics.gate_check.format(gate_id=analysis.gate_id),
    )


def rules_for(
    gate_id: str, policy: PolicyConfig, site_id: str | None, stored: StoredRules = NO_STORED_RULES
) -> RuleSet:
    """The rules the gate follows now. The API refuses overrides that contradict each other, but a
    settings file changed later could still make one gate's mix invalid: that gate then follows its
    settings-file rules (logged), never no rules at all."""
    try:
        return policy.for_gate(gate_id, site_id, stored)
    except ValidationError as exc:
        log.error(
            "gate %s: its stored rules contradict the settings (%s); applying the settings' rules",
            gate_id,
            exc.errors()[0]["msg"],
        )
        return policy.for_gate(gate_id, site_id)


def verdict_for(
    analysis: GateAnalysis,
    policy: PolicyConfig,
    site_id: str | None = None,
    stored: StoredRules = NO_STORED_RULES,
) -> Verdict:
    decision = decide(analysis, rules_for(analysis.gate_id, policy, site_id, stored))
    decided_at = utc_now()
    total_ms = (decided_at - analysis.received_at).total_seconds() * 1000
    model_ms = analysis.decode_ms + analysis.detect_ms + analysis.classify_ms
    return Verdict(
        gate_id=analysis.gate_id,
        check_id=analysis.check_id,
        captured_at=analysis.captured_at,
        decided_at=decided_at,
        decision=Decision.OPEN if decision.open else Decision.DENY,
        reasons=decision.reasons,
        flags=decision.flags,
        message=decision.message,
        # The nose probe's answer stays on the server (it shows in the reasons where a rule acts on it):
        # gates of earlier versions refuse a verdict with fields they do not know.
        faces=[f.model_copy(update={"nose_uncovered": None}) for f in analysis.faces],
        temperature_c=decision.temperature_c,
        offline_decision=Decision(analysis.offline.decision) if analysis.offline else None,
        timings=Timings(
            queue_ms=max(0.0, total_ms - model_ms),
            decode_ms=analysis.decode_ms,
            detect_ms=analysis.detect_ms,
            classify_ms=analysis.classify_ms,
            total_ms=max(0.0, total_ms),
        ),
    )


class GateController:
    def __init__(
        self,
        queue: WorkQueue,
        *,
        mqtt: MqttSettings,
        queue_settings: QueueSettings,
        consumer: ConsumerSettings,
        policy: PolicyConfig,
        name: str = "gate-controller-1",
        directory: GateDirectory | None = None,
        allow_unregistered: bool = False,
    ) -> None:
        """With a `directory`, a gate it does not know is rejected (`unknown_gate`) unless
        `allow_unregistered` (the demo's, never production's)."""
        self._directory = directory
        self._allow_unregistered = allow_unregistered
        self._queue = queue
        self._mqtt = mqtt
        self._queue_settings = queue_settings
        self._consumer = consumer
        self._policy = policy
        self._streams = Streams(queue_settings.prefix)
        self._topics = Topics(mqtt.topic_root)
        self.name = name
        self._client: aiomqtt.Client | None = None
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        await run_connected(self.name, lambda: self._session(stop), stop, connected=self.ready)

    async def _session(self, stop: asyncio.Event) -> None:
        async with mqtt_client(self._mqtt, identifier=self.name) as client:
            self._client = client
            self.ready.set()
            try:
                await consume_messages(
                    self._queue,
                    self._streams.analyses.read_by(Group.GATE_CONTROLLER),
                    consumer=self.name,
                    handle=self.handle_batch,
                    settings=self._consumer,
                    max_deliveries=self._queue_settings.max_deliveries,
                    stop=stop,
                    fatal=(aiomqtt.MqttError,),
                )
            finally:
                self._client = None  # `ready` is cleared by run_connected, which reads it first

    async def handle_batch(self, messages: Sequence[Message]) -> None:
        client = self._client
        if client is None:
            raise ConnectionError("not connected to the broker")
        if self._directory is not None:
            await self._directory.refresh_if_stale()
        decided: list[Verdict] = []
        for analysis in await self._first_analyses(messages):
            if analysis.late_by_s is not None:
                await self._reject_late(client, analysis)
                continue
            if analysis.image_error is not None:
                await self._reject_image(client, analysis)
                continue
            if not await self._registered(analysis.gate_id):
                await self._reject_unknown_gate(client, analysis)
                continue
            site_id = self._directory.site_of(analysis.gate_id) if self._directory else None
            stored = self._directory.rules if self._directory else NO_STORED_RULES
            verdict = verdict_for(analysis, self._policy, site_id, stored)
            payload = verdict.to_json()
            if verdict.offline_decision is None:  # an offline record: the gate acted long ago
                await client.publish(
                    self._topics.gate_verdict.format(gate_id=verdict.gate_id), payload, qos=1
                )
            metrics.VERDICT_LATENCY.labels(verdict.decision.value).observe(verdict.timings.total_ms / 1000)
            self._log_verdict(verdict)
            decided.append(verdict)
        if decided:  # recorded in one round trip, after every gate of the batch has its answer
            await append_many(self._queue, self._streams.outcomes, decided)
            opened = sum(v.decision is Decision.OPEN for v in decided)
            log.info(
                "%s: %d verdict(s), %d open, %d deny, slowest %.0f ms (gates %s)",
                self.name,
                len(decided),
                opened,
                len(decided) - opened,
                max(v.timings.total_ms for v in decided),
                ", ".join(sorted({v.gate_id for v in decided})),
            )

    async def _first_analyses(self, messages: Sequence[Message]) -> list[GateAnalysis]:
        """The analyses that answer their check: the first seen for each check (or a redelivery of it),
        claimed in one round trip, so a gate never hears "open" and then "try again" for one check."""
        analyses = [m for m in messages if isinstance(m, GateAnalysis)]
        prefix = self._queue_settings.prefix
        held = await self._queue.claim(
            [(f"{prefix}:answered:{a.check_id}", str(a.analysis_id)) for a in analyses], ANSWER_CLAIM_TTL_S
        )
        for analysis, first in zip(analyses, held, strict=True):
            if not first:
                metrics.CHECKS_ANSWERED_ALREADY.labels(analysis.gate_id).inc()
                log.info(
                    "gate %s: check %s already answered; a second analysis of it is dropped",
                    analysis.gate_id,
                    analysis.check_id,
                )
        return [a for a, first in zip(analyses, held, strict=True) if first]

    async def _reject_late(self, client: aiomqtt.Client, analysis: GateAnalysis) -> None:
        rejection = Rejection(
            gate_id=analysis.gate_id,
            check_id=analysis.check_id,
            received_at=analysis.received_at,
            code=RejectionCode.TOO_LATE,
            detail=f"the server was busy: the check waited {analysis.late_by_s:.1f} s; please try again",
            topic=self._topics.gate_check.format(gate_id=analysis.gate_id),
        )
        await publish_rejection(client, self._topics, self._queue, self._streams, rejection)

    async def _registered(self, gate_id: str) -> bool:
        if self._directory is None or self._allow_unregistered:
            return True
        return await self._directory.knows(gate_id)

    async def _reject_unknown_gate(self, client: aiomqtt.Client, analysis: GateAnalysis) -> None:
        rejection = Rejection(
            gate_id=analysis.gate_id,
            check_id=analysis.check_id,
            received_at=analysis.received_at,
            code=RejectionCode.UNKNOWN_GATE,
            detail=f"gate {analysis.gate_id!r} is not registered: "
            f"maskwatch device add {analysis.gate_id} --site SITE",
            topic=self._topics.gate_check.format(gate_id=analysis.gate_id),
        )
        log.warning("gate %s: check %s rejected: not registered", analysis.gate_id, analysis.check_id)
        await publish_rejection(client, self._topics, self._queue, self._streams, rejection)

    async def _reject_image(self, client: aiomqtt.Client, analysis: GateAnalysis) -> None:
        rejection = image_rejection(analysis, self._topics)
        log.warning("gate %s: check %s rejected: %s", analysis.gate_id, analysis.check_id, rejection.detail)
        await publish_rejection(client, self._topics, self._queue, self._streams, rejection)

    def _log_verdict(self, verdict: Verdict) -> None:
        """Per check at DEBUG; the batch's summary is at INFO (a log line per check costs more than the
        check's own bookkeeping at a busy entrance)."""
        log.debug(
            "gate %s: check %s → %s %s (%.0f ms)",
            verdict.gate_id,
            verdict.check_id,
            verdict.decision.value,
            ",".join(r.value for r in verdict.reasons) or "-",
            verdict.timings.total_ms,
        )
