"""The worker analyses gate checks and camera frames on separate engines, frames in a low-priority thread."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from maskwatch.contracts import (
    CameraAnalysis,
    CameraFrame,
    GateAnalysis,
    GateCheck,
    ReceivedCameraFrame,
    ReceivedGateCheck,
    decode,
)
from maskwatch.queue import QueueSettings, open_queue
from maskwatch.streams import Group, Streams, append
from services.inference.low_priority import low_priority_executor
from services.inference.model.interface import FrameError, FrameResult
from services.inference.settings import WorkerSettings
from services.inference.worker import InferenceWorker
from stack.demo.sample_faces import sample_jpeg


class RecordingEngine:
    """Answers every frame with no faces, and remembers which thread asked and at what nice value."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def analyze_batch(self, images: Sequence[bytes]) -> list[FrameResult | FrameError]:
        self.calls.append((len(images), os.getpriority(os.PRIO_PROCESS, threading.get_native_id())))
        return [FrameResult((), 640, 480, 1.0, 1.0, 0.0) for _ in images]


def received_frame(age_s: float = 0.0) -> ReceivedCameraFrame:
    now = datetime.now(UTC)
    frame = CameraFrame(
        camera_id="hall-1", frame_id=uuid4(), captured_at=now, image_jpeg=b"\xff\xd8\xff frame"
    )
    return ReceivedCameraFrame(frame=frame, received_at=now - timedelta(seconds=age_s))


def received_check() -> ReceivedGateCheck:
    now = datetime.now(UTC)
    check = GateCheck(gate_id="door-1", check_id=uuid4(), captured_at=now, image_jpeg=sample_jpeg("mask"))
    return ReceivedGateCheck(check=check, received_at=now)


async def test_checks_and_frames_go_to_their_own_engines_and_stale_frames_are_dropped(unique_id):
    queue = open_queue("memory://")
    streams = Streams(f"test-{unique_id}")
    for message in (received_check(), received_check()):
        await append(queue, streams.checks, message)
    for message in (received_frame(), received_frame(age_s=60), received_frame()):
        await append(queue, streams.frames, message)
    checks_engine, frames_engine = RecordingEngine(), RecordingEngine()
    frames = low_priority_executor()
    try:
        worker = InferenceWorker(
            checks_engine,
            queue,
            QueueSettings(prefix=f"test-{unique_id}"),
            WorkerSettings(block_ms=20, frame_max_age_s=5.0),
            frame_engine=frames_engine,
            frame_executor=frames,
        )
        await worker.run(burst=True)
    finally:
        frames.shutdown()

    assert [n for n, _ in checks_engine.calls] == [2]
    assert [n for n, _ in frames_engine.calls] == [2]  # the 60-second-old frame was dropped, not analysed
    assert checks_engine.calls[0][1] < 19
    assert frames_engine.calls[0][1] == 19  # frames run at the lowest priority

    analyses = await queue.read(streams.analyses.read_by(Group.GATE_CONTROLLER), "t", 10, 20)
    camera = await queue.read(streams.camera_analyses.read_by(Group.MONITORING), "t", 10, 20)
    assert len(analyses) == 2
    assert all(isinstance(decode(GateAnalysis, e.data), GateAnalysis) for e in analyses)
    assert len(camera) == 2
    assert decode(CameraAnalysis, camera[0].data).camera_id == "hall-1"
