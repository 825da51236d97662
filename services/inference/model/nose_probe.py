"""Is the nose uncovered? A second, smaller question asked of each face the classifier calls `mask`.

The crop set the classifier learnt from files masks pulled under the nose under "with mask", so it calls
them masks, and a gate lets most of them in. Retraining on reviewed labels fixed that but cost masked and
unmasked people their right answer (docs/model-card.md). This probe leaves the classifier as it is: a
logistic regression on the 1280 pooled features its last layer already computes (the graphs' `features`
output), trained on gate frames of the training split's masked crops (`maskwatch train-nose-probe`).

It answers only for faces called `mask`, and a site acts on the answer only where it asks for the rule
(`RuleSet.mask_over_nose`): at the threshold chosen on the gate validation's tune half it turns most
masks under the nose away and costs about one masked visitor in two hundred.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, Field


class NoseProbe(BaseModel):
    """The probe's weights with the feature standardisation folded in, and the threshold it acts at."""

    weights: list[float] = Field(min_length=1)
    bias: float
    threshold: float = Field(gt=0, le=1)
    """P(nose uncovered) at or above which a `mask` face is reported with its nose uncovered."""
    training: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, Any] = Field(default_factory=dict)

    def probabilities(self, features: np.ndarray) -> np.ndarray:
        """P(nose uncovered) per row of pooled features (N x len(weights))."""
        if features.ndim != 2 or features.shape[1] != len(self.weights):
            raise ValueError(f"the probe reads {len(self.weights)} features, got shape {features.shape}")
        logits = features.astype(np.float64) @ np.asarray(self.weights) + self.bias
        return np.asarray(1.0 / (1.0 + np.exp(-np.clip(logits, -50.0, 50.0))))

    def uncovered(self, features: np.ndarray) -> np.ndarray:
        """True per row where the probe is at least as sure as its threshold."""
        return np.asarray(self.probabilities(features) >= self.threshold)


def nose_probe_path(model_path: Path) -> Path:
    """`mask_classifier.onnx` (fp32, int8 and torch alike) keeps its probe in `mask_classifier.nose.json`."""
    return model_path.with_suffix(".nose.json")


def read_nose_probe(model_path: Path) -> NoseProbe | None:
    """The probe beside the classifier at `model_path`, or None where it has none."""
    path = nose_probe_path(model_path)
    return NoseProbe.model_validate_json(path.read_text()) if path.is_file() else None


def write_nose_probe(model_path: Path, probe: NoseProbe) -> Path:
    path = nose_probe_path(model_path)
    path.write_text(json.dumps(probe.model_dump(mode="json"), indent=1) + "\n")
    return path
