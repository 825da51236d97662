"""What each UltraFace anchor should answer for a training image, and the loss against that.

The rules are UltraFace's own (SSD's): an anchor is a face when it overlaps an annotated face by IoU
0.35 or more, and every face claims its best anchor even below that; offsets are encoded against the
anchor with the same variances the serving decoder uses; the background loss counts only the three
hardest negatives per positive, so the thousands of easy background anchors do not swamp the faces.
"""

from __future__ import annotations

import numpy as np
import torch
from torch.nn import functional

from services.inference.model.detectors.ultraface_backend import CENTER_VARIANCE, SIZE_VARIANCE

MATCH_IOU = 0.35
NEGATIVES_PER_POSITIVE = 3


def _corners(center_form: np.ndarray) -> np.ndarray:
    half = center_form[:, 2:] / 2
    return np.concatenate([center_form[:, :2] - half, center_form[:, :2] + half], axis=1)


def _iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pairwise IoU of corner boxes: rows of `a` against rows of `b`."""
    top_left = np.maximum(a[:, None, :2], b[None, :, :2])
    bottom_right = np.minimum(a[:, None, 2:], b[None, :, 2:])
    overlap = np.prod(np.clip(bottom_right - top_left, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    union = area_a[:, None] + area_b[None, :] - overlap
    result: np.ndarray = overlap / np.maximum(union, 1e-9)
    return result


def anchor_targets(faces: np.ndarray, priors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(labels, offsets) for every prior: 1 for a face anchor, else 0; offsets matter only where 1.

    `faces` are relative corner boxes (N x 4), `priors` relative centre-form anchors (P x 4).
    """
    labels = np.zeros(len(priors), dtype=np.int64)
    offsets = np.zeros((len(priors), 4), dtype=np.float32)
    if len(faces) == 0:
        return labels, offsets
    ious = _iou(_corners(priors), faces)  # P x N
    best_face = ious.argmax(axis=1)
    best_iou = ious.max(axis=1)
    for face, prior in enumerate(ious.argmax(axis=0)):
        best_face[prior] = face
        best_iou[prior] = 2.0
    labels[best_iou >= MATCH_IOU] = 1
    matched = faces[best_face]
    centers = (matched[:, :2] + matched[:, 2:]) / 2
    sizes = np.maximum(matched[:, 2:] - matched[:, :2], 1e-6)
    offsets[:, :2] = (centers - priors[:, :2]) / (CENTER_VARIANCE * priors[:, 2:])
    offsets[:, 2:] = np.log(sizes / priors[:, 2:]) / SIZE_VARIANCE
    return labels, offsets


def detection_loss(
    logits: torch.Tensor, offsets: torch.Tensor, labels: torch.Tensor, target_offsets: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """(classification loss, box loss), each per positive anchor over the batch."""
    positive = labels > 0
    with torch.no_grad():
        background_loss = -functional.log_softmax(logits, dim=2)[:, :, 0]
        background_loss[positive] = -1.0
        order = background_loss.argsort(dim=1, descending=True).argsort(dim=1)
        negatives = NEGATIVES_PER_POSITIVE * positive.sum(dim=1, keepdim=True)
        counted = positive | (order < negatives)
    count = positive.sum().clamp(min=1)
    classification = functional.cross_entropy(logits[counted], labels[counted], reduction="sum") / count
    boxes = functional.smooth_l1_loss(offsets[positive], target_offsets[positive], reduction="sum") / count
    return classification, boxes
