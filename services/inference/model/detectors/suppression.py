"""One face, one box: suppression of boxes that a detector's own non-maximum suppression lets through.

Plain NMS compares boxes by intersection over union, so a small box inside a large one survives: a box
around one eye inside a face's box (IoU 0.1), or a face found twice at two anchor scales, one box around
the face and one around head and shoulders. At a gate each of them reads as a second person and the
visitor is refused "one person at a time". Measured by the intersection over the smaller box's area
instead, such a box lies almost wholly inside the other, while two people side by side in a crowd
rarely do: their boxes overlap at the edges.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

Boxes = npt.NDArray[np.float32] | npt.NDArray[np.float64]


def overlap_of_smaller(box: Boxes, others: Boxes) -> npt.NDArray[np.float64]:
    """Intersection of `box` (x1, y1, x2, y2) with each of `others` (N x 4), over the smaller one's area."""
    ix = np.clip(np.minimum(box[2], others[:, 2]) - np.maximum(box[0], others[:, 0]), 0, None)
    iy = np.clip(np.minimum(box[3], others[:, 3]) - np.maximum(box[1], others[:, 1]), 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (others[:, 2] - others[:, 0]) * (others[:, 3] - others[:, 1])
    smaller = np.clip(np.minimum(area, areas), 1e-9, None)
    return np.asarray(ix * iy / smaller, dtype=np.float64)


def suppress_nested(
    boxes: Boxes, scores: npt.ArrayLike, max_overlap: float, whole_face_ratio: float = 1.0
) -> list[tuple[int, int]]:
    """(score index, geometry index) of each face to keep, best score first.

    A box is dropped when more than `max_overlap` of the smaller of it and a better-scored kept box lies
    inside the other. When the dropped box is larger than every kept face it holds and scores at least
    `whole_face_ratio` times the best of them, those faces become one with its geometry: a large face
    found in pieces (each half a box) and whole (one box) is reported once, whole, with the best score.
    A large box of low score over a crowd merges nothing: the ratio keeps its faces apart.
    """
    score = np.asarray(scores, dtype=np.float64)
    kept: list[list[int]] = []
    for i in (int(j) for j in np.argsort(-score, kind="stable")):
        nested = (
            np.flatnonzero(overlap_of_smaller(boxes[i], boxes[[g for _, g in kept]]) > max_overlap)
            if kept
            else np.empty(0, dtype=np.int64)
        )
        if len(nested) == 0:
            kept.append([i, i])
            continue
        inside = [kept[int(k)] for k in nested]
        holds_them = all(_area(boxes[i]) > _area(boxes[g]) for _, g in inside)
        if holds_them and score[i] >= whole_face_ratio * max(score[s] for s, _ in inside):
            inside[0][1] = i
            merged = {id(face) for face in inside[1:]}
            kept = [face for face in kept if id(face) not in merged]
    return [(s, g) for s, g in kept]


def _area(box: Boxes) -> float:
    return float((box[2] - box[0]) * (box[3] - box[1]))
