"""The committed model still does its job on a sample of the data (skipped without the dataset).

Floors sit below the measured numbers (docs/model-card.md) with room for noise on a small sample, but high
enough that a broken crop, a swapped label order or a wrong normalisation fails them. The committed
weights are a final fit on every dev scene, so the scene floor guards against broken weights and
plumbing, not overfitting; the crop set's held-out fifth is still unseen by them.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from services.inference.engine import MaskEngine
from training.dataset import load_crop_folder, load_voc_scenes, split_crops, split_scenes
from training.evaluation import crop_metrics, predict_scenes, scene_metrics

pytestmark = pytest.mark.needs_data


def test_fold_zero_scenes_meet_the_floor(engine: MaskEngine, data_dir: Path):
    _, holdout = split_scenes(load_voc_scenes(data_dir / "scenes" / "dev"))
    metrics = scene_metrics(predict_scenes(holdout[:50], engine.analyze_batch))
    assert metrics["ap50"]["mask"] >= 0.75
    assert metrics["ap50"]["no_mask"] >= 0.55
    assert metrics["recall_32px_at_0.5"] >= 0.85
    assert metrics["label_accuracy_32px_at_0.5"] >= 0.85


def test_held_out_crops_meet_the_floor(engine: MaskEngine, data_dir: Path):
    _, holdout = split_crops(load_crop_folder(data_dir / "crops" / "train"))
    sample = holdout[::3]
    metrics = crop_metrics(sample, engine.classifier.classify)
    assert metrics["crops"] >= 200
    assert metrics["balanced_accuracy"] >= 0.95
