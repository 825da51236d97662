"""Engines built once per session from the committed weights (loading costs about a second)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from services.inference.engine import MaskEngine, build_engine
from services.inference.model.config import ModelConfig

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def engine() -> MaskEngine:
    return build_engine(ModelConfig())


@pytest.fixture(scope="session")
def face_crop() -> np.ndarray:
    image = cv2.imread(str(FIXTURES / "face_no_mask.jpg"), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def encode(image: np.ndarray, ext: str = ".jpg") -> bytes:
    ok, buf = cv2.imencode(ext, image)
    assert ok
    return buf.tobytes()


def grey(width: int, height: int) -> np.ndarray:
    return np.full((height, width, 3), 128, dtype=np.uint8)


def face_frame(
    face: np.ndarray, width: int = 640, height: int = 480, at: tuple[int, int] = (240, 150)
) -> np.ndarray:
    frame = grey(width, height)
    x, y = at
    frame[y : y + face.shape[0], x : x + face.shape[1]] = face
    return frame


def voc_scene_set(root: Path, face_crop: np.ndarray, count: int) -> None:
    """A data folder with `count` VOC scenes under scenes/dev, each one face pasted on grey."""
    images, annotations = root / "scenes" / "dev" / "images", root / "scenes" / "dev" / "annotations"
    images.mkdir(parents=True)
    annotations.mkdir()
    h, w = face_crop.shape[:2]
    for i in range(count):
        x, y = 30 + 50 * i, 20 + 30 * i
        cv2.imwrite(str(images / f"scene{i}.jpg"), face_frame(face_crop, at=(x, y)))
        (annotations / f"scene{i}.xml").write_text(
            f"<annotation><filename>scene{i}.jpg</filename><object><name>without_mask</name>"
            f"<bndbox><xmin>{x}</xmin><ymin>{y}</ymin><xmax>{x + w}</xmax><ymax>{y + h}</ymax></bndbox>"
            "</object></annotation>"
        )
