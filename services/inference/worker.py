"""The batching inference worker.

A batch is whatever has accumulated in the stream when the worker asks (up to
`batch_size`), so under load the model sees full batches and at rest a lone
check is not held back waiting for company.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from maskwatch import metrics
from maskwatch.consumer import consume
from maskwatch.contracts import AnalyzedFace, ContractError, GateAnalysis, ReceivedGateCheck, decode
from maskwatch.contracts.common import utc_now
from maskwatch.queue import Entry, WorkQueue
from maskwatch.settings import Settings
from maskwatch.streams import Streams
from services.inference.model.api import Engine, FrameError, FrameResult

log = logging.getLogger(__name__)


class InferenceWorker:
    def __init__(
        self, engine: Engine, queue: WorkQueue, settings: Settings, *, name: str = "inference-1"
    ) -> None:
        self._engine = engine
        self._queue = queue
        self._settings = settings
        self._streams = Streams(settings.queue.prefix)
        self.name = name
        self._gpu_checked = float("-inf")

    async def run(self, stop: asyncio.Event, *, burst: bool = False) -> int:
        return await consume(
            self._queue,
            self._streams.checks,
            consumer=self.name,
            handle=self.handle_batch,
            batch_size=self._settings.worker.batch_size,
            block_ms=self._settings.worker.block_ms,
            max_deliveries=self._settings.queue.max_deliveries,
            stop=stop,
            burst=burst,
        )

    async def handle_batch(self, entries: Sequence[Entry]) -> None:
        checks: list[ReceivedGateCheck] = []
        for entry in entries:
            try:
                checks.append(decode(ReceivedGateCheck, entry.data))
            except ContractError as exc:
                # Ingest validated it, so this is a producer bug: keep it for an operator, don't retry.
                log.error("%s: entry %s is not a ReceivedGateCheck: %s", self.name, entry.id, exc.detail)
                dead = Streams.dead_letters(self._streams.checks)
                await self._queue.dead_letter(self._streams.checks, dead, entry, exc.detail)
        if not checks:
            return
        results = await asyncio.to_thread(self._engine.analyze_batch, [c.check.image_jpeg for c in checks])
        now = time.monotonic()
        if now - self._gpu_checked > 10:  # the torch query is cheap, but not per batch
            self._gpu_checked = now
            metrics.update_gpu_memory()
        frames = [r for r in results if isinstance(r, FrameResult)]
        for stage in ("decode", "detect", "classify"):
            metrics.MODEL_SECONDS.labels(stage).observe(sum(getattr(r, f"{stage}_ms") for r in frames) / 1000)
        for received, result in zip(checks, results, strict=True):
            analysis = _analysis(received, result)
            await self._queue.add(self._streams.analyses.name, "gate_analysis", analysis.to_json())
            log.info(
                "gate %s: check %s analysed: %s",
                received.check.gate_id,
                received.check.check_id,
                analysis.image_error or f"{len(analysis.faces)} face(s)",
            )


def _analysis(received: ReceivedGateCheck, result: FrameResult | FrameError) -> GateAnalysis:
    check = received.check
    common = {
        "gate_id": check.gate_id,
        "check_id": check.check_id,
        "captured_at": check.captured_at,
        "received_at": received.received_at,
        "analyzed_at": utc_now(),
        "temperature": check.temperature,
        "offline": check.offline,
    }
    if isinstance(result, FrameError):
        return GateAnalysis.model_validate(common | {"image_error": f"{result.code}: {result.message}"})
    faces = [
        AnalyzedFace(
            box=(f.box.x1, f.box.y1, f.box.x2, f.box.y2),
            label=f.label,
            score=min(1.0, max(0.0, f.score)),
            detector_score=min(1.0, max(0.0, f.box.score)),
        )
        for f in result.faces
    ]
    return GateAnalysis.model_validate(
        common
        | {
            "faces": faces,
            "decode_ms": result.decode_ms,
            "detect_ms": result.detect_ms,
            "classify_ms": result.classify_ms,
        }
    )
