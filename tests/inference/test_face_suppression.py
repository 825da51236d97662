"""One face, one box: the suppression of nested boxes, on boxes laid out by hand."""

from __future__ import annotations

import numpy as np

from services.inference.model.detectors.suppression import overlap_of_smaller, suppress_nested

FACE = [100.0, 100.0, 300.0, 340.0]


def kept(boxes: list[list[float]], scores: list[float], ratio: float = 0.5) -> list[tuple[int, int]]:
    return suppress_nested(np.asarray(boxes, dtype=np.float32), scores, 0.6, ratio)


def test_overlap_is_measured_against_the_smaller_box():
    eye = np.asarray([140.0, 160.0, 180.0, 200.0])
    assert overlap_of_smaller(eye, np.asarray([FACE]))[0] == 1.0
    beside = np.asarray([[280.0, 100.0, 480.0, 340.0]])  # a neighbour overlapping by a tenth
    assert overlap_of_smaller(np.asarray(FACE), beside)[0] == 0.1


def test_a_box_around_an_eye_inside_a_face_is_not_a_second_face():
    assert kept([FACE, [140, 160, 180, 200]], [0.99, 0.195]) == [(0, 0)]


def test_a_face_found_whole_and_in_halves_is_one_whole_face_with_the_best_score():
    left, right, whole = [100, 100, 210, 340], [190, 100, 300, 340], FACE
    # The halves score higher than the whole face: the face keeps the best score and the whole box.
    assert kept([left, right, whole], [0.95, 0.93, 0.9]) == [(0, 2)]


def test_a_face_found_at_two_scales_is_one_face():
    head_and_shoulders = [60, 60, 340, 420]
    assert kept([FACE, head_and_shoulders], [0.9, 0.3]) == [(0, 0)]


def test_a_weak_large_box_over_two_people_merges_nothing():
    one, two, over_both = [100, 100, 180, 190], [220, 100, 300, 190], [80, 80, 320, 220]
    assert kept([one, two, over_both], [0.9, 0.85, 0.2]) == [(0, 0), (1, 1)]


def test_people_side_by_side_stay_two_faces():
    assert kept([FACE, [280, 100, 480, 340]], [0.9, 0.8]) == [(0, 0), (1, 1)]
