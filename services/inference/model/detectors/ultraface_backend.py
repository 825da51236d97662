"""UltraFace RFB-640 (MIT) at any input size, through ONNX Runtime (CPU) or torch (GPU).

The committed graph is the published network with two changes: its weights are no longer listed as graph
inputs (so ONNX Runtime can fold constants: 3-5x faster on CPU), and it stops before box decoding with a
free input height and width, so the priors are computed here for the configured size. A smaller input is
quadratically faster and loses the smallest faces first. Both runtimes run the same file; only the
network call differs (`ultraface_torch.py` for the torch one), box decoding and suppression are shared.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from functools import lru_cache, partial
from typing import Any, Protocol

import cv2
import numpy as np
import onnxruntime as ort

from services.inference.model.config import UltraFaceConfig, onnx_file
from services.inference.model.crops import as_bgr
from services.inference.model.detectors.coarse_pass import canvas_to_frame, coarse_canvas, shrinks_into
from services.inference.model.detectors.suppression import suppress_nested
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


PIXEL_MEAN = np.float32(127.0)
PIXEL_SCALE = np.float32(1.0 / 128.0)
"""UltraFace reads pixels as (x - 127) / 128; both steps are exact in float32 (128 is a power of two)."""


def _blob(resized: Sequence[BgrImage]) -> np.ndarray:
    """N x 3 x H x W, RGB, (x - 127) / 128: what UltraFace was trained on, for frames of one size.

    Filled plane by plane into one array: the same numbers as OpenCV's `blobFromImage`, which took
    2.2 ms for a 512x384 frame in a tight loop here against 0.2 ms this way. Inside a worker, beside
    its decoding thread, the old call cost less (about 0.7 ms a check by profile) and the gain in
    checks/s was within the machine's drift (0-2%)."""
    h, w = resized[0].shape[:2]
    blob = np.empty((len(resized), 3, h, w), dtype=np.float32)
    for frame, image in zip(blob, resized, strict=True):
        for plane, channel in zip(frame, reversed(cv2.split(image)), strict=True):
            np.subtract(channel, PIXEL_MEAN, out=plane, dtype=np.float32)
    blob *= PIXEL_SCALE
    return blob


def ultraface_input(image: BgrImage, input_size: tuple[int, int]) -> np.ndarray:
    """The network's 1 x 3 x H x W input for one frame of any size."""
    return _blob([ultraface_resized(image, input_size)])


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
        blob = _blob(resized)
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
        canvas = config.coarse_input_size
        self._coarse = None if canvas is None else (canvas, ultraface_priors(*canvas))

    def detect(self, image: BgrImage) -> list[FaceBox]:
        return self.detect_batch([image])[0]

    def detect_batch(self, images: Sequence[BgrImage]) -> list[list[FaceBox]]:
        """Faces per image, running up to `batch_frames` frames per network call (and as many again at
        the coarse pass's size, when it is on)."""
        found: list[list[FaceBox]] = []
        step = self._config.batch_frames
        for start in range(0, len(images), step):
            chunk = images[start : start + step]
            resized = self._prepared(chunk, partial(ultraface_resized, input_size=self._config.input_size))
            scores, locations = self._network.run(resized)
            coarse = self._coarse_pass(chunk, resized)
            for i, image in enumerate(chunk):
                h, w = image.shape[:2]
                corners, face_scores = self._candidates(scores[i], locations[i], self._priors)
                corners = corners * np.array([w, h, w, h], dtype=np.float32)
                if coarse is not None:
                    small = (corners[:, 3] - corners[:, 1]) <= self._config.main_max_height * h
                    corners, face_scores = corners[small], face_scores[small]
                    large, large_scores = self._large_faces(coarse[0][i], coarse[1][i], (w, h))
                    corners = np.concatenate([corners, large])
                    face_scores = np.concatenate([face_scores, large_scores])
                found.append(self._suppressed(corners, face_scores, w, h))
        return found

    def _prepared(
        self, images: Sequence[BgrImage], prepare: Callable[[BgrImage], BgrImage]
    ) -> list[BgrImage]:
        if self._frame_pool is None or len(images) == 1:
            return [prepare(image) for image in images]
        return list(self._frame_pool.map(prepare, images))

    def _coarse_pass(
        self, images: Sequence[BgrImage], resized: Sequence[BgrImage]
    ) -> tuple[np.ndarray, np.ndarray] | None:
        """The network's run on the coarse canvases, shrunk from the main pass's input where that is
        at least the canvas's frame (both drop the aspect alike): at the default sizes an exact halving,
        0.05 ms against 1.0 ms for the area filter from a 640x480 frame."""
        if self._coarse is None:
            return None
        canvas, share = self._coarse[0], self._config.coarse_frame_share
        sources = resized if shrinks_into(self._config.input_size, canvas, share) else images
        prepare = partial(coarse_canvas, canvas=canvas, frame_share=share)
        return self._network.run(self._prepared(sources, prepare))

    def _large_faces(
        self, face_scores: np.ndarray, locations: np.ndarray, frame: tuple[int, int]
    ) -> tuple[np.ndarray, np.ndarray]:
        """The coarse pass's boxes in frame pixels, only those too large for the main pass."""
        if self._coarse is None:
            raise RuntimeError("no coarse pass is configured")
        canvas, priors = self._coarse
        corners, scores = self._candidates(face_scores, locations, priors)
        corners = canvas_to_frame(corners, canvas, self._config.coarse_frame_share, frame).astype(np.float32)
        large = (corners[:, 3] - corners[:, 1]) >= self._config.coarse_min_height * frame[1]
        return corners[large], scores[large]

    def _candidates(
        self, face_scores: np.ndarray, locations: np.ndarray, priors: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Relative corners and scores of the boxes scored `min_score` or more (at most `max_candidates`)."""
        candidates = np.flatnonzero(face_scores >= self._config.min_score)
        if len(candidates) > self._config.max_candidates:
            top = np.argpartition(face_scores[candidates], -self._config.max_candidates)
            candidates = candidates[top[-self._config.max_candidates :]]
        corners = decode_boxes(locations[candidates], priors[candidates])
        return adjust_boxes(corners, self._config.box_adjust), face_scores[candidates]

    def _suppressed(self, corners: np.ndarray, face_scores: np.ndarray, w: int, h: int) -> list[FaceBox]:
        """NMS by IoU, then one box per face (detectors/suppression.py), clipped to the frame."""
        if len(corners) == 0:
            return []
        xywh = np.concatenate([corners[:, :2], corners[:, 2:] - corners[:, :2]], axis=1).astype(np.float64)
        # OpenCV takes arrays where its stubs say sequences.
        boxes: Any = xywh
        scores: Any = face_scores
        picked = np.asarray(
            cv2.dnn.NMSBoxes(boxes, scores, self._config.min_score, self._config.nms_iou), dtype=np.int64
        ).reshape(-1)
        kept = suppress_nested(
            corners[picked], face_scores[picked], self._config.nested_overlap, self._config.whole_face_ratio
        )
        faces: list[FaceBox] = []
        for score_at, shape_at in kept:
            x1, y1, x2, y2 = corners[picked[shape_at]]
            bx1, by1 = max(0, round(float(x1))), max(0, round(float(y1)))
            bx2, by2 = min(w, round(float(x2))), min(h, round(float(y2)))
            if bx2 > bx1 and by2 > by1:
                faces.append(FaceBox(bx1, by1, bx2, by2, float(face_scores[picked[score_at]])))
        return faces
