"""The batching inference worker: gate checks and camera frames through one model.

A batch is whatever has accumulated when the worker asks (up to `batch_size`),
so under load the model sees full batches and at rest a lone check is not held
back waiting for company. Gate checks fill a batch before camera frames are
read at all: a person at a gate never waits behind a room full of cameras. A
frame that waited too long is dropped and counted instead of analysed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence

from maskwatch import metrics
from maskwatch.consumer import consume_messages
from maskwatch.contracts import (
    AnalyzedFace,
    CameraAnalysis,
    GateAnalysis,
    Message,
    ReceivedCameraFrame,
    ReceivedGateCheck,
)
from maskwatch.contracts.common import utc_now
from maskwatch.queue import QueueSettings, WorkQueue
from maskwatch.streams import Group, Streams, append
from services.inference.model.interface import Engine, FrameError, FrameResult
from services.inference.settings import WorkerSettings

log = logging.getLogger(__name__)


class InferenceWorker:
    def __init__(
        self,
        engine: Engine,
        queue: WorkQueue,
        queue_settings: QueueSettings,
        settings: WorkerSettings,
        *,
        name: str = "inference-1",
    ) -> None:
        self._engine = engine
        self._queue = queue
        self._queue_settings = queue_settings
        self._settings = settings
        self._frame_max_age_s = settings.frame_max_age_s
        self._streams = Streams(queue_settings.prefix)
        self.name = name
        self._gpu_checked = float("-inf")

    async def run(self, stop: asyncio.Event, *, burst: bool = False) -> int:
        return await consume_messages(
            self._queue,
            (self._streams.checks.read_by(Group.INFERENCE), self._streams.frames.read_by(Group.INFERENCE)),
            consumer=self.name,
            handle=self.handle_batch,
            settings=self._settings,
            max_deliveries=self._queue_settings.max_deliveries,
            stop=stop,
            burst=burst,
            limits=(self._settings.batch_size, self._settings.frame_batch_size),
        )

    async def handle_batch(self, messages: Sequence[Message]) -> None:
        checks = [m for m in messages if isinstance(m, ReceivedGateCheck)]
        frames = self._fresh_frames([m for m in messages if isinstance(m, ReceivedCameraFrame)])
        if not checks and not frames:
            return
        images = [c.check.image_jpeg for c in checks] + [f.frame.image_jpeg for f in frames]
        everything = await asyncio.to_thread(self._engine.analyze_batch, images)
        results, frame_results = everything[: len(checks)], everything[len(checks) :]
        await self._publish_frames(frames, frame_results)
        now = time.monotonic()
        if now - self._gpu_checked > 10:  # the torch query is cheap, but not per batch
            self._gpu_checked = now
            metrics.update_gpu_memory()
        analysed = [r for r in everything if isinstance(r, FrameResult)]
        for stage in ("decode", "detect", "classify"):
            metrics.MODEL_SECONDS.labels(stage).observe(
                sum(getattr(r, f"{stage}_ms") for r in analysed) / 1000
            )
        for received, result in zip(checks, results, strict=True):
            analysis = _analysis(received, result)
            await append(self._queue, self._streams.analyses, analysis)
            log.info(
                "gate %s: check %s analysed: %s",
                received.check.gate_id,
                received.check.check_id,
                analysis.image_error or f"{len(analysis.faces)} face(s)",
            )

    def _fresh_frames(self, frames: list[ReceivedCameraFrame]) -> list[ReceivedCameraFrame]:
        """The frames still worth analysing; older ones are dropped and counted per camera."""
        now = utc_now()
        fresh = []
        for received in frames:
            if (now - received.received_at).total_seconds() > self._frame_max_age_s:
                metrics.CAMERA_FRAMES.labels(received.frame.camera_id, "stale").inc()
                log.debug(
                    "camera %s: frame %s stale, dropped", received.frame.camera_id, received.frame.frame_id
                )
            else:
                fresh.append(received)
        return fresh

    async def _publish_frames(
        self, frames: Sequence[ReceivedCameraFrame], results: Sequence[FrameResult | FrameError]
    ) -> None:
        for received, result in zip(frames, results, strict=True):
            frame = received.frame
            analysis = CameraAnalysis(
                camera_id=frame.camera_id,
                frame_id=frame.frame_id,
                captured_at=frame.captured_at,
                received_at=received.received_at,
                analyzed_at=utc_now(),
                faces=_faces(result) if isinstance(result, FrameResult) else [],
                width=result.width if isinstance(result, FrameResult) else 0,
                height=result.height if isinstance(result, FrameResult) else 0,
                image_jpeg=frame.image_jpeg,
                image_error=f"{result.code}: {result.message}" if isinstance(result, FrameError) else None,
            )
            await append(self._queue, self._streams.camera_analyses, analysis)
            outcome = "analysed" if isinstance(result, FrameResult) else "rejected"
            metrics.CAMERA_FRAMES.labels(frame.camera_id, outcome).inc()


def _faces(result: FrameResult) -> list[AnalyzedFace]:
    return [
        AnalyzedFace(
            box=(f.box.x1, f.box.y1, f.box.x2, f.box.y2),
            label=f.label,
            score=min(1.0, max(0.0, f.score)),
            detector_score=min(1.0, max(0.0, f.box.score)),
        )
        for f in result.faces
    ]


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
    faces = _faces(result)
    return GateAnalysis.model_validate(
        common
        | {
            "faces": faces,
            "decode_ms": result.decode_ms,
            "detect_ms": result.detect_ms,
            "classify_ms": result.classify_ms,
        }
    )
