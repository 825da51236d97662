"""The worker keeps a small thumbnail of each analysed check's face (in its low-priority thread), none
when there is no face or retention is 0, and thumbnails past retention are neither served nor kept."""

from __future__ import annotations

import io
import os
import time
from datetime import UTC, datetime
from uuid import uuid4

import cv2
import numpy as np
import pytest
from PIL import Image

from maskwatch.contracts import GateCheck, ReceivedGateCheck
from maskwatch.face_crops import FaceCropSettings, FaceCropStore
from maskwatch.queue import QueueSettings, open_queue
from maskwatch.streams import Streams, append
from services.inference.engine import MaskEngine
from services.inference.face_thumbnails import FaceThumbnails, cut, cut_decoded
from services.inference.low_priority import low_priority_executor
from services.inference.settings import WorkerSettings
from services.inference.worker import InferenceWorker
from stack.demo.sample_faces import sample_jpeg


def received(photo: str) -> ReceivedGateCheck:
    now = datetime.now(UTC)
    check = GateCheck(gate_id="door-1", check_id=uuid4(), captured_at=now, image_jpeg=sample_jpeg(photo))
    return ReceivedGateCheck(check=check, received_at=now)


async def run_worker(
    engine: MaskEngine, settings: FaceCropSettings, unique_id: str, *checks: ReceivedGateCheck
):
    queue = open_queue("memory://")
    streams = Streams(f"test-{unique_id}")
    for check in checks:
        await append(queue, streams.checks, check)
    frames = low_priority_executor()
    try:
        worker = InferenceWorker(
            engine,
            queue,
            QueueSettings(prefix=f"test-{unique_id}"),
            WorkerSettings(block_ms=20, check_deadline_s=600),  # never "too late" on a loaded machine
            frame_executor=frames,
            thumbnails=FaceThumbnails(settings),
        )
        await worker.run(burst=True)  # returns once the thumbnails are written
    finally:
        frames.shutdown()


async def test_a_face_is_kept_small_and_a_photo_without_one_keeps_nothing(
    engine, tmp_path, unique_id
) -> None:
    settings = FaceCropSettings(directory=tmp_path / "faces", size_px=96)
    masked, empty = received("mask"), received("empty")
    await run_worker(engine, settings, unique_id, masked, empty)

    store = FaceCropStore(settings)
    path = store.path(masked.check.check_id)
    assert path is not None
    with Image.open(path) as thumbnail:
        assert thumbnail.format == "JPEG"
        assert max(thumbnail.size) <= 96
        assert min(thumbnail.size) >= 32  # a face, not a sliver
    assert store.path(empty.check.check_id) is None
    assert sorted(p.name for p in settings.directory.iterdir()) == [f"{masked.check.check_id}.jpg"]


async def test_retention_zero_keeps_no_faces(engine, tmp_path, unique_id) -> None:
    settings = FaceCropSettings(directory=tmp_path / "faces", keep_hours=0)
    await run_worker(engine, settings, unique_id, received("mask"))
    assert not settings.directory.exists()


def test_a_thumbnail_past_retention_is_not_served_and_is_purged(tmp_path) -> None:
    store = FaceCropStore(FaceCropSettings(directory=tmp_path, keep_hours=1))
    old, new = uuid4(), uuid4()
    store.save(old, b"\xff\xd8old")
    store.save(new, b"\xff\xd8new")
    now = time.time()
    os.utime(tmp_path / f"{old}.jpg", (now - 3601, now - 3601))
    (tmp_path / "notes.txt").write_text("not a thumbnail: left alone")

    assert store.path(old, now=now) is None
    assert store.path(new, now=now) is not None
    assert store.purge(now=now) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([f"{new}.jpg", "notes.txt"])


def test_a_box_outside_the_photo_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        cut(sample_jpeg("mask"), (5000, 5000, 5100, 5100), 96)


def test_the_thumbnail_keeps_some_context_around_the_face() -> None:
    jpeg = sample_jpeg("mask")
    with Image.open(io.BytesIO(jpeg)) as photo:
        width, height = photo.size
    box = (width * 0.4, height * 0.3, width * 0.6, height * 0.6)
    with Image.open(io.BytesIO(cut(jpeg, box, 512))) as thumbnail:
        w, h = thumbnail.size
    assert w == pytest.approx(width * 0.2 * 1.4, abs=2)
    assert h == pytest.approx(height * 0.3 * 1.4, abs=2)


def test_a_thumbnail_cut_from_the_decoded_photo_matches_one_cut_from_the_jpeg() -> None:
    jpeg = sample_jpeg("mask")
    photo = cv2.imdecode(np.frombuffer(jpeg, np.uint8), cv2.IMREAD_COLOR)
    height, width = photo.shape[:2]
    box = (width * 0.3, height * 0.2, width * 0.7, height * 0.7)
    with (
        Image.open(io.BytesIO(cut(jpeg, box, 96))) as from_jpeg,
        Image.open(io.BytesIO(cut_decoded(photo, box, 96))) as from_photo,
    ):
        assert from_photo.format == "JPEG"
        assert abs(from_photo.width - from_jpeg.width) <= 1
        assert abs(from_photo.height - from_jpeg.height) <= 1
        a = np.asarray(from_jpeg.convert("RGB").resize(from_photo.size), dtype=np.float32)
        b = np.asarray(from_photo.convert("RGB"), dtype=np.float32)
        assert float(np.mean(np.abs(a - b))) < 12  # the same face, up to scaling and compression


def test_a_box_outside_the_decoded_photo_is_refused() -> None:
    photo = np.zeros((480, 640, 3), np.uint8)
    with pytest.raises(ValueError, match="outside"):
        cut_decoded(photo, (5000, 5000, 5100, 5100), 96)
