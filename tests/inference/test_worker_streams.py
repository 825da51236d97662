"""The worker analyses gate checks and camera frames on separate engines, frames in a low-priority thread."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from uuid import uuid4

from maskwatch.consumer import decode_entry
from maskwatch.contracts import (
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

NO_DEADLINE_S = 600.0
"""Checks older than this are answered "try again" unrun: far beyond any test's own run time."""


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
            WorkerSettings(block_ms=20, frame_max_age_s=5.0, check_deadline_s=NO_DEADLINE_S),
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
    monitoring = streams.camera_analyses.read_by(Group.MONITORING)
    camera = await queue.read(monitoring, "t", 10, 20)
    assert len(analyses) == 2
    assert all(isinstance(decode(GateAnalysis, e.data), GateAnalysis) for e in analyses)
    assert len(camera) == 2
    assert decode_entry(monitoring, camera[0]).camera_id == "hall-1"


def late_check(waited_s: float, *, offline: bool = False) -> ReceivedGateCheck:
    from maskwatch.contracts.gate_check import OfflineDecision

    now = datetime.now(UTC)
    check = GateCheck(
        gate_id="door-2",
        check_id=uuid4(),
        captured_at=now - timedelta(seconds=waited_s),
        image_jpeg=sample_jpeg("mask"),
        offline=OfflineDecision(decision="deny", decided_at=now) if offline else None,
    )
    return ReceivedGateCheck(check=check, received_at=now - timedelta(seconds=waited_s))


async def test_a_check_past_its_deadline_is_answered_not_analysed(unique_id):
    queue = open_queue("memory://")
    streams = Streams(f"test-{unique_id}")
    late, fresh, record = late_check(9.0), late_check(0.0), late_check(9.0, offline=True)
    for message in (late, fresh, record):
        await append(queue, streams.checks, message)
    engine = RecordingEngine()
    worker = InferenceWorker(
        engine,
        queue,
        QueueSettings(prefix=f"test-{unique_id}"),
        WorkerSettings(block_ms=20, check_deadline_s=2.0),
    )
    await worker.run(burst=True)

    assert [n for n, _ in engine.calls] == [2]  # the fresh check and the offline record, not the late one
    entries = await queue.read(streams.analyses.read_by(Group.GATE_CONTROLLER), "t", 10, 20)
    analyses = {a.check_id: a for a in (decode(GateAnalysis, e.data) for e in entries)}
    assert analyses[late.check.check_id].late_by_s is not None
    assert analyses[late.check.check_id].late_by_s >= 9.0
    assert analyses[late.check.check_id].faces == []
    assert analyses[fresh.check.check_id].late_by_s is None
    assert analyses[record.check.check_id].late_by_s is None  # the gate already decided: record it


def test_a_check_is_late_when_its_analysis_would_end_past_the_deadline():
    """Under overload a check taken just before its deadline would still be answered after it: what the
    worker's recent batches took counts, so no verdict arrives later than the deadline."""
    from services.inference.worker import split_by_deadline

    early, near = late_check(1.0), late_check(1.9)
    record = late_check(5.0, offline=True)
    now = early.received_at + timedelta(seconds=1.0)

    fresh, late = split_by_deadline([early, near, record], now=now, deadline_s=2.0, ahead_s=0.0)
    assert fresh == [early, near, record]
    assert late == []

    fresh, late = split_by_deadline([early, near, record], now=now, deadline_s=2.0, ahead_s=0.3)
    assert fresh == [early, record]  # an offline record is analysed whatever it waited
    assert [(c, round(w, 1)) for c, w in late] == [(near, 1.9)]


async def test_workers_sharing_the_checks_analyse_each_once(redis_url, unique_id):
    import asyncio

    prefix = f"test-{unique_id}"
    queue = open_queue(redis_url, claim_idle_ms=30_000)
    streams = Streams(prefix)
    checks = [received_check() for _ in range(24)]
    engines = [RecordingEngine(), RecordingEngine()]
    workers = [
        InferenceWorker(
            engine,
            queue,
            QueueSettings(prefix=prefix),
            # No deadline here: a loaded machine must not turn these checks into "try again" answers.
            WorkerSettings(block_ms=20, batch_size=2, check_deadline_s=NO_DEADLINE_S),
            name=f"{prefix}-inference-{n}",
        )
        for n, engine in enumerate(engines)
    ]
    await queue.ensure_group(streams.checks.read_by(Group.INFERENCE))
    await queue.ensure_group(streams.analyses.read_by(Group.GATE_CONTROLLER))
    for message in checks:
        await append(queue, streams.checks, message)
    try:
        await asyncio.gather(*(w.run(burst=True) for w in workers))
        entries = await queue.read(streams.analyses.read_by(Group.GATE_CONTROLLER), "t", 100, 20)
    finally:
        import redis

        client = redis.Redis.from_url(redis_url)
        client.delete(*[k for k in client.scan_iter(f"{prefix}:*")] or ["none"])
        await queue.close()
    ids = [decode(GateAnalysis, e.data).check_id for e in entries]
    assert sorted(map(str, ids)) == sorted(str(c.check.check_id) for c in checks)  # each exactly once
    assert sum(n for engine in engines for n, _ in engine.calls) == len(checks)
