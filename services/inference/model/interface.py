"""The seam between the inference worker and the mask model.

The worker only knows these types; detector and classifier backends plug in
behind them, so a GPU backend or a better model can replace the CPU one without
touching the queue or the policy code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

import numpy as np
import numpy.typing as npt

from services.inference.model.nose_probe import NoseProbe

MaskLabel = Literal["mask", "no_mask", "incorrect"]
MASK_LABELS: tuple[MaskLabel, ...] = ("mask", "no_mask", "incorrect")

BgrImage = npt.NDArray[np.uint8]
"""An H x W x 3 uint8 image in OpenCV's BGR channel order."""


@dataclass(frozen=True, slots=True)
class FaceBox:
    """A detected face in pixel coordinates of the original image (x2, y2 exclusive)."""

    x1: int
    y1: int
    x2: int
    y2: int
    score: float  # detector confidence, 0..1


@dataclass(frozen=True, slots=True)
class Face:
    """A face with the model's verdict on how the mask is worn."""

    box: FaceBox
    label: MaskLabel
    score: float  # P(face) x P(label | face), 0..1 (model/scoring.py); the product acts on >= 0.5
    nose_uncovered: bool | None = None
    """For a face called `mask`, whether the nose probe finds the nose uncovered (model/nose_probe.py);
    None where the question was not asked (another label, or no probe beside the weights)."""


@dataclass(frozen=True, slots=True)
class FrameResult:
    """Every face found in one frame, plus where the time went."""

    faces: tuple[Face, ...]
    width: int
    height: int
    decode_ms: float
    detect_ms: float
    classify_ms: float
    brightness: float | None = None
    """Mean luma of the frame, 0-255 (model/frame_quality.py); None where not measured."""
    sharpness: float | None = None
    """Variance of the frame's Laplacian: low when blurred; None where not measured."""


@dataclass(frozen=True, slots=True)
class FrameError:
    """A frame that could not be analysed; the reason is safe to show to an operator."""

    code: Literal["empty", "not_an_image", "too_large", "internal"]
    message: str


class FaceDetector(Protocol):
    """Finds faces in decoded images."""

    def detect(self, image: BgrImage) -> list[FaceBox]:
        """Faces in one image."""
        ...

    def detect_batch(self, images: Sequence[BgrImage]) -> list[list[FaceBox]]:
        """Faces per image, in order; a backend that can batch (a GPU) runs them together."""
        ...


@dataclass(frozen=True, slots=True)
class CropAssessment:
    """What the classifier makes of a batch of crops."""

    probabilities: npt.NDArray[np.float64] | npt.NDArray[np.float32]
    """One row over the classifier's `labels` per crop."""
    nose_uncovered: npt.NDArray[np.float64] | None
    """P(nose uncovered) per crop from the nose probe; None where the classifier has no probe."""


class MaskClassifier(Protocol):
    """Labels face crops; takes many crops at once so a GPU can batch them."""

    @property
    def labels(self) -> Sequence[str]:
        """The outputs in column order: the mask labels, and `background` when the model has it."""
        ...

    def probabilities(self, crops: Sequence[BgrImage]) -> npt.NDArray[np.float32]:
        """One row of probabilities over `labels` per crop."""
        ...

    def classify(self, crops: Sequence[BgrImage]) -> list[tuple[MaskLabel, float]]:
        """The likeliest mask label per crop with its probability, judging the crop alone."""
        ...

    def features(self, crops: Sequence[BgrImage]) -> npt.NDArray[np.float32]:
        """The pooled features behind each crop's verdict, what the nose probe reads (training it)."""
        ...

    def assess(self, crops: Sequence[BgrImage]) -> CropAssessment:
        """Probabilities and, where a nose probe is loaded, its answer: one model run for both."""
        ...

    @property
    def nose_probe(self) -> NoseProbe | None:
        """The probe and the threshold it acts at, or None."""
        ...


class Engine(Protocol):
    """Turns a batch of encoded images into one result or one error per image, in order.

    Never raises for bad input: a corrupt frame yields a FrameError and the rest
    of the batch is still analysed.
    """

    def analyze_batch(self, images: Sequence[bytes]) -> list[FrameResult | FrameError]: ...


@dataclass(frozen=True, slots=True)
class DecodedFrame:
    """A frame ready for the model: the image, what decoding it cost, and its light and focus."""

    image: BgrImage
    decode_ms: float
    brightness: float
    sharpness: float


DecodedBatch = list[DecodedFrame | FrameError]
"""One entry per encoded image of a batch, in order."""


@runtime_checkable
class StagedEngine(Engine, Protocol):
    """An engine whose decoding can run apart from its model: the worker decodes the next batch while
    the model runs on the current one. `analyze_batch(x)` is `analyze_decoded(decode_batch(x))`."""

    def decode_batch(self, images: Sequence[bytes]) -> DecodedBatch: ...

    def analyze_decoded(self, batch: DecodedBatch) -> list[FrameResult | FrameError]: ...
