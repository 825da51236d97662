"""UltraFace RFB-640 (MIT) at any input size, through ONNX Runtime (CPU) or torch (GPU).

The committed graph is the published network with two changes: its weights are no longer listed as graph
inputs (so ONNX Runtime can fold constants: 3-5x faster on CPU), and it stops before box decoding with a
free input height and width, so the priors are computed here for the configured size. A smaller input is
quadratically faster and loses the smallest faces first. Both runtimes run the same file; only the
network call differs (`ultraface_torch.py` for the torch one), box decoding and suppression are shared.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from concurrent.futures import Executor
from functools import lru_cache, partial
from typing import Any, Protocol

import cv2
import numpy as np
import onnxruntime as ort

from services.inference.model.config import UltraFaceConfig, onnx_file
from services.inference.model.crops import as_bgr
from services.inference.model.interface import BgrImage, FaceBox
from services.inference.model.onnx_session import CPU, onnx_session

_MIN_BOXES = ((10, 16, 24), (32, 48), (64, 96), (128, 192, 256))
_STRIDES = (8, 16, 32, 64)
CENTER_VARIANCE, SIZE_VARIANCE = 0.1, 0.2


@lru_cache(maxsize=8)
def ultraface_priors(width: int, height: int) -> np.ndarray:
    """Anchor boxes (cx, cy, w, h; relative) in the network's output order, as UltraFace was trained."""
    out = []
    for min_boxes, stride in zip(_MIN_BOXES, _STRIDES, strict=True):
        fw, fh = math.ceil(width / stride), math.ceil(height / stride)
        rows, cols = np.meshgrid(np.arange(fh), np.arange(fw), indexing="ij")
        k = len(min_boxes)
        cx = np.repeat((cols.reshape(-1) + 0.5) / fw, k)
        cy = np.repeat((rows.reshape(-1) + 0.5) / fh, k)
        w = np.tile(np.asarray(min_boxes, dtype=np.float64) / width, fw * fh)
        h = np.tile(np.asarray(min_boxes, dtype=np.float64) / height, fw * fh)
        out.append(np.stack([cx, cy, w, h], axis=1))
    priors: np.ndarray = np.clip(np.concatenate(out), 0.0, 1.0).astype(np.float32)
    return priors


def decode_boxes(locations: np.ndarray, priors: np.ndarray) -> np.ndarray:
    """SSD-style offsets to relative corner boxes (x1, y1, x2, y2)."""
    centers = locations[:, :2] * CENTER_VARIANCE * priors[:, 2:] + priors[:, :2]
    sizes = np.exp(locations[:, 2:] * SIZE_VARIANCE) * priors[:, 2:]
    return np.concatenate([centers - sizes / 2, centers + sizes / 2], axis=1)


def adjust_boxes(corners: np.ndarray, adjust: tuple[float, float, float, float]) -> np.ndarray:
    """Shift and scale N x 4 corner boxes about their centres (see `UltraFaceConfig.box_adjust`)."""
    dx, dy, sx, sy = adjust
    w = corners[:, 2] - corners[:, 0]
    h = corners[:, 3] - corners[:, 1]
    cx = (corners[:, 0] + corners[:, 2]) / 2 + dx * w
    cy = (corners[:, 1] + corners[:, 3]) / 2 + dy * h
    w, h = w * sx, h * sy
    return np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=1)


def ultraface_resized(image: BgrImage, input_size: tuple[int, int]) -> BgrImage:
    """The frame at the network's input size (aspect not kept, as in training)."""
    in_w, in_h = input_size
    h, w = image.shape[:2]
    if (w, h) == (in_w, in_h):
        return image
    return as_bgr(cv2.resize(image, (in_w, in_h), interpolation=cv2.INTER_LINEAR))


def _blob(resized: BgrImage) -> np.ndarray:
    """1 x 3 x H x W, RGB, (x - 127) / 128: what UltraFace was trained on."""
    return np.asarray(cv2.dnn.blobFromImage(resized, 1.0 / 128.0, mean=(127.0, 127.0, 127.0), swapRB=True))


def ultraface_input(image: BgrImage, input_size: tuple[int, int]) -> np.ndarray:
    """The network's 1 x 3 x H x W input for one frame of any size."""
    return _blob(ultraface_resized(image, input_size))


class UltraFaceNetwork(Protocol):
    """One network call on frames already resized to the input size: per frame, the face score of every
    anchor (N x A) and its box offsets (N x A x 4), as float32 arrays."""

    def run(self, resized: Sequence[BgrImage]) -> tuple[np.ndarray, np.ndarray]: ...


