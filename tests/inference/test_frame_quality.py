"""Light and focus of a frame, as the gate's guidance reads them, on a real face photo."""

from __future__ import annotations

import cv2
import numpy as np

from services.gate_controller.guidance import BLURRED_SHARPNESS, DARK_BRIGHTNESS
from services.inference.engine import MaskEngine
from services.inference.model.frame_quality import brightness_and_sharpness
from services.inference.model.interface import FrameResult
from tests.inference.conftest import encode, face_frame


def test_a_lit_sharp_frame_passes_and_a_dark_or_blurred_one_does_not(face_crop: np.ndarray):
    frame = face_frame(cv2.resize(face_crop, (200, 240)))
    brightness, sharpness = brightness_and_sharpness(frame)
    assert brightness > DARK_BRIGHTNESS
    assert sharpness > BLURRED_SHARPNESS
    dark = (frame * 0.1).astype(np.uint8)
    assert brightness_and_sharpness(dark)[0] < DARK_BRIGHTNESS
    blurred = cv2.GaussianBlur(frame, (0, 0), 12)
    assert brightness_and_sharpness(blurred)[1] < BLURRED_SHARPNESS


def test_the_engine_reports_them_with_every_frame(engine: MaskEngine, face_crop: np.ndarray):
    [result] = engine.analyze_batch([encode(face_frame(face_crop))])
    assert isinstance(result, FrameResult)
    assert result.brightness is not None
    assert result.sharpness is not None
    assert 0 < result.brightness < 255
