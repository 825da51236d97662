"""From a data directory to a served detector: fine-tune the stock UltraFace graph, record, quantize."""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path
from typing import Any

import torch

from services.inference.model.config import UltraFaceConfig, int8_path, training_record_path
from services.inference.model.detectors.ultraface_backend import UltraFaceDetector
from services.inference.model.onnx_torch_graph import load_graph, write_trained_graph
from training.dataset import load_crop_folder, load_voc_scenes, scene_split_text, split_crops, split_scenes
from training.detector.gate_samples import TEACHER_DETECTOR, BoxedCrop, Teacher, boxed_crops
from training.detector.train import train_detector
from training.quantize import calibration_scenes, quantize_detector
from training.settings import DetectorTrainSettings


def run_detector_training(
    data_dir: Path,
    base: Path,
    out: Path,
    settings: DetectorTrainSettings,
    progress: Any = None,
    fold: int | None = 0,
) -> Path:
    """Fine-tune `base` on the dev scenes' training split (every scene when `fold` is None); writes `out`,
    its int8 copy and its record."""
    scenes = load_voc_scenes(data_dir / "scenes" / "dev")
    train_scenes, holdout_scenes = split_scenes(scenes, fold)
    gate_crops: list[BoxedCrop] = []
    unboxed = 0
    crop_folder = data_dir / "crops" / "train"
    if settings.gate_samples > 0 and crop_folder.is_dir():
        # The crop set keeps its own split in a final fit too: its held-out fifth builds the gate frames.
        crop_paths = [path for path, _label in split_crops(load_crop_folder(crop_folder))[0]]
        teacher = Teacher(UltraFaceDetector(UltraFaceConfig(model_path=TEACHER_DETECTOR, precision="fp32")))
        gate_crops, unboxed = boxed_crops(crop_paths, teacher)
    module = load_graph(base)
    result = train_detector(module, train_scenes, holdout_scenes, settings, progress, gate_crops)
    write_trained_graph(base, module, out)
    record = {
        "base": {"file": base.name, "sha256": hashlib.sha256(base.read_bytes()).hexdigest()},
        "data": {
            "scenes": scene_split_text(fold, len(train_scenes)),
            "held_out": f"scenes/dev held-out split: {len(holdout_scenes)} images, never trained on",
            "fold": fold,
            "gate_crops": (
                f"crops/train training split: {len(gate_crops)} boxed by {TEACHER_DETECTOR.name}, "
                f"{unboxed} left out (no single sure face)"
            ),
        },
        "settings": {**settings.__dict__, "input_size": list(settings.input_size)},
        "history": result.history,
        "seconds": round(result.seconds, 1),
        "torch": torch.__version__,
        "machine": platform.machine(),
    }
    training_record_path(out).write_text(json.dumps(record, indent=2) + "\n")
    quantize_detector(out, int8_path(out), calibration_scenes(scenes, fold), settings.input_size)
    return out
