"""A worker decodes the next batch of checks while the model runs on the current one, and never runs
two batches in the model at once; with one check reader, it decodes, runs, and only then reads on. A
check that waited for the model past its deadline is answered "try again", not run."""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest

from maskwatch.contracts import GateAnalysis, ReceivedGateCheck, decode
from maskwatch.queue import QueueSettings, open_queue
from maskwatch.streams import Group, Streams, append
from services.inference.engine import build_engine
from services.inference.model.interface import DecodedBatch, DecodedFrame, FrameError, FrameResult
from services.inference.settings import WorkerSettings
from services.inference.worker import InferenceWorker
from tests.inference.test_worker_streams import NO_DEADLINE_S, received_check

SECOND_DECODE_WAIT_S = 10.0
"""How long the first model run waits for the next batch's decoding; only a broken overlap waits it out."""


class StagedRecorder:
    """A staged engine that notes the order of decodes and model runs; the first model run holds on
    until a second batch has been decoded (or `wait_s` passed), so an overlap shows as an order."""

    def __init__(self, wait_s: float) -> None:
        self.wait_s = wait_s
        self.events: list[str] = []
        self.in_model = 0
        self.most_in_model = 0
        self._lock = threading.Lock()
        self._second_decoded = threading.Event()
        self._decodes = 0

    def decode_batch(self, images: Sequence[bytes]) -> DecodedBatch:
        with self._lock:
            self._decodes += 1
            self.events.append(f"decode {self._decodes}")
            if self._decodes == 2:
                self._second_decoded.set()
        return [FrameError("empty", "not decoded in this test") for _ in images]

    def analyze_decoded(self, batch: DecodedBatch) -> list[FrameResult | FrameError]:
        with self._lock:
            self.in_model += 1
            self.most_in_model = max(self.most_in_model, self.in_model)
            first = "model start" not in " ".join(self.events)
            self.events.append("model start")
        if first:
            self._second_decoded.wait(self.wait_s)
        with self._lock:
            self.events.append("model end")
            self.in_model -= 1
        return [FrameResult((), 640, 480, 1.0, 1.0, 0.0) for _ in batch]

    def analyze_batch(self, images: Sequence[bytes]) -> list[FrameResult | FrameError]:
        return self.analyze_decoded(self.decode_batch(images))


async def run_two_checks(unique_id: str, engine: StagedRecorder, readers: int) -> int:
    queue = open_queue("memory://")
    prefix = f"test-{unique_id}"
    streams = Streams(prefix)
    for message in (received_check(), received_check()):
        await append(queue, streams.checks, message)
    worker = InferenceWorker(
        engine,
        queue,
        QueueSettings(prefix=prefix),
        WorkerSettings(block_ms=20, batch_size=1, check_readers=readers, check_deadline_s=NO_DEADLINE_S),
    )
    await worker.run(burst=True)
    return len(await queue.read(streams.analyses.read_by(Group.GATE_CONTROLLER), "t", 10, 20))


async def test_the_next_batch_is_decoded_while_the_model_runs(unique_id):
    engine = StagedRecorder(wait_s=SECOND_DECODE_WAIT_S)
    assert await run_two_checks(unique_id, engine, readers=2) == 2
    assert engine.events.index("decode 2") < engine.events.index("model end")
    assert engine.most_in_model == 1  # the second batch waited for the model, decoded
    assert engine.events.count("model start") == 2


async def test_one_reader_decodes_only_once_the_model_is_done(unique_id):
    engine = StagedRecorder(wait_s=0.2)  # the second decode cannot come: waiting longer proves nothing
    assert await run_two_checks(unique_id, engine, readers=1) == 2
    assert engine.events == ["decode 1", "model start", "model end", "decode 2", "model start", "model end"]


