"""libfacedetection (the `yuface` wheel, BSD-3, weights compiled into the library)."""

from __future__ import annotations

from collections.abc import Sequence

import cv2
import numpy as np
import yuface

from services.inference.model.config import YuFaceConfig
from services.inference.model.crops import as_bgr
from services.inference.model.interface import BgrImage, FaceBox


class YuFaceDetector:
    """Best recall on masked faces of the packaged detectors; cost grows with pixels, hence `max_side`."""

    def __init__(self, config: YuFaceConfig) -> None:
        self._config = config

    def detect_batch(self, images: Sequence[BgrImage]) -> list[list[FaceBox]]:
        """One frame at a time: libfacedetection has no batch entry point."""
        return [self.detect(image) for image in images]

    def detect(self, image: BgrImage) -> list[FaceBox]:
        h, w = image.shape[:2]
        scale = 1.0
        if self._config.max_side is not None and max(h, w) > self._config.max_side:
            scale = self._config.max_side / max(h, w)
            size = (round(w * scale), round(h * scale))
            image = as_bgr(cv2.resize(image, size, interpolation=cv2.INTER_AREA))
        scores, boxes, _landmarks = yuface.detect(np.ascontiguousarray(image), conf=self._config.min_score)
        faces: list[FaceBox] = []
        for score, (x, y, bw, bh) in zip(np.asarray(scores), np.asarray(boxes), strict=True):
            x1, y1 = max(0, round(x / scale)), max(0, round(y / scale))
            x2, y2 = min(w, round((x + bw) / scale)), min(h, round((y + bh) / scale))
            if x2 > x1 and y2 > y1:
                faces.append(FaceBox(x1, y1, x2, y2, float(score) / 100.0))
        return faces