def _providers(device: str) -> list[Any]:
    """ONNX Runtime execution providers for a device name, failing early when the build lacks CUDA."""
    if device == "cpu":
        return list(CPU)
    if "CUDAExecutionProvider" not in ort.get_available_providers():
        raise RuntimeError(
            f"detector device {device!r} needs onnxruntime-gpu (this onnxruntime offers "
            f"{', '.join(ort.get_available_providers())})"
        )
    index = device.partition(":")[2] or "0"
    return [("CUDAExecutionProvider", {"device_id": int(index)}), "CPUExecutionProvider"]


class OnnxUltraFaceNetwork:
    """The CPU path (and onnxruntime-gpu's, where that build is installed)."""

    def __init__(self, config: UltraFaceConfig) -> None:
        self._session = onnx_session(
            onnx_file(config.model_path, config.precision),
            config.threads,
            spin=config.spin_wait,
            providers=_providers(config.device),
        )
        self._input_name = self._session.get_inputs()[0].name

    def run(self, resized: Sequence[BgrImage]) -> tuple[np.ndarray, np.ndarray]:
        blob = np.concatenate([_blob(img) for img in resized])
        scores, locations = self._session.run(None, {self._input_name: blob})
        return scores[:, :, 1], locations


def _network(config: UltraFaceConfig) -> UltraFaceNetwork:
    if config.runtime == "onnx":
        return OnnxUltraFaceNetwork(config)
    from services.inference.model.detectors.ultraface_torch import TorchUltraFaceNetwork

    return TorchUltraFaceNetwork(config)


class UltraFaceDetector:
    """Fast on CPU and strong on 16-31 px faces; every frame is resized to `input_size` (aspect not kept,
    as in training), which is also what lets a batch of frames of any sizes run as one tensor."""

    def __init__(self, config: UltraFaceConfig, frame_pool: Executor | None = None) -> None:
        self._config = config
        self._frame_pool = frame_pool
        self._network = _network(config)
        self._priors = ultraface_priors(*config.input_size)

    def detect(self, image: BgrImage) -> list[FaceBox]:
        return self.detect_batch([image])[0]

    def detect_batch(self, images: Sequence[BgrImage]) -> list[list[FaceBox]]:
        """Faces per image, running up to `batch_frames` frames per network call."""
        found: list[list[FaceBox]] = []
        step = self._config.batch_frames
        for start in range(0, len(images), step):
            chunk = images[start : start + step]
            scores, locations = self._network.run(self._resized(chunk))
            for i, image in enumerate(chunk):
                found.append(self._faces(image.shape[1], image.shape[0], scores[i], locations[i]))
        return found

    def _resized(self, images: Sequence[BgrImage]) -> list[BgrImage]:
        size = self._config.input_size
        if self._frame_pool is None or len(images) == 1:
            return [ultraface_resized(image, size) for image in images]
        return list(self._frame_pool.map(partial(ultraface_resized, input_size=size), images))

    def _faces(self, w: int, h: int, face_scores: np.ndarray, locations: np.ndarray) -> list[FaceBox]:
        keep = face_scores >= self._config.min_score
        if not np.any(keep):
            return []
        candidates = np.flatnonzero(keep)
        if len(candidates) > self._config.max_candidates:
            top = np.argpartition(face_scores[candidates], -self._config.max_candidates)
            candidates = candidates[top[-self._config.max_candidates :]]
        face_scores = face_scores[candidates]
        corners = decode_boxes(locations[candidates], self._priors[candidates])
        corners = adjust_boxes(corners, self._config.box_adjust) * np.array([w, h, w, h], dtype=np.float32)
        xywh = np.concatenate([corners[:, :2], corners[:, 2:] - corners[:, :2]], axis=1).astype(np.float64)
        # OpenCV takes arrays where its stubs say sequences.
        boxes: Any = xywh
        scores: Any = face_scores
        picked = cv2.dnn.NMSBoxes(boxes, scores, self._config.min_score, self._config.nms_iou)
        faces: list[FaceBox] = []
        for i in np.asarray(picked, dtype=np.int64).reshape(-1):
            x1, y1, x2, y2 = corners[i]
            bx1, by1 = max(0, round(float(x1))), max(0, round(float(y1)))
            bx2, by2 = min(w, round(float(x2))), min(h, round(float(y2)))
            if bx2 > bx1 and by2 > by1:
                faces.append(FaceBox(bx1, by1, bx2, by2, float(face_scores[i])))
        return faces
