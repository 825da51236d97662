"""Synthetic `incorrect` close-ups and the class draw: deterministic, well-formed, upper face untouched."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from training.classifier_training import LABELS, _draw_epoch
from training.dataset import DATA_DIR_ENV, Scene, resolve_data_dir
from training.training_data import Sample, synthetic_incorrect


def _faces(n: int, seed: int) -> list[np.ndarray]:
    rng = np.random.default_rng(seed)
    return [rng.integers(0, 256, (int(rng.integers(60, 128)), 96, 3), dtype=np.uint8) for _ in range(n)]


def test_synthetic_incorrect_is_seeded_and_leaves_the_upper_face():
    masked, bare = _faces(5, 1), _faces(5, 2)
    first = synthetic_incorrect(masked, bare, 12, 2, seed=3)
    again = synthetic_incorrect(masked, bare, 12, 2, seed=3)
    other = synthetic_incorrect(masked, bare, 12, 2, seed=4)
    assert len(first) == 12
    assert all(s.label == 2 and s.close_up for s in first)
    assert all(np.array_equal(a.patch, b.patch) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a.patch, b.patch) for a, b in zip(first, other, strict=True))
    for s in first:
        h, w = s.patch.shape[:2]
        assert s.box == (0.0, 0.0, float(w), float(h))
        same_size = [f for f in bare if f.shape == s.patch.shape]
        # eyes and nose (top half) are never covered, the lower face is
        assert any(np.array_equal(s.patch[: h // 2], f[: h // 2]) for f in same_size)
        assert any(not np.array_equal(s.patch[h // 2 :], f[h // 2 :]) for f in same_size)


def test_synthetic_incorrect_needs_unmasked_faces():
    assert synthetic_incorrect(_faces(3, 1), [], 10, 2, seed=0) == []
    assert len(synthetic_incorrect([], _faces(3, 1), 4, 2, seed=0)) == 4  # painted only


def test_incorrect_scene_share_controls_real_vs_synthetic_draws():
    patch = np.zeros((8, 8, 3), dtype=np.uint8)
    box = (0.0, 0.0, 8.0, 8.0)
    incorrect = LABELS.index("incorrect")
    samples = [Sample(patch, box, c, close_up=False) for c in range(len(LABELS))]
    samples.append(Sample(patch, box, incorrect, close_up=True))
    order = _draw_epoch(samples, 20000, 0.5, np.random.default_rng(0), incorrect_scene_share=0.8)
    drawn = [samples[i] for i in order if samples[i].label == incorrect]
    real = sum(not s.close_up for s in drawn) / len(drawn)
    assert 0.75 < real < 0.85
    assert 0.12 < len(drawn) / len(order) < 0.18


def test_detector_boxes_split_into_faces_with_their_labels_and_background():
    from services.inference.model.interface import FaceBox
    from training.dataset import LabelledBox
    from training.training_data import sort_detections

    truth = (LabelledBox("mask", 10, 10, 60, 70), LabelledBox("no_mask", 200, 20, 250, 80))
    boxes = [
        FaceBox(14, 16, 62, 74, 0.9),  # on the masked face, a little off
        FaceBox(190, 30, 240, 95, 0.2),  # on the bare face, IoU about 0.45
        FaceBox(100, 120, 140, 170, 0.6),  # on nothing: background
        FaceBox(25, 25, 85, 95, 0.3),  # half on the masked face (IoU 0.28): neither a face nor background
    ]
    faces, background = sort_detections(boxes, truth)
    assert faces == [
        ((14.0, 16.0, 62.0, 74.0), "mask"),
        ((190.0, 30.0, 240.0, 95.0), "no_mask"),
    ]
    assert background == [(100.0, 120.0, 140.0, 170.0)]


def test_the_five_folds_hold_out_each_scene_exactly_once():
    from training.dataset import FOLDS, is_holdout, split_scenes

    scenes = [Scene(Path(f"scene{i}.jpg"), ()) for i in range(200)]
    held_out = [split_scenes(scenes, fold)[1] for fold in range(FOLDS)]
    assert sorted(s.image_path.name for part in held_out for s in part) == sorted(
        s.image_path.name for s in scenes
    )
    assert all(20 <= len(part) <= 60 for part in held_out)
    assert split_scenes(scenes) == split_scenes(scenes, 0)
    assert split_scenes(scenes, None) == (scenes, [])
    with pytest.raises(ValueError, match="fold"):
        is_holdout("scene0.jpg", FOLDS)


def test_the_data_directory_defaults_to_shared_data_beside_the_checkout(monkeypatch, tmp_path: Path):
    """`maskwatch train` and `evaluate` without --data-dir read ../shared/data next to the repository."""
    checkout = Path(__file__).resolve().parents[2]
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    assert resolve_data_dir() == (checkout.parent / "shared" / "data").resolve()
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path))
    assert resolve_data_dir() == tmp_path
    assert resolve_data_dir(tmp_path / "given") == tmp_path / "given"
