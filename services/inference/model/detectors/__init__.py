"""Face detector backends, one class per `type` of `DetectorConfig`."""

from __future__ import annotations

from concurrent.futures import Executor

from services.inference.model.config import DetectorConfig, UltraFaceConfig, YuFaceConfig
from services.inference.model.interface import FaceDetector


def build_detector(config: DetectorConfig, frame_pool: Executor | None = None) -> FaceDetector:
    """Instantiate the backend a config names; imports are local so an unused backend costs nothing.

    `frame_pool`, where given, runs a backend's per-frame preparation (resizing) side by side."""
    if isinstance(config, YuFaceConfig):
        from services.inference.model.detectors.yuface_backend import YuFaceDetector

        return YuFaceDetector(config)
    if isinstance(config, UltraFaceConfig):
        from services.inference.model.detectors.ultraface_backend import UltraFaceDetector

        return UltraFaceDetector(config, frame_pool)
    raise TypeError(f"unknown detector config {type(config).__name__}")
