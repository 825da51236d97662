"""How detector and classifier opinions make a face's score (pure arithmetic, no weights)."""

from __future__ import annotations

import numpy as np
import pytest

from services.inference.model.classifier import mirror_averaged
from services.inference.model.scoring import ScoreFusion, face_probability, fused_verdicts

LABELS = ["mask", "no_mask", "incorrect", "background"]
PLAIN = ScoreFusion(detector_weight=1.0, classifier_weight=1.0, bias=0.0)  # the plain product of experts


def rows(*probs: list[float]) -> np.ndarray:
    return np.asarray(probs, dtype=np.float32)


def test_a_sure_detector_rescues_a_face_the_classifier_doubts():
    # A clear face in a black mask: the detector is sure, the classifier leans to background.
    ((label, score),) = fused_verdicts([0.99], rows([0.12, 0.01, 0.02, 0.85]), LABELS, PLAIN)
    assert label == "mask"
    assert score > 0.5  # the classifier alone gave it 0.12: below the operating point


def test_a_sure_classifier_vetoes_a_lukewarm_detector_hit():
    ((_, score),) = fused_verdicts([0.6], rows([0.01, 0.01, 0.01, 0.97]), LABELS, PLAIN)
    assert score < 0.1


def test_two_undecided_opinions_stay_undecided():
    prob = face_probability(np.array([0.5]), np.array([0.5]), PLAIN)
    assert prob[0] == pytest.approx(0.5)
    assert face_probability(np.array([0.5]), np.array([0.5]), ScoreFusion(bias=0.5))[0] > 0.5


def test_score_is_face_probability_times_label_given_face():
    det, probs = [0.9], rows([0.3, 0.1, 0.1, 0.5])
    ((label, score),) = fused_verdicts(det, probs, LABELS, PLAIN)
    p_face = face_probability(np.array(det), np.array([0.5]), PLAIN)[0]
    assert label == "mask"
    assert score == pytest.approx(p_face * 0.3 / 0.5)
    assert 0.0 <= score <= 1.0


def test_label_is_the_likeliest_mask_label_whatever_the_background():
    verdicts = fused_verdicts(
        [0.9, 0.9, 0.9],
        rows([0.1, 0.6, 0.1, 0.2], [0.05, 0.05, 0.3, 0.6], [0.7, 0.1, 0.1, 0.1]),
        LABELS,
        ScoreFusion(),
    )
    assert [label for label, _ in verdicts] == ["no_mask", "incorrect", "mask"]


def test_weights_of_zero_leave_only_the_other_opinion():
    only_detector = ScoreFusion(detector_weight=1.0, classifier_weight=0.0, bias=0.0)
    assert face_probability(np.array([0.8]), np.array([0.99]), only_detector)[0] == pytest.approx(0.8)
    only_classifier = ScoreFusion(detector_weight=0.0, classifier_weight=1.0, bias=0.0)
    assert face_probability(np.array([0.01]), np.array([0.25]), only_classifier)[0] == pytest.approx(0.75)


def test_a_model_without_background_relies_on_the_detector_and_its_labels():
    ((label, score),) = fused_verdicts([0.7], rows([0.2, 0.8, 0.0]), ["mask", "no_mask", "incorrect"], PLAIN)
    assert label == "no_mask"
    assert score > 0.7 * 0.8  # no background column reads as "surely a face" from the classifier's side


def test_extreme_scores_do_not_overflow():
    verdicts = fused_verdicts([1.0, 0.0], rows([1.0, 0, 0, 0], [0, 0, 0, 1.0]), LABELS, PLAIN)
    assert all(0.0 <= s <= 1.0 for _, s in verdicts)
    assert verdicts[0][1] > 0.99
    assert verdicts[1][1] < 0.01


def test_no_crops_no_verdicts():
    assert fused_verdicts([], np.zeros((0, 4), np.float32), LABELS, ScoreFusion()) == []


def test_mirror_averaging_runs_both_views_in_one_batch_and_averages_every_output():
    calls: list[np.ndarray] = []

    def run(batch: np.ndarray) -> tuple[np.ndarray, ...]:
        calls.append(batch)
        # "Probability" = mean of the left half minus mean of the right half, as a 1-column output;
        # "features" = the left half's mean, which the mirror image moves to the right.
        width = batch.shape[-1]
        left = batch[..., : width // 2].mean(axis=(1, 2, 3))
        right = batch[..., width // 2 :].mean(axis=(1, 2, 3))
        return (left - right)[:, None], left[:, None]

    batch = np.zeros((2, 3, 4, 4), np.float32)
    batch[0, ..., :2] = 1.0  # bright on the left: +1 one way, -1 mirrored
    probabilities, features = mirror_averaged(run, batch, mirror=True)
    assert len(calls) == 1
    assert calls[0].shape == (4, 3, 4, 4)
    np.testing.assert_allclose(probabilities, [[0.0], [0.0]])
    np.testing.assert_allclose(features, [[0.5], [0.0]])
    np.testing.assert_allclose(mirror_averaged(run, batch, mirror=False)[0], [[1.0], [0.0]])
