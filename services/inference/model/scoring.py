"""A face's final score: the detector's and the classifier's opinions on "is this a face?" combined.

Each half fails differently. UltraFace is sure of a clear face in a black mask that the classifier's
`background` output doubts; the classifier sees through a detector's confident hit on a patterned shirt.
Adding their log-odds (a product of experts) keeps a face that either is sure of unless the other is as
sure against it. Behind the stock detector this found 96.3% of the dev scenes' faces 32 px or wider at
the 0.5 operating point, where trusting the classifier alone found 93.8% (docs/model-card.md).

The label is the likeliest of mask / no_mask / incorrect given that it is a face, and the score is
P(face) x P(label | face), so it stays a probability (0..1) and a wrong-looking face still ranks low.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from pydantic import BaseModel, Field

from services.inference.model.interface import MASK_LABELS, MaskLabel
from services.inference.model.sidecar import BACKGROUND

_EPS = 1e-4


class ScoreFusion(BaseModel):
    """Weights of the two opinions in log-odds; (1, 1, 0) would be the plain product of experts.

    The defaults were picked on the dev scenes (docs/model-card.md has the table): the classifier's
    `background` output is over-sure on real faces in dark masks and side views, so it counts half, and a
    prior of 1.5 log-odds for "a box the detector proposed is a face" finds more large faces for no loss
    of AP. Larger priors find more still but label them worse.
    """

    detector_weight: float = Field(1.0, ge=0.0, description="Weight of the detector's log-odds.")
    classifier_weight: float = Field(
        0.5, ge=0.0, description="Weight of the classifier's log-odds that the crop is not background."
    )
    bias: float = Field(1.5, description="Added log-odds: the prior that a proposed box is a face.")


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(p, _EPS, 1.0 - _EPS)
    return np.asarray(np.log(p / (1.0 - p)))


def face_probability(detector_scores: np.ndarray, background: np.ndarray, fusion: ScoreFusion) -> np.ndarray:
    """P(face) per crop from the detector's score and the classifier's background probability."""
    z = (
        fusion.detector_weight * _logit(detector_scores)
        + fusion.classifier_weight * _logit(1.0 - background)
        + fusion.bias
    )
    return np.asarray(1.0 / (1.0 + np.exp(-z)))


def fused_verdicts(
    detector_scores: Sequence[float],
    probabilities: np.ndarray,
    labels: Sequence[str],
    fusion: ScoreFusion,
) -> list[tuple[MaskLabel, float]]:
    """(label, score) per crop; `probabilities` are the classifier's rows over `labels`."""
    if len(detector_scores) == 0:
        return []
    mask_probs = probabilities[:, [labels.index(name) for name in MASK_LABELS]]
    background = (
        probabilities[:, labels.index(BACKGROUND)]
        if BACKGROUND in labels
        else np.zeros(len(probabilities), dtype=np.float32)
    )
    face = face_probability(np.asarray(detector_scores, dtype=np.float64), background, fusion)
    given_face = mask_probs / np.clip(mask_probs.sum(axis=1, keepdims=True), _EPS, None)
    best = given_face.argmax(axis=1)
    return [(MASK_LABELS[int(i)], float(face[row] * given_face[row, i])) for row, i in enumerate(best)]
