"""The batching inference worker: gate checks, and camera frames behind them.

A batch is whatever has accumulated when the worker asks (up to `batch_size`),
so under load the model sees full batches and at rest a lone check is not held
back waiting for company.

Gate checks are read by `check_readers` consumers (two by default) sharing one
engine: while one reader's batch is in the model, the other reads and decodes
the next, so the model never waits for a decoder. The model runs one batch at
a time (a lock): two batches in the model at once would only split the core.

Gate checks and camera frames are consumers of their own in one process. Frames run on
their own engine in a thread at the lowest CPU priority (`low_priority`), so a
person at a gate never waits behind a room full of cameras: when a check
arrives while frames are being analysed, the scheduler hands the CPU to the
check. A frame that waited too long is dropped and counted instead of analysed.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor
from datetime import datetime
from typing import TypeVar

from maskwatch import metrics
from maskwatch.consumer import ConsumerSettings, consume_messages
from maskwatch.contracts import (
    AnalyzedFace,
    CameraAnalysis,
    GateAnalysis,
    Message,
    ReceivedCameraFrame,
    ReceivedGateCheck,
)
from maskwatch.contracts.common import utc_now
from maskwatch.contracts.gate_analysis import FrameQuality
from maskwatch.queue import QueueSettings, WorkQueue
from maskwatch.streams import Group, Stream, Streams, append_many
from services.inference.face_thumbnails import FaceThumbnails, thumbnails_of
from services.inference.model.interface import (
    BgrImage,
    DecodedFrame,
    Engine,
    FrameError,
    FrameResult,
    StagedEngine,
)
from services.inference.settings import WorkerSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

VERDICT_PATH_S = 0.05
"""Allowed, beside the model's own time, for a verdict's way from the model to the gate (the analysis's
write, the controller's read, claim and policy, the broker): 2-10 ms measured past saturation on two
cores, where the controller shares them with the model."""


class InferenceWorker:
    def __init__(
        self,
        engine: Engine,
        queue: WorkQueue,
        queue_settings: QueueSettings,
        settings: WorkerSettings,
        *,
        frame_engine: Engine | None = None,
        frame_executor: Executor | None = None,
        name: str = "inference-1",
        thumbnails: FaceThumbnails | None = None,
    ) -> None:
        """`frame_engine` analyses camera frames (default: `engine`), in `frame_executor` (default: a
        thread at normal priority); `run_inference` passes a low-priority pair. With `thumbnails`, each
        analysed check's face is kept for the console's feed, in `frame_executor` too."""
        self._engine = engine
        self._frame_engine = frame_engine or engine
        self._frame_executor = frame_executor
        self._queue = queue
        self._queue_settings = queue_settings
        self._settings = settings
        self._frame_max_age_s = settings.frame_max_age_s
        self._streams = Streams(queue_settings.prefix)
        self.name = name
        self._gpu_checked = float("-inf")
        self._thumbnails = thumbnails
        self._thumbnailing: set[asyncio.Future[int]] = set()
        self._model_free = asyncio.Lock()
        self._analysis_s = 0.0
        """How long a batch of checks recently took from its reader to its results (decode, the wait
        for the model, the model): what a check taken now still has ahead of it."""
        self._model_s_per_check = 0.0
        """How long the model recently took per check: with the batch's size and the verdict's way to
        the gate (`VERDICT_PATH_S`), what a check still has ahead once the model is free."""

    async def run(self, stop: asyncio.Event | None = None, *, burst: bool = False) -> int:
        """Both consumers until `stop` (or, in burst mode, until both streams are drained); then the
        thumbnails of what was analysed are written before it returns."""
        stop = stop or asyncio.Event()
        *checks, frames = await asyncio.gather(
            *(
                self._consume(self._streams.checks, self.handle_checks, self._settings, suffix, stop, burst)
                for suffix in self.check_reader_suffixes()
            ),
            self._consume(
                self._streams.frames,
                self.handle_frames,
                self._settings.model_copy(update={"batch_size": self._settings.frame_batch_size}),
                "-frames",
                stop,
                burst,
            ),
        )
        await self._thumbnails_written()
        return sum(checks) + frames

    def check_reader_suffixes(self) -> list[str]:
        """The consumer names' suffixes of the check readers: the first reader keeps the worker's name."""
        return ["" if n == 0 else f"-{n + 1}" for n in range(self._settings.check_readers)]

    async def _consume(
        self,
        stream: Stream,
        handle: Callable[[Sequence[Message]], Awaitable[None]],
        settings: ConsumerSettings,
        suffix: str,
        stop: asyncio.Event,
        burst: bool,
    ) -> int:
        return await consume_messages(
            self._queue,
            stream.read_by(Group.INFERENCE),
            consumer=self.name + suffix,
            handle=handle,
            settings=settings,
            max_deliveries=self._queue_settings.max_deliveries,
            stop=stop,
            burst=burst,
        )

    async def handle_frames(self, messages: Sequence[Message]) -> None:
        frames = self._fresh_frames([m for m in messages if isinstance(m, ReceivedCameraFrame)])
        if not frames:
            return
        loop = asyncio.get_running_loop()
        results = await loop.run_in_executor(
            self._frame_executor, self._frame_engine.analyze_batch, [f.frame.image_jpeg for f in frames]
        )
        await self._publish_frames(frames, results)
        self._observe(results)

    async def handle_checks(self, messages: Sequence[Message]) -> None:
        received = [m for m in messages if isinstance(m, ReceivedGateCheck)]
        if not received:
            return
        started = time.perf_counter()
        checks = await self._answered_if_late(received, ahead_s=self._analysis_s)
        if not checks:
            return
        checks, results, photos = await self._analyze(checks)
        if not checks:
            return
        self._analysis_s = _smoothed(self._analysis_s, time.perf_counter() - started)
        self._observe(results)
        analyses = [_analysis(check, result) for check, result in zip(checks, results, strict=True)]
        await append_many(self._queue, self._streams.analyses, analyses)  # one round trip per batch
        self._keep_thumbnails(checks, results, photos)
        for check, analysis in zip(checks, analyses, strict=True):
            log.debug(
                "gate %s: check %s analysed: %s",
                check.check.gate_id,
                check.check.check_id,
                analysis.image_error or f"{len(analysis.faces)} face(s)",
            )
        log.info(
            "%s: %d check(s) analysed in %.0f ms (gates %s)",
            self.name,
            len(checks),
            (time.perf_counter() - started) * 1000,
            ", ".join(sorted({c.check.gate_id for c in checks})),
        )

    async def _answered_if_late(
        self, received: list[ReceivedGateCheck], *, ahead_s: float
    ) -> list[ReceivedGateCheck]:
        """The checks still worth analysing; those whose verdict could not be ready within the deadline
        with `ahead_s` of work still ahead of them are answered "try again" at once, before the model
        runs on the others."""
        checks, late = split_by_deadline(
            received, now=utc_now(), deadline_s=self._settings.check_deadline_s, ahead_s=ahead_s
        )
        for check, waited_s in late:
            metrics.CHECKS_TOO_LATE.labels(check.check.gate_id).inc()
            log.warning(
                "gate %s: check %s waited %.2f s; with %.2f s of analysis ahead it would pass the "
                "%.1f s deadline: answered try again",
                check.check.gate_id,
                check.check.check_id,
                waited_s,
                ahead_s,
                self._settings.check_deadline_s,
            )
        if late:
            await append_many(
                self._queue, self._streams.analyses, [_late_analysis(c, waited_s) for c, waited_s in late]
            )
        return checks

    async def _analyze(
        self, checks: list[ReceivedGateCheck]
    ) -> tuple[list[ReceivedGateCheck], list[FrameResult | FrameError], list[BgrImage | None]]:
        """The checks the model ran on, their results and their decoded photos (None where the engine
        keeps them to itself, for the thumbnails). Decoding runs outside the model's lock (beside the
        batch in the model); a check that waited for the model past what the deadline allows is
        answered "try again" once the model is free, rather than run late."""
        engine = self._engine
        if isinstance(engine, StagedEngine):
            decoded = await asyncio.to_thread(engine.decode_batch, [c.check.image_jpeg for c in checks])
            async with self._model_free:
                fresh = await self._answered_if_late(checks, ahead_s=self._model_ahead_s(len(checks)))
                kept = {id(c) for c in fresh}
                decoded = [d for c, d in zip(checks, decoded, strict=True) if id(c) in kept]
                results = await self._timed_model_run(engine.analyze_decoded, decoded)
            return fresh, results, [d.image if isinstance(d, DecodedFrame) else None for d in decoded]
        async with self._model_free:
            fresh = await self._answered_if_late(checks, ahead_s=self._model_ahead_s(len(checks)))
            results = await self._timed_model_run(engine.analyze_batch, [c.check.image_jpeg for c in fresh])
            return fresh, results, [None] * len(fresh)

    async def _timed_model_run(
        self, run: Callable[[list[T]], list[FrameResult | FrameError]], batch: list[T]
    ) -> list[FrameResult | FrameError]:
        """`run(batch)` in a thread, its time per check kept; nothing for an empty batch."""
        if not batch:
            return []
        started = time.perf_counter()
        results = await asyncio.to_thread(run, batch)
        per_check_s = (time.perf_counter() - started) / len(batch)
        self._model_s_per_check = _smoothed(self._model_s_per_check, per_check_s)
        return results

    def _model_ahead_s(self, checks: int) -> float:
        return self._model_s_per_check * checks + VERDICT_PATH_S

    def _keep_thumbnails(
        self,
        checks: Sequence[ReceivedGateCheck],
        results: Sequence[FrameResult | FrameError],
        photos: Sequence[BgrImage | None],
    ) -> None:
        """Cut the faces for the console's feed behind the analyses, at low priority, never awaited."""
        if self._thumbnails is None or not self._thumbnails.enabled:
            return
        cuts = thumbnails_of(
            [
                (c.check.check_id, c.check.gate_id, c.check.image_jpeg, r, photo)
                for c, r, photo in zip(checks, results, photos, strict=True)
            ]
        )
        if cuts:
            future = asyncio.get_running_loop().run_in_executor(
                self._frame_executor, self._thumbnails.keep, cuts
            )
            self._thumbnailing.add(future)
            future.add_done_callback(self._thumbnailing.discard)

    async def _thumbnails_written(self) -> None:
        """Until the thumbnails of the batches handled so far are stored."""
        if self._thumbnailing:
            await asyncio.gather(*self._thumbnailing, return_exceptions=True)

    def _observe(self, results: Sequence[FrameResult | FrameError]) -> None:
        now = time.monotonic()
        if now - self._gpu_checked > 10:  # the torch query is cheap, but not per batch
            self._gpu_checked = now
            metrics.update_gpu_memory()
        analysed = [r for r in results if isinstance(r, FrameResult)]
        for stage in ("decode", "detect", "classify"):
            metrics.MODEL_SECONDS.labels(stage).observe(
                sum(getattr(r, f"{stage}_ms") for r in analysed) / 1000
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
        analyses: list[CameraAnalysis] = []
        for received, result in zip(frames, results, strict=True):
            frame = received.frame
            analysis = CameraAnalysis(
                camera_id=frame.camera_id,
                frame_id=frame.frame_id,
                captured_at=frame.captured_at,
                received_at=received.received_at,
                analyzed_at=utc_now(),
                faces=analyzed_faces(result) if isinstance(result, FrameResult) else [],
                width=result.width if isinstance(result, FrameResult) else 0,
                height=result.height if isinstance(result, FrameResult) else 0,
                image_jpeg=frame.image_jpeg,
                image_error=f"{result.code}: {result.message}" if isinstance(result, FrameError) else None,
            )
            analyses.append(analysis)
        await append_many(self._queue, self._streams.camera_analyses, analyses)
        for analysis in analyses:
            outcome = "analysed" if analysis.image_error is None else "rejected"
            metrics.CAMERA_FRAMES.labels(analysis.camera_id, outcome).inc()


def analyzed_faces(result: FrameResult) -> list[AnalyzedFace]:
    """The faces of a result as the gate controller and the monitor receive them (the gate validation
    sends its frames through this too, so it judges what the policy is handed)."""
    return [
        AnalyzedFace(
            box=(f.box.x1, f.box.y1, f.box.x2, f.box.y2),
            label=f.label,
            score=min(1.0, max(0.0, f.score)),
            detector_score=min(1.0, max(0.0, f.box.score)),
            nose_uncovered=f.nose_uncovered,
        )
        for f in result.faces
    ]


def _smoothed(recent: float, latest: float) -> float:
    """A moving average of recent timings that follows a change within a few batches (the first
    timing stands alone)."""
    return latest if recent == 0 else 0.8 * recent + 0.2 * latest


def split_by_deadline(
    received: Sequence[ReceivedGateCheck], *, now: datetime, deadline_s: float, ahead_s: float
) -> tuple[list[ReceivedGateCheck], list[tuple[ReceivedGateCheck, float]]]:
    """The checks still worth analysing, and those whose verdict could no longer reach the gate within
    the deadline, with how long they waited: a check is late when what it waited plus what analysing it
    takes (`ahead_s`, the recent batches' time) passes the deadline, so under overload no verdict
    arrives later than the deadline; it is answered "try again" at once instead. Offline records (the
    gate decided long ago) are always analysed."""
    fresh: list[ReceivedGateCheck] = []
    late: list[tuple[ReceivedGateCheck, float]] = []
    for check in received:
        waited_s = (now - check.received_at).total_seconds()
        if check.check.offline is None and waited_s + ahead_s > deadline_s:
            late.append((check, waited_s))
        else:
            fresh.append(check)
    return fresh, late


def _late_analysis(received: ReceivedGateCheck, waited_s: float) -> GateAnalysis:
    check = received.check
    return GateAnalysis(
        gate_id=check.gate_id,
        check_id=check.check_id,
        captured_at=check.captured_at,
        received_at=received.received_at,
        analyzed_at=utc_now(),
        temperature=check.temperature,
        late_by_s=round(waited_s, 3),
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
    faces = analyzed_faces(result)
    return GateAnalysis.model_validate(
        common
        | {
            "faces": faces,
            "frame": _frame_quality(result),
            "decode_ms": result.decode_ms,
            "detect_ms": result.detect_ms,
            "classify_ms": result.classify_ms,
        }
    )


def _frame_quality(result: FrameResult) -> FrameQuality | None:
    """The frame's size, light and focus for the gate's guidance; None from an engine that measures none."""
    if result.brightness is None or result.sharpness is None:
        return None
    return FrameQuality(
        width=result.width,
        height=result.height,
        brightness=min(255.0, max(0.0, result.brightness)),
        sharpness=max(0.0, result.sharpness),
    )
