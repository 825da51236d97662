"""Snapshots: every other face blurred before storage, kept for the retention period, then purged."""

from __future__ import annotations

import os
import time

import cv2
import numpy as np

from maskwatch.snapshots import SnapshotSettings, SnapshotStore
from services.monitoring.snapshot import blur_faces, make_snapshot
from stack.demo.indoor_scene import Actor, portrait_face, render

ALERT = "0f8fad5b-d9cb-469f-a165-70867728950e"


def test_purge_deletes_only_what_is_past_retention(tmp_path):
    store = SnapshotStore(SnapshotSettings(directory=tmp_path, keep_days=30))
    old = store.save(ALERT, "snapshot", b"\xff\xd8\xff old")
    new = store.save(ALERT.replace("0f8f", "1f8f"), "snapshot", b"\xff\xd8\xff new")
    now = time.time()
    os.utime(tmp_path / old, (now - 31 * 86400, now - 31 * 86400))
    (tmp_path / "not-a-snapshot.txt").write_text("kept: not ours")
    assert store.purge(now) == 1
    assert store.path(old) is None
    assert store.path(new) is not None
    assert (tmp_path / "not-a-snapshot.txt").exists()


def test_only_snapshot_names_are_served(tmp_path):
    store = SnapshotStore(SnapshotSettings(directory=tmp_path))
    (tmp_path.parent / "secret.jpg").write_bytes(b"x")
    assert store.path("../secret.jpg") is None
    assert store.path(f"{ALERT}-snapshot.jpg") is None  # a valid name that was never stored


def test_the_alerted_person_stays_sharp_and_the_bystander_is_unrecognisable():
    faces = {"mask": portrait_face("mask"), "no_mask": portrait_face("no_mask")}
    image = render(
        [Actor(faces, lambda t: (200, 220), unmasked=[(0, 9)]), Actor(faces, lambda t: (470, 230))], 0
    )
    person, bystander = (150, 160, 250, 280), (420, 170, 520, 290)
    jpeg = cv2.imencode(".jpg", image)[1].tobytes()
    whole, crop = make_snapshot(jpeg, person, [bystander])
    stored = cv2.imdecode(np.frombuffer(whole, np.uint8), cv2.IMREAD_COLOR)

    def detail(img: np.ndarray, box: tuple[int, int, int, int]) -> float:
        x1, y1, x2, y2 = box
        return float(cv2.Laplacian(cv2.cvtColor(img[y1:y2, x1:x2], cv2.COLOR_BGR2GRAY), cv2.CV_64F).var())

    inner = (175, 185, 225, 255)  # inside the person's box, clear of the drawn rectangle
    assert detail(stored, bystander) < detail(image, bystander) / 10
    assert detail(stored, inner) > detail(image, inner) / 2
    assert cv2.imdecode(np.frombuffer(crop, np.uint8), cv2.IMREAD_COLOR).shape[0] > 100


def test_blurring_leaves_the_rest_of_the_frame_alone():
    image = np.random.default_rng(0).integers(0, 255, (100, 100, 3), dtype=np.uint8)
    out = blur_faces(image, [(10, 10, 30, 30)])
    assert np.array_equal(out[50:, 50:], image[50:, 50:])
    assert not np.array_equal(out[10:30, 10:30], image[10:30, 10:30])
