"""Matching boxes to boxes: IoU, centre distance, and an optimal assignment under a gate."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
from scipy.optimize import linear_sum_assignment

from services.monitoring.track.detection import Box

Matrix = npt.NDArray[np.float64]


def iou_matrix(a: Sequence[Box], b: Sequence[Box]) -> Matrix:
    if not a or not b:
        return np.zeros((len(a), len(b)))
    first = np.asarray(a, dtype=np.float64)[:, None, :]
    second = np.asarray(b, dtype=np.float64)[None, :, :]
    width = np.clip(
        np.minimum(first[..., 2], second[..., 2]) - np.maximum(first[..., 0], second[..., 0]), 0, None
    )
    height = np.clip(
        np.minimum(first[..., 3], second[..., 3]) - np.maximum(first[..., 1], second[..., 1]), 0, None
    )
    overlap = width * height
    area_a = (first[..., 2] - first[..., 0]) * (first[..., 3] - first[..., 1])
    area_b = (second[..., 2] - second[..., 0]) * (second[..., 3] - second[..., 1])
    union = area_a + area_b - overlap
    return np.where(union > 0, overlap / np.maximum(union, 1e-9), 0.0)


def distance_matrix(a: Sequence[Box], b: Sequence[Box]) -> Matrix:
    """Centre distance in units of the first box's size, infinite when the sizes differ more than 2x.

    IoU is zero for a face that moved more than its own width between frames,
    which at 2 fps a walking person's face does; distance still matches it.
    """
    if not a or not b:
        return np.zeros((len(a), len(b)))
    first = np.asarray(a, dtype=np.float64)[:, None, :]
    second = np.asarray(b, dtype=np.float64)[None, :, :]
    size_a = np.maximum(first[..., 2] - first[..., 0], first[..., 3] - first[..., 1])
    size_b = np.maximum(second[..., 2] - second[..., 0], second[..., 3] - second[..., 1])
    dx = (first[..., 0] + first[..., 2] - second[..., 0] - second[..., 2]) / 2
    dy = (first[..., 1] + first[..., 3] - second[..., 1] - second[..., 3]) / 2
    distance = np.hypot(dx, dy) / np.maximum(size_a, 1.0)
    ratio = size_b / np.maximum(size_a, 1.0)
    return np.where((ratio > 0.5) & (ratio < 2.0), distance, np.inf)


def assign(cost: Matrix, max_cost: float) -> tuple[list[tuple[int, int]], list[int], list[int]]:
    """The cheapest one-to-one pairs with cost at most `max_cost`; then the unpaired rows and columns."""
    rows, cols = cost.shape
    if rows == 0 or cols == 0:
        return [], list(range(rows)), list(range(cols))
    bounded = np.where(np.isfinite(cost) & (cost <= max_cost), cost, max_cost + 1.0)
    picked_rows, picked_cols = linear_sum_assignment(bounded)
    pairs = [
        (int(r), int(c)) for r, c in zip(picked_rows, picked_cols, strict=True) if bounded[r, c] <= max_cost
    ]
    paired_rows = {r for r, _ in pairs}
    paired_cols = {c for _, c in pairs}
    return (
        pairs,
        [r for r in range(rows) if r not in paired_rows],
        [c for c in range(cols) if c not in paired_cols],
    )