@pytest.mark.parametrize("kind", ["mask", "no_mask"])
def test_the_real_engine_in_two_stages_gives_what_it_gives_in_one(kind):
    from stack.demo.sample_faces import sample_jpeg

    engine = build_engine()
    images = [sample_jpeg(kind), b"not an image"]
    decoded = engine.decode_batch(images)
    assert isinstance(decoded[0], DecodedFrame)
    assert isinstance(decoded[1], FrameError)
    staged, whole = engine.analyze_decoded(decoded), engine.analyze_batch(images)
    assert isinstance(staged[0], FrameResult)
    assert isinstance(whole[0], FrameResult)
    assert [(f.label, f.box) for f in staged[0].faces] == [(f.label, f.box) for f in whole[0].faces]
    assert staged[0].faces[0].label == kind
    assert staged[1] == whole[1]


class HeldModel:
    """A staged engine whose first model run holds on until the second check has been decoded and has
    waited past `deadline_s`: that check then meets the deadline again once the model is free."""

    def __init__(self, second: ReceivedGateCheck, deadline_s: float) -> None:
        self.second = second
        self.deadline_s = deadline_s
        self.decoded: list[bytes] = []
        self.analysed: list[int] = []
        self._model_started = threading.Event()
        self._second_decoded = threading.Event()

    def decode_batch(self, images: Sequence[bytes]) -> DecodedBatch:
        if images[0] == self.second.check.image_jpeg:
            self._model_started.wait(SECOND_DECODE_WAIT_S)  # the first check takes the model first
            self._second_decoded.set()
        self.decoded += images
        return [FrameError("empty", "not decoded in this test") for _ in images]

    def analyze_decoded(self, batch: DecodedBatch) -> list[FrameResult | FrameError]:
        self._model_started.set()
        self.analysed.append(len(batch))
        self._second_decoded.wait(SECOND_DECODE_WAIT_S)
        give_up = time.monotonic() + SECOND_DECODE_WAIT_S
        while self._waited_s() <= self.deadline_s and time.monotonic() < give_up:
            time.sleep(0.01)
        return [FrameResult((), 640, 480, 1.0, 1.0, 0.0) for _ in batch]

    def analyze_batch(self, images: Sequence[bytes]) -> list[FrameResult | FrameError]:
        return self.analyze_decoded(self.decode_batch(images))

    def _waited_s(self) -> float:
        return (datetime.now(UTC) - self.second.received_at).total_seconds()


async def test_a_check_that_waited_for_the_model_past_its_deadline_is_answered_not_run(unique_id):
    """Fresh when read and decoded, but the batch ahead of it in the model took it past the deadline: it
    is answered "try again" once the model is free, not analysed late."""
    first = received_check()
    second = received_check()
    second = second.model_copy(
        update={
            "received_at": second.received_at - timedelta(seconds=0.5),
            "check": second.check.model_copy(update={"image_jpeg": b"\xff\xd8\xff the second check"}),
        }
    )
    queue = open_queue("memory://")
    prefix = f"test-{unique_id}"
    streams = Streams(prefix)
    for message in (first, second):
        await append(queue, streams.checks, message)
    engine = HeldModel(second, deadline_s=1.0)
    worker = InferenceWorker(
        engine,
        queue,
        QueueSettings(prefix=prefix),
        WorkerSettings(block_ms=20, batch_size=1, check_readers=2, check_deadline_s=1.0),
    )
    await worker.run(burst=True)

    assert engine.decoded == [first.check.image_jpeg, second.check.image_jpeg]  # both read in time
    assert engine.analysed == [1]  # only the first reached the model
    entries = await queue.read(streams.analyses.read_by(Group.GATE_CONTROLLER), "t", 10, 20)
    analyses = {a.check_id: a for a in (decode(GateAnalysis, e.data) for e in entries)}
    assert analyses[first.check.check_id].late_by_s is None
    late_by_s = analyses[second.check.check_id].late_by_s
    assert late_by_s is not None
    assert late_by_s > 1.0
