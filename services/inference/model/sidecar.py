"""The JSON file beside a classifier's weights: everything needed to feed it and to trust it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, Field

BACKGROUND = "background"
"""An extra output trained on detector false positives; it lowers their scores rather than being reported."""

FEATURES_OUTPUT = "features"
"""The graphs' second output: the pooled features the last layer sees (training/feature_output.py)."""


class ClassifierSidecar(BaseModel):
    """Labels in output order, the input recipe, and where the weights came from and how well they did."""

    labels: list[str]
    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    crop_margin: float
    architecture: str = "mobilenet_v2"
    training: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)


def sidecar_path(weights_path: Path) -> Path:
    """`mask_classifier.onnx` and `mask_classifier.pt` both describe themselves in `mask_classifier.json`."""
    return weights_path.with_suffix(".json")


def read_sidecar(weights_path: Path) -> ClassifierSidecar:
    return ClassifierSidecar.model_validate_json(sidecar_path(weights_path).read_text())


def write_sidecar(weights_path: Path, sidecar: ClassifierSidecar) -> None:
    sidecar_path(weights_path).write_text(json.dumps(sidecar.model_dump(mode="json"), indent=2) + "\n")
