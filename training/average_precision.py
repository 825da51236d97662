"""Pure scoring functions for the mask model: VOC AP, recall at an operating point, crop accuracy.

They take plain boxes and labels, no images, so the arithmetic is unit-tested on hand-made cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from services.inference.model.interface import MASK_LABELS, MaskLabel

Box = tuple[float, float, float, float]


@dataclass(frozen=True, slots=True)
class TruthFace:
    label: MaskLabel
    box: Box


@dataclass(frozen=True, slots=True)
class PredictedFace:
    label: MaskLabel
    box: Box
    score: float


def box_iou(a: Box, b: Box) -> float:
    """Intersection over union of two corner boxes (x2/y2 exclusive, so width is x2 - x1)."""
    iw = min(a[2], b[2]) - max(a[0], b[0])
    ih = min(a[3], b[3]) - max(a[1], b[1])
    if iw <= 0 or ih <= 0:
        return 0.0
    inter = iw * ih
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


def average_precision(recalls: Sequence[float], precisions: Sequence[float]) -> float:
    """Area under the precision envelope (VOC 2010+ all-point interpolation)."""
    r = [0.0, *recalls, 1.0]
    p = [0.0, *precisions, 0.0]
    for i in range(len(p) - 2, -1, -1):
        p[i] = max(p[i], p[i + 1])
    return sum((r[i + 1] - r[i]) * p[i + 1] for i in range(len(r) - 1))


def voc_ap(
    truths: Sequence[Sequence[TruthFace]],
    predictions: Sequence[Sequence[PredictedFace]],
    label: MaskLabel,
    iou_threshold: float = 0.5,
) -> float | None:
    """VOC AP for one class over a set of images; None when the class never occurs in the truth.

    Predictions are matched greedily by descending score; a second hit on a matched face is a false positive.
    """
    n_truth = sum(1 for faces in truths for f in faces if f.label == label)
    if n_truth == 0:
        return None
    ranked = sorted(
        (
            (p.score, image, p.box)
            for image, preds in enumerate(predictions)
            for p in preds
            if p.label == label
        ),
        key=lambda item: -item[0],
    )
    matched: set[tuple[int, int]] = set()
    tp = fp = 0
    recalls: list[float] = []
    precisions: list[float] = []
    for _score, image, box in ranked:
        best, best_iou = -1, iou_threshold
        for j, face in enumerate(truths[image]):
            if face.label != label:
                continue
            iou = box_iou(box, face.box)
            if iou >= best_iou and (image, j) not in matched:
                best, best_iou = j, iou
        if best >= 0:
            matched.add((image, best))
            tp += 1
        else:
            fp += 1
        recalls.append(tp / n_truth)
        precisions.append(tp / (tp + fp))
    return average_precision(recalls, precisions)


@dataclass(frozen=True, slots=True)
class OperatingPointReport:
    """How the faces the product acts on (score >= threshold) cover the large annotated faces."""

    faces: int
    found: int
    labelled_right: int
    found_by_label: dict[str, tuple[int, int]]

    @property
    def recall(self) -> float:
        return self.found / self.faces if self.faces else 0.0

    @property
    def label_accuracy(self) -> float:
        return self.labelled_right / self.found if self.found else 0.0


def operating_point_recall(
    truths: Sequence[Sequence[TruthFace]],
    predictions: Sequence[Sequence[PredictedFace]],
    min_width: float = 32.0,
    min_iou: float = 0.3,
    min_score: float = 0.5,
) -> OperatingPointReport:
    """Recall of annotated faces at least `min_width` wide, and label accuracy on the ones found.

    A face is found when a prediction scored >= min_score overlaps it by IoU >= min_iou; its label is the
    label of the best-overlapping such prediction. Predictions may serve more than one face.
    """
    faces = found = right = 0
    by_label: dict[str, list[int]] = {label: [0, 0] for label in MASK_LABELS}
    for faces_in_image, preds in zip(truths, predictions, strict=True):
        confident = [p for p in preds if p.score >= min_score]
        for face in faces_in_image:
            if face.box[2] - face.box[0] < min_width:
                continue
            faces += 1
            by_label[face.label][1] += 1
            best, best_iou = None, min_iou
            for p in confident:
                iou = box_iou(p.box, face.box)
                if iou >= best_iou:
                    best, best_iou = p, iou
            if best is None:
                continue
            found += 1
            by_label[face.label][0] += 1
            right += best.label == face.label
    return OperatingPointReport(faces, found, right, {k: (v[0], v[1]) for k, v in by_label.items()})


def per_class_recall(
    truth: Sequence[MaskLabel], predicted: Sequence[MaskLabel]
) -> dict[MaskLabel, float | None]:
    """Share of each true class predicted as itself; None for a class absent from the truth."""
    out: dict[MaskLabel, float | None] = {}
    for label in MASK_LABELS:
        total = sum(1 for t in truth if t == label)
        hits = sum(1 for t, p in zip(truth, predicted, strict=True) if t == label and p == label)
        out[label] = hits / total if total else None
    return out


def balanced_accuracy(truth: Sequence[MaskLabel], predicted: Sequence[MaskLabel]) -> float:
    """Mean recall of mask and no_mask, the crop set's classes; `incorrect` counts as wrong on both."""
    recalls = per_class_recall(truth, predicted)
    present = [r for label in ("mask", "no_mask") if (r := recalls[label]) is not None]
    return sum(present) / len(present) if present else 0.0
