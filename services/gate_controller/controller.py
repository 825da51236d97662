"""Turns analyses into verdicts and sends each to its gate."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import aiomqtt

from maskwatch import metrics
from maskwatch.consumer import consume
from maskwatch.contracts import (
    ContractError,
    Decision,
    GateAnalysis,
    Rejection,
    RejectionCode,
    Timings,
    Verdict,
    decode,
)
from maskwatch.contracts.common import utc_now
from maskwatch.mqtt import mqtt_client, run_connected
from maskwatch.queue import Entry, WorkQueue
from maskwatch.rejections import publish_rejection
from maskwatch.settings import Settings
from maskwatch.streams import Streams
from maskwatch.topics import Topics
from services.gate_controller.directory import GateDirectory
from services.gate_controller.policy import decide

log = logging.getLogger(__name__)


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


def verdict_for(analysis: GateAnalysis, settings: Settings, site_id: str | None = None) -> Verdict:
    decision = decide(analysis, settings.policy.for_gate(analysis.gate_id, site_id))
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
        faces=analysis.faces,
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
        settings: Settings,
        *,
        name: str = "gate-controller-1",
        directory: GateDirectory | None = None,
    ) -> None:
        self._directory = directory
        self._queue = queue
        self._settings = settings
        self._streams = Streams(settings.queue.prefix)
        self._topics = Topics(settings.mqtt.topic_root)
        self.name = name
        self._client: aiomqtt.Client | None = None
        self.ready = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        await run_connected(self.name, lambda: self._session(stop), stop, connected=self.ready)

    async def _session(self, stop: asyncio.Event) -> None:
        async with mqtt_client(self._settings.mqtt, identifier=self.name) as client:
            self._client = client
            self.ready.set()
            try:
                await consume(
                    self._queue,
                    self._streams.analyses,
                    consumer=self.name,
                    handle=self.handle_batch,
                    batch_size=64,
                    block_ms=self._settings.worker.block_ms,
                    max_deliveries=self._settings.queue.max_deliveries,
                    stop=stop,
                    fatal=(aiomqtt.MqttError,),
                )
            finally:
                self._client = None  # `ready` is cleared by run_connected, which reads it first

    async def handle_batch(self, entries: Sequence[Entry]) -> None:
        client = self._client
        if client is None:
            raise ConnectionError("not connected to the broker")
        if self._directory is not None:
            await self._directory.refresh_if_stale()
        for entry in entries:
            try:
                analysis = decode(GateAnalysis, entry.data)
            except ContractError as exc:
                log.error("%s: entry %s is not a GateAnalysis: %s", self.name, entry.id, exc.detail)
                await self._queue.dead_letter(
                    self._streams.analyses, Streams.dead_letters(self._streams.analyses), entry, exc.detail
                )
                continue
            if analysis.image_error is not None:
                await self._reject_image(client, analysis)
                continue
            site_id = self._directory.site_of(analysis.gate_id) if self._directory else None
            verdict = verdict_for(analysis, self._settings, site_id)
            payload = verdict.to_json()
            if verdict.offline_decision is None:  # an offline record: the gate acted long ago
                await client.publish(
                    self._topics.gate_verdict.format(gate_id=verdict.gate_id), payload, qos=1
                )
            await self._queue.add(self._streams.outcomes.name, "verdict", payload)
            metrics.VERDICT_LATENCY.labels(verdict.decision.value).observe(verdict.timings.total_ms / 1000)
            self._log_verdict(verdict)

    async def _reject_image(self, client: aiomqtt.Client, analysis: GateAnalysis) -> None:
        rejection = image_rejection(analysis, self._topics)
        log.warning("gate %s: check %s rejected: %s", analysis.gate_id, analysis.check_id, rejection.detail)
        await publish_rejection(client, self._topics, self._queue, self._streams, rejection)

    def _log_verdict(self, verdict: Verdict) -> None:
        log.info(
            "gate %s: check %s → %s %s (%.0f ms)",
            verdict.gate_id,
            verdict.check_id,
            verdict.decision.value,
            ",".join(r.value for r in verdict.reasons) or "-",
            verdict.timings.total_ms,
        )
