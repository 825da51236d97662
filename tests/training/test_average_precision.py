"""The AP / recall / accuracy arithmetic, on boxes small enough to check by hand."""

from __future__ import annotations

import pytest

from training.average_precision import (
    PredictedFace,
    TruthFace,
    average_precision,
    balanced_accuracy,
    box_iou,
    operating_point_recall,
    per_class_recall,
    voc_ap,
)

A = (0.0, 0.0, 10.0, 10.0)
B = (100.0, 100.0, 140.0, 140.0)  # 40 px wide
FAR = (500.0, 500.0, 510.0, 510.0)


def test_iou_of_identical_disjoint_and_half_overlapping_boxes():
    assert box_iou(A, A) == pytest.approx(1.0)
    assert box_iou(A, FAR) == 0.0
    assert box_iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert box_iou((0, 0, 10, 10), (10, 0, 20, 10)) == 0.0  # touching edges do not overlap


def test_average_precision_envelope():
    assert average_precision([1.0], [1.0]) == pytest.approx(1.0)
    # recall 0.5 at precision 1, then a false positive, then recall 1 at precision 2/3.
    assert average_precision([0.5, 0.5, 1.0], [1.0, 0.5, 2 / 3]) == pytest.approx(0.5 + 0.5 * 2 / 3)


def test_voc_ap_perfect_and_absent_class():
    truths = [[TruthFace("mask", A)], [TruthFace("mask", B)]]
    preds = [[PredictedFace("mask", A, 0.9)], [PredictedFace("mask", B, 0.8)]]
    assert voc_ap(truths, preds, "mask") == pytest.approx(1.0)
    assert voc_ap(truths, preds, "incorrect") is None


def test_voc_ap_ranks_by_score_and_counts_duplicates_as_false_positives():
    truths = [[TruthFace("mask", A), TruthFace("mask", B)]]
    # The highest-scored output is a false positive: precision 0 at rank 1, then 1/2, then 2/3.
    preds = [
        [
            PredictedFace("mask", FAR, 0.95),
            PredictedFace("mask", A, 0.9),
            PredictedFace("mask", A, 0.85),  # duplicate of an already matched face
            PredictedFace("mask", B, 0.5),
        ]
    ]
    # ranks: FP (r0, p0), TP (r.5, p.5), FP (r.5, p1/3), TP (r1, p.5) -> envelope .5 over both steps
    assert voc_ap(truths, preds, "mask") == pytest.approx(0.5)


def test_voc_ap_wrong_label_is_not_a_hit_and_missed_faces_cap_recall():
    truths = [[TruthFace("no_mask", A), TruthFace("no_mask", B)]]
    preds = [[PredictedFace("mask", A, 0.9), PredictedFace("no_mask", B, 0.8)]]
    assert voc_ap(truths, preds, "no_mask") == pytest.approx(0.5)
    assert voc_ap(truths, preds, "mask") is None


def test_voc_ap_needs_iou_half():
    truths = [[TruthFace("mask", (0, 0, 10, 10))]]
    assert voc_ap(truths, [[PredictedFace("mask", (0, 0, 10, 20), 0.9)]], "mask") == pytest.approx(1.0)
    assert voc_ap(truths, [[PredictedFace("mask", (0, 0, 10, 21), 0.9)]], "mask") == pytest.approx(0.0)


def test_operating_point_counts_only_wide_faces_and_confident_predictions():
    truths = [
        [TruthFace("mask", A), TruthFace("mask", B)],
        [TruthFace("no_mask", B)],
        [TruthFace("incorrect", B)],
    ]
    preds = [
        [PredictedFace("mask", A, 0.99), PredictedFace("mask", B, 0.7)],  # A is 10 px: not counted
        [PredictedFace("mask", B, 0.6)],  # found, wrong label
        [PredictedFace("incorrect", B, 0.49)],  # below the operating point: not found
    ]
    report = operating_point_recall(truths, preds)
    assert report.faces == 3
    assert report.found == 2
    assert report.labelled_right == 1
    assert report.recall == pytest.approx(2 / 3)
    assert report.label_accuracy == pytest.approx(0.5)
    assert report.found_by_label["incorrect"] == (0, 1)


def test_operating_point_iou_threshold_is_inclusive_at_point_three():
    box = (0.0, 0.0, 40.0, 40.0)
    # a 40x12 box inside the face: IoU = 480 / 1600 = 0.3 exactly
    preds = [[PredictedFace("mask", (0.0, 0.0, 40.0, 12.0), 0.9)]]
    assert operating_point_recall([[TruthFace("mask", box)]], preds).found == 1
    preds = [[PredictedFace("mask", (0.0, 0.0, 40.0, 11.0), 0.9)]]
    assert operating_point_recall([[TruthFace("mask", box)]], preds).found == 0


def test_crop_recall_and_balanced_accuracy():
    truth = ["mask", "mask", "mask", "mask", "no_mask", "no_mask"]
    pred = ["mask", "mask", "mask", "no_mask", "no_mask", "incorrect"]
    recalls = per_class_recall(truth, pred)  # type: ignore[arg-type]
    assert recalls["mask"] == pytest.approx(0.75)
    assert recalls["no_mask"] == pytest.approx(0.5)
    assert recalls["incorrect"] is None
    assert balanced_accuracy(truth, pred) == pytest.approx(0.625)  # type: ignore[arg-type]
