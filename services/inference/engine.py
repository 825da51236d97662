"""The mask engine: a batch of encoded frames in, one FrameResult or FrameError per frame out, in order.

Frames are decoded one by one, then detected together (the detector batches as its backend can), and all
face crops of the batch go to the classifier in one call: on a GPU the batches are where the speed is.
Each face's score weighs the detector's and the classifier's opinions (model/scoring.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from concurrent.futures import Executor, ThreadPoolExecutor

from services.inference.allocator import keep_frame_buffers
from services.inference.model.classifier import build_classifier
from services.inference.model.classifier import verdicts as crop_verdicts
from services.inference.model.config import ModelConfig
from services.inference.model.crops import square_crop
from services.inference.model.decode import decode_frame
from services.inference.model.detectors import build_detector
from services.inference.model.frame_quality import brightness_and_sharpness
from services.inference.model.interface import (
    BgrImage,
    CropAssessment,
    DecodedBatch,
    DecodedFrame,
    Face,
    FaceBox,
    FaceDetector,
    FrameError,
    FrameResult,
    MaskClassifier,
    MaskLabel,
    StagedEngine,
)
from services.inference.model.scoring import ScoreFusion, fused_verdicts

log = logging.getLogger(__name__)


class MaskEngine:
    """Decode, detect, classify; a failure in one frame never costs the others their result."""

    def __init__(
        self,
        detector: FaceDetector,
        classifier: MaskClassifier,
        max_pixels: int,
        min_face_score: float,
        crop_margin: float,
        fusion: ScoreFusion | None = None,
        frame_pool: Executor | None = None,
    ) -> None:
        self.detector = detector
        self.classifier = classifier
        self.max_pixels = max_pixels
        self.min_face_score = min_face_score
        self.crop_margin = crop_margin
        self.fusion = fusion or ScoreFusion()
        # OpenCV's decoder releases the GIL, so threads decode a batch's frames side by side; a lone
        # frame stays on this thread, where handing it over would only add latency.
        self._frame_pool = frame_pool

    def analyze_batch(self, images: Sequence[bytes]) -> list[FrameResult | FrameError]:
        return self.analyze_decoded(self.decode_batch(images))

    def decode_batch(self, images: Sequence[bytes]) -> DecodedBatch:
        """Each frame decoded on its own (side by side in the frame pool for a batch), with its light
        and focus measured: everything the model run needs, ready before the model is free."""
        if self._frame_pool is not None and len(images) > 1:
            return list(self._frame_pool.map(self._decode_one, images))
        return [self._decode_one(data) for data in images]

    def analyze_decoded(self, batch: DecodedBatch) -> list[FrameResult | FrameError]:
        """Detect on every decoded frame of the batch, then classify all their faces in one call."""
        frames = self._detect(batch)
        crops: list[BgrImage] = []
        detector_scores: list[float] = []
        for frame in frames:
            if not isinstance(frame, FrameError):
                decoded, boxes, _ = frame
                crops += [
                    square_crop(decoded.image, (b.x1, b.y1, b.x2, b.y2), self.crop_margin) for b in boxes
                ]
                detector_scores += [b.score for b in boxes]
        started = time.perf_counter()
        try:
            assessed = self.classifier.assess(crops) if crops else None
            verdicts = (
                fused_verdicts(detector_scores, assessed.probabilities, self.classifier.labels, self.fusion)
                if assessed is not None
                else []
            )
            noses = self._nose_answers(verdicts, assessed)
        except Exception:
            log.exception("classifier failed on a batch of %d crops", len(crops))
            error = FrameError("internal", "the mask classifier failed on this batch")
            return [f if isinstance(f, FrameError) else error for f in frames]
        classify_ms = (time.perf_counter() - started) * 1000.0
        n_crops = max(len(crops), 1)
        results: list[FrameResult | FrameError] = []
        cursor = 0
        for frame in frames:
            if isinstance(frame, FrameError):
                results.append(frame)
                continue
            decoded, boxes, detect_ms = frame
            faces = []
            for box, (label, score), nose in zip(
                boxes,
                verdicts[cursor : cursor + len(boxes)],
                noses[cursor : cursor + len(boxes)],
                strict=True,
            ):
                if score >= self.min_face_score:
                    faces.append(Face(box, label, score, nose))
            share = classify_ms * len(boxes) / n_crops
            cursor += len(boxes)
            h, w = decoded.image.shape[:2]
            results.append(
                FrameResult(
                    tuple(faces),
                    w,
                    h,
                    decoded.decode_ms,
                    detect_ms,
                    share,
                    decoded.brightness,
                    decoded.sharpness,
                )
            )
        return results

    def _nose_answers(
        self, verdicts: list[tuple[MaskLabel, float]], assessed: CropAssessment | None
    ) -> list[bool | None]:
        """Per crop, the nose probe's answer for a face called `mask` (None for other labels or without
        a probe)."""
        probe = self.classifier.nose_probe
        if assessed is None or assessed.nose_uncovered is None or probe is None:
            return [None] * len(verdicts)
        return [
            bool(p >= probe.threshold) if label == "mask" else None
            for (label, _), p in zip(verdicts, assessed.nose_uncovered, strict=True)
        ]

    def _detect(self, batch: DecodedBatch) -> list[tuple[DecodedFrame, list[FaceBox], float] | FrameError]:
        """Detect on all decodable frames in one batch; the detector's time is shared out evenly. If the
        batch fails, each frame is retried alone so one bad frame cannot cost the others their result."""
        good = [d for d in batch if isinstance(d, DecodedFrame)]
        started = time.perf_counter()
        try:
            found: list[list[FaceBox] | FrameError] = list(
                self.detector.detect_batch([d.image for d in good])
            )
            if len(found) != len(good):
                raise RuntimeError(f"the detector answered {len(found)} of {len(good)} frames")
        except Exception:
            log.exception("face detection failed on a batch of %d frames; retrying one by one", len(good))
            found = [self._detect_one(d.image) for d in good]
        detect_ms = (time.perf_counter() - started) * 1000.0 / max(len(good), 1)
        results: list[tuple[DecodedFrame, list[FaceBox], float] | FrameError] = []
        boxes_of = iter(found)
        for d in batch:
            if isinstance(d, FrameError):
                results.append(d)
                continue
            boxes = next(boxes_of)
            results.append(boxes if isinstance(boxes, FrameError) else (d, boxes, detect_ms))
        return results

    def _decode_one(self, data: bytes) -> DecodedFrame | FrameError:
        """The frame ready for the model, or why the bytes are not a frame we can analyse."""
        started = time.perf_counter()
        try:
            frame = decode_frame(bytes(data), self.max_pixels)
        except Exception:
            log.exception("frame decoding failed")
            return FrameError("internal", "the frame could not be analysed")
        if isinstance(frame, FrameError):
            return frame
        decode_ms = (time.perf_counter() - started) * 1000.0
        brightness, sharpness = brightness_and_sharpness(frame.image)
        return DecodedFrame(frame.image, decode_ms, brightness, sharpness)

    def _detect_one(self, image: BgrImage) -> list[FaceBox] | FrameError:
        try:
            return self.detector.detect(image)
        except Exception:
            log.exception("frame analysis failed")
            return FrameError("internal", "the frame could not be analysed")

    def classify_images(self, images: Sequence[BgrImage]) -> list[Face]:
        """Label whole images as face crops (the crop set, `detect --crops`), skipping detection."""
        if not images:
            return []
        assessed = self.classifier.assess(list(images))
        verdicts = crop_verdicts(assessed.probabilities, self.classifier.labels)
        noses = self._nose_answers(verdicts, assessed)
        return [
            Face(FaceBox(0, 0, img.shape[1], img.shape[0], 1.0), label, score, nose)
            for img, (label, score), nose in zip(images, verdicts, noses, strict=True)
        ]


def build_engine(config: ModelConfig | None = None) -> MaskEngine:
    """Load detector and classifier as configured (default: the committed CPU setup).

    Also tunes this process's allocator to keep frame-sized buffers (see services/inference/allocator.py).
    """
    keep_frame_buffers()
    config = config or ModelConfig()
    log.info(
        "model graphs: detector %s, classifier %s (int8 is the default only on CPUs with VNNI)",
        getattr(config.detector, "precision", "-"),
        config.classifier.precision if config.classifier.runtime == "onnx" else config.classifier.runtime,
    )
    classifier = build_classifier(config.classifier)
    frame_pool = (
        ThreadPoolExecutor(config.frame_threads, thread_name_prefix="frames")
        if config.frame_threads > 1
        else None
    )
    detector = build_detector(config.detector, frame_pool)
    return MaskEngine(
        detector,
        classifier,
        config.max_pixels,
        config.min_face_score,
        classifier.sidecar.crop_margin,
        config.fusion,
        frame_pool,
    )


def _check_protocol(engine: MaskEngine) -> StagedEngine:
    return engine


__all__ = ["MaskEngine", "build_engine"]
