"""Running the engine over a labelled set and turning its output into the metrics the data README names."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from services.inference.model.config import ModelConfig, UltraFaceConfig, training_record_path
from services.inference.model.crops import read_bgr
from services.inference.model.interface import MASK_LABELS, BgrImage, FrameError, MaskLabel
from services.inference.model.sidecar import read_sidecar
from training.average_precision import (
    PredictedFace,
    TruthFace,
    balanced_accuracy,
    operating_point_recall,
    per_class_recall,
    voc_ap,
)
from training.dataset import Scene

Analyze = Callable[[list[bytes]], list[Any]]


@dataclass(frozen=True, slots=True)
class ScenePredictions:
    truths: list[list[TruthFace]]
    predictions: list[list[PredictedFace]]


def predict_scenes(scenes: list[Scene], analyze: Analyze, batch_size: int = 8) -> ScenePredictions:
    """Every face the engine outputs on every scene, with its score; unreadable images count as no faces."""
    truths: list[list[TruthFace]] = []
    predictions: list[list[PredictedFace]] = []
    for start in range(0, len(scenes), batch_size):
        chunk = scenes[start : start + batch_size]
        results = analyze([s.image_path.read_bytes() for s in chunk])
        for scene, result in zip(chunk, results, strict=True):
            truths.append([TruthFace(b.label, (b.x1, b.y1, b.x2, b.y2)) for b in scene.boxes])
            if isinstance(result, FrameError):
                predictions.append([])
                continue
            predictions.append(
                [
                    PredictedFace(f.label, (f.box.x1, f.box.y1, f.box.x2, f.box.y2), f.score)
                    for f in result.faces
                ]
            )
    return ScenePredictions(truths, predictions)


def scene_metrics(pred: ScenePredictions) -> dict[str, Any]:
    """AP@0.5 per class over all outputs; recall and label accuracy of >= 32 px faces at score >= 0.5."""
    ap = {label: voc_ap(pred.truths, pred.predictions, label) for label in MASK_LABELS}
    op = operating_point_recall(pred.truths, pred.predictions)
    return {
        "images": len(pred.truths),
        "faces": sum(len(t) for t in pred.truths),
        "ap50": {k: None if v is None else round(v, 4) for k, v in ap.items()},
        "faces_32px": op.faces,
        "recall_32px_at_0.5": round(op.recall, 4),
        "label_accuracy_32px_at_0.5": round(op.label_accuracy, 4),
        "found_32px_by_label": {k: f"{found}/{total}" for k, (found, total) in op.found_by_label.items()},
    }


def crop_metrics(
    items: list[tuple[Path, MaskLabel]],
    classify: Callable[[list[BgrImage]], list[tuple[MaskLabel, float]]],
    batch_size: int = 64,
) -> dict[str, Any]:
    """Recall per class and balanced accuracy (mask vs no_mask) over labelled crop images, each one face."""
    truth: list[MaskLabel] = []
    predicted: list[MaskLabel] = []
    for start in range(0, len(items), batch_size):
        chunk = items[start : start + batch_size]
        images: list[BgrImage] = []
        for path, label in chunk:
            image = read_bgr(path)
            if image is None:
                continue
            images.append(image)
            truth.append(label)
        predicted += [label for label, _ in classify(images)]
    recalls = per_class_recall(truth, predicted)
    return {
        "crops": len(truth),
        "recall": {k: None if v is None else round(v, 4) for k, v in recalls.items()},
        "balanced_accuracy": round(balanced_accuracy(truth, predicted), 4),
    }


def stages_trained_on_every_dev_scene(config: ModelConfig) -> list[str]:
    """Which stages of `config` were final-fitted on every dev scene (`--all-scenes`), read from their
    training records, so `evaluate` can say that its dev-scene figures are not a held-out measurement."""
    stages = []
    if isinstance(config.detector, UltraFaceConfig):
        record = training_record_path(config.detector.model_path)
        if record.is_file() and _holds_out_nothing(json.loads(record.read_text()).get("data", {}), "fold"):
            stages.append("detector")
    data = read_sidecar(config.classifier.model_path).training.get("data", {})
    if _holds_out_nothing(data, "scene_fold"):
        stages.append("classifier")
    return stages


def _holds_out_nothing(data: dict[str, Any], key: str) -> bool:
    return key in data and data[key] is None
