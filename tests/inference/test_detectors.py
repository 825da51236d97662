"""Detector plumbing that the engine tests cannot see directly: anchors, decoding, box adjustment."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from services.inference.model.crops import as_bgr
from services.inference.model.detectors.coarse_pass import PAD_VALUE, coarse_canvas, shrinks_into
from services.inference.model.detectors.ultraface_backend import (
    adjust_boxes,
    decode_boxes,
    ultraface_input,
    ultraface_priors,
    ultraface_resized,
)


def test_priors_match_the_published_640x480_layout():
    priors = ultraface_priors(640, 480)
    assert priors.shape == (17640, 4)  # 80x60x3 + 40x30x2 + 20x15x2 + 10x8x3
    np.testing.assert_allclose(priors[0], [0.5 / 80, 0.5 / 60, 10 / 640, 10 / 480], rtol=1e-6)
    np.testing.assert_allclose(priors[-1, :2], [9.5 / 10, 7.5 / 8], rtol=1e-6)  # last level: 10x8 cells
    assert priors.min() >= 0.0
    assert priors.max() <= 1.0


def test_priors_follow_the_input_size():
    assert ultraface_priors(320, 240).shape == (40 * 30 * 3 + 20 * 15 * 2 + 10 * 8 * 2 + 5 * 4 * 3, 4)


def test_zero_offsets_decode_to_the_prior_box():
    prior = np.array([[0.5, 0.5, 0.2, 0.1]], dtype=np.float32)
    np.testing.assert_allclose(decode_boxes(np.zeros((1, 4), np.float32), prior), [[0.4, 0.45, 0.6, 0.55]])


def test_box_adjust_shifts_and_scales_about_the_centre():
    box = np.array([[10.0, 20.0, 30.0, 60.0]])  # 20 x 40, centre (20, 40)
    np.testing.assert_allclose(adjust_boxes(box, (0.0, 0.0, 1.0, 1.0)), box)
    out = adjust_boxes(box, (0.5, 0.25, 2.0, 0.5))  # centre -> (30, 50), size -> 40 x 20
    np.testing.assert_allclose(out, [[10.0, 40.0, 50.0, 60.0]])
    assert out.shape == (1, 4)
    assert pytest.approx(float(out[0, 2] - out[0, 0])) == 40.0


def test_the_network_input_is_what_opencv_makes_for_ultraface():
    """The input is filled plane by plane for speed; it must stay, number for number, OpenCV's
    `blobFromImage` with UltraFace's mean and scale (RGB, (x - 127) / 128), the input it was trained on."""
    frame = as_bgr(np.random.default_rng(3).integers(0, 256, (480, 640, 3), dtype=np.uint8))
    expected = cv2.dnn.blobFromImage(
        cv2.resize(frame, (512, 384)), 1.0 / 128.0, mean=(127.0, 127.0, 127.0), swapRB=True
    )
    got = ultraface_input(frame, (512, 384))
    assert got.dtype == np.float32
    assert got.shape == (1, 3, 384, 512)
    np.testing.assert_array_equal(got, expected)


def test_the_coarse_canvas_shrunk_from_the_main_input_is_the_frame_shrunk_within_a_grey_level():
    """The coarse canvas is made from the main pass's 512x384 input (a halving) instead of the 640x480
    frame, for speed: the picture the network sees must stay that of the frame, within a grey level on
    average, with the same grey border."""
    noise = np.random.default_rng(5).integers(0, 256, (480, 640, 3), dtype=np.uint8)
    frame = as_bgr(cv2.normalize(cv2.GaussianBlur(noise, (0, 0), 3), None, 0, 255, cv2.NORM_MINMAX))
    from_frame = coarse_canvas(frame, (320, 240), 0.8).astype(np.int16)
    from_input = coarse_canvas(ultraface_resized(frame, (512, 384)), (320, 240), 0.8).astype(np.int16)
    assert shrinks_into((512, 384), (320, 240), 0.8)
    assert np.abs(from_frame - from_input).mean() < 1.0
    border = np.ones((240, 320), dtype=bool)
    border[24:216, 32:288] = False
    assert (from_input[border] == PAD_VALUE).all()
    assert (from_frame[border] == PAD_VALUE).all()


def test_a_main_input_smaller_than_the_canvas_frame_is_not_shrunk_from():
    assert shrinks_into((256, 192), (320, 240), 0.8)
    assert not shrinks_into((255, 192), (320, 240), 0.8)
    assert not shrinks_into((512, 160), (320, 240), 0.8)
