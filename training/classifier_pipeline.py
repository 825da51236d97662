"""From a data directory to committed-ready weights: samples, training, export, sidecar."""

from __future__ import annotations

import platform
from pathlib import Path

import torch

from services.inference.model.config import UltraFaceConfig, int8_path, with_stock_weights
from services.inference.model.crops import CROP_MARGIN
from services.inference.model.detectors import build_detector
from services.inference.model.sidecar import ClassifierSidecar, write_sidecar
from training.classifier_training import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    LABELS,
    build_samples,
    train_classifier,
)
from training.crop_review import load_review, relabelled
from training.dataset import (
    load_crop_folder,
    load_voc_scenes,
    scene_split_text,
    split_crops,
    split_scenes,
)
from training.export import export_onnx, export_state_dict
from training.quantize import calibration_scenes, quantize_classifier
from training.settings import TrainSettings

CLASSIFIER_NAME = "mask_classifier"
MINING_DETECTOR = with_stock_weights(UltraFaceConfig(precision="fp32", min_score=0.15))
"""The detector whose false positives become `background` samples, pinned to the one the committed
weights were mined with. Serving now runs the int8 graph at 0.1, but mining with that finds twice the
background (1793 boxes, not 905), and in a measured run it cost held-out `incorrect` AP50 0.43 -> 0.30
and large-face label accuracy 96.9% -> 95.9% (docs/model-card.md, "Retraining")."""


def run_training(
    data_dir: Path,
    pretrained: Path | None,
    out_dir: Path,
    settings: TrainSettings,
    fold: int = 0,
    all_scenes: bool = False,
) -> Path:
    """Train on the crop set plus the training split of the dev scenes; returns the fp32 ONNX path written
    (its int8 copy, .pt state dict and .json sidecar beside it).

    `fold` picks the held-out fifth of both sets; `all_scenes` trains on every dev scene instead (the
    final fit), while the crop set keeps its split so the crop metric stays a held-out one.

    Background samples are mined with `MINING_DETECTOR`, so the classifier learns the mistakes of the
    detector it sits behind.
    """
    scenes = load_voc_scenes(data_dir / "scenes" / "dev")
    scene_fold = None if all_scenes else fold
    train_scenes, holdout_scenes = split_scenes(scenes, scene_fold)
    detector = build_detector(MINING_DETECTOR)
    crops_dir = data_dir / "crops" / "train"
    train_crops, holdout_crops = split_crops(load_crop_folder(crops_dir) if crops_dir.is_dir() else [], fold)
    if settings.crop_review:
        train_crops = relabelled(train_crops, load_review())
    samples, counts = build_samples(
        train_crops,
        train_scenes,
        detector.detect,
        settings.synthetic_incorrect,
        settings.seed,
        settings.detector_positives,
    )
    holdout_samples, _ = build_samples([], holdout_scenes, lambda _image: [])
    trained = train_classifier(samples, holdout_samples, pretrained, settings)
    out_dir.mkdir(parents=True, exist_ok=True)
    onnx_path = out_dir / f"{CLASSIFIER_NAME}.onnx"
    export_onnx(trained.model, onnx_path, settings.input_size)
    export_state_dict(trained.model, onnx_path.with_suffix(".pt"))
    sidecar = ClassifierSidecar(
        labels=list(LABELS),
        input_size=settings.input_size,
        mean=IMAGENET_MEAN,
        std=IMAGENET_STD,
        crop_margin=CROP_MARGIN,
        training={
            "pretrained": "torchvision MobileNetV2 ImageNet (mobilenet_v2-b0353104.pth)"
            if pretrained
            else None,
            "data": {
                "crop_set": "crops/train training split (4 of 5 by name hash)"
                + (", reviewed labels (training/crop_label_review.csv)" if settings.crop_review else ""),
                "crop_set_held_out": f"crops/train held-out split: {len(holdout_crops)} images",
                "scenes": scene_split_text(scene_fold, len(train_scenes)),
                "held_out": f"scenes/dev held-out split: {len(holdout_scenes)} images",
                "fold": fold,
                "scene_fold": scene_fold,
                "samples": counts,
                "background_mined_with": MINING_DETECTOR.model_dump(
                    mode="json", include={"type", "precision", "min_score", "input_size", "box_adjust"}
                ),
            },
            "settings": settings.__dict__,
            "history": trained.history,
            "seconds": round(trained.seconds, 1),
            "torch": torch.__version__,
            "machine": platform.machine(),
        },
    )
    write_sidecar(onnx_path, sidecar)
    quantize_classifier(onnx_path, int8_path(onnx_path), calibration_scenes(scenes, scene_fold))
    return onnx_path
