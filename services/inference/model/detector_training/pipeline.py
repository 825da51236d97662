"""From a data directory to a served detector: fine-tune the stock UltraFace graph, record, quantize."""

from __future__ import annotations

import hashlib
import json
import platform
from pathlib import Path
from typing import Any

import torch

from services.inference.model.config import int8_path
from services.inference.model.dataset import load_voc_scenes, split_scenes
from services.inference.model.detector_training.graph import load_graph, write_trained_graph
from services.inference.model.detector_training.train import DetectorTrainSettings, train_detector
from services.inference.model.quantize import quantize_detector, spread

CALIBRATION_SCENES = 100


def training_record_path(model_path: Path) -> Path:
    """The JSON beside a fine-tuned graph that says what it was trained from, on what, and how."""
    return model_path.with_suffix(".json")


def run_detector_training(
    data_dir: Path,
    base: Path,
    out: Path,
    settings: DetectorTrainSettings,
    progress: Any = None,
    fold: int = 0,
) -> Path:
    """Fine-tune `base` on the dev scenes' training split; writes `out`, its int8 copy and its record."""
    train_scenes, holdout_scenes = split_scenes(load_voc_scenes(data_dir / "scenes" / "dev"), fold)
    module = load_graph(base)
    result = train_detector(module, train_scenes, holdout_scenes, settings, progress)
    write_trained_graph(base, module, out)
    record = {
        "base": {"file": base.name, "sha256": hashlib.sha256(base.read_bytes()).hexdigest()},
        "data": {
            "scenes": f"scenes/dev training split (image-level, 4 of 5 by name hash): {len(train_scenes)}",
            "held_out": f"scenes/dev held-out split: {len(holdout_scenes)} images, never trained on",
            "fold": fold,
        },
        "settings": {**settings.__dict__, "input_size": list(settings.input_size)},
        "history": result.history,
        "seconds": round(result.seconds, 1),
        "torch": torch.__version__,
        "machine": platform.machine(),
    }
    training_record_path(out).write_text(json.dumps(record, indent=2) + "\n")
    quantize_detector(out, int8_path(out), spread(train_scenes, CALIBRATION_SCENES), settings.input_size)
    return out
