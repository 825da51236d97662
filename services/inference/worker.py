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
from maskwatch.consumer import ConsumerSettings, consume_messages
from maskwatch.contracts import AnalyzedFace, GateAnalysis, Message, ReceivedGateCheck
from maskwatch.contracts.common import utc_now
from maskwatch.queue import QueueSettings, WorkQueue
from maskwatch.streams import Group, Streams, append
from services.inference.model.interface import Engine, FrameError, FrameResult

log = logging.getLogger(__name__)


class InferenceWorker:
    def __init__(
        self,
        engine: Engine,
        queue: WorkQueue,
        queue_settings: QueueSettings,
        settings: ConsumerSettings,
        *,
        name: str = "inference-1",
    ) -> None:
        self._engine = engine
        self._queue = queue
        self._queue_settings = queue_settings
        self._settings = settings
        self._streams = Streams(queue_settings.prefix)
        self.name = name
        self._gpu_checked = float("-inf")

    async def run(self, stop: asyncio.Event, *, burst: bool = False) -> int:
        return await consume_messages(
            self._queue,
            self._streams.checks.read_by(Group.INFERENCE),
            consumer=self.name,
            handle=self.handle_batch,
            settings=self._settings,
            max_deliveries=self._queue_settings.max_deliveries,
            stop=stop,
            burst=burst,
        )

    async def handle_batch(self, messages: Sequence[Message]) -> None:
        checks = [m for m in messages if isinstance(m, ReceivedGateCheck)]
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
            await append(self._queue, self._streams.analyses, analysis)
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
