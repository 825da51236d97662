"""Mask classifier runtimes: ONNX Runtime for CPU serving, torch for GPU batching.

Both read the same sidecar and share the crop preprocessing, so they label a face identically. Both also
offer the pooled features behind each verdict, which the nose probe beside the weights reads
(model/nose_probe.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, cast

import numpy as np

from services.inference.model.config import ClassifierConfig, onnx_file
from services.inference.model.crops import to_input_tensor
from services.inference.model.interface import (
    MASK_LABELS,
    BgrImage,
    CropAssessment,
    MaskClassifier,
    MaskLabel,
)
from services.inference.model.nose_probe import NoseProbe, read_nose_probe
from services.inference.model.onnx_session import onnx_session
from services.inference.model.sidecar import FEATURES_OUTPUT, ClassifierSidecar, read_sidecar

if TYPE_CHECKING:
    import torch

    from services.inference.model.cuda_graph import Forward


def verdicts(probabilities: np.ndarray, labels: Sequence[str]) -> list[tuple[MaskLabel, float]]:
    """Pick the likeliest mask label per row; its probability (background mass included) is the score.

    A detector false positive keeps most of its mass on `background`, so whatever mask label wins
    gets a low score and falls below the operating point instead of being reported as a face.
    """
    columns = [labels.index(name) for name in MASK_LABELS]
    mask_probs = probabilities[:, columns]
    best = mask_probs.argmax(axis=1)
    return [(MASK_LABELS[int(i)], float(mask_probs[row, i])) for row, i in enumerate(best)]


Outputs = tuple[np.ndarray, ...]
"""A batch's probabilities, then its pooled features where they were asked for."""


def mirror_averaged(run: Callable[[np.ndarray], Outputs], batch: np.ndarray, mirror: bool) -> Outputs:
    """Every output for an N x 3 x H x W batch, averaged with its mirror image's when `mirror`.

    Faces are left-right symmetric but masks pulled to one side and side views are not; averaging both
    views steadies the rare `incorrect` class most (held-out AP50 0.31 -> 0.45) for one extra crop per face
    in the same batch.
    """
    if not mirror:
        return run(batch)
    both = np.ascontiguousarray(np.concatenate([batch, batch[..., ::-1]]))
    n = len(batch)
    return tuple(np.asarray((out[:n] + out[n:]) / 2.0) for out in run(both))


@dataclass(frozen=True)
class _Runtime:
    """What a runtime needs besides its weights."""

    sidecar: ClassifierSidecar
    mirror: bool
    nose_probe: NoseProbe | None


class _CropClassifier:
    """What both runtimes share: crops to a normalised batch (mirrored too when asked), probabilities and
    the nose probe's answer out, verdicts from those. A runtime only says how to run a batch (`_run`)."""

    def __init__(self, runtime: _Runtime) -> None:
        self.sidecar = runtime.sidecar
        self.nose_probe = runtime.nose_probe
        self._mirror = runtime.mirror

    @property
    def labels(self) -> Sequence[str]:
        return self.sidecar.labels

    def assess(self, crops: Sequence[BgrImage]) -> CropAssessment:
        outputs = self._run_crops(crops, with_features=self.nose_probe is not None)
        nose = self.nose_probe.probabilities(outputs[1]) if self.nose_probe is not None else None
        return CropAssessment(outputs[0], nose)

    def probabilities(self, crops: Sequence[BgrImage]) -> np.ndarray:
        return self._run_crops(crops, with_features=False)[0]

    def features(self, crops: Sequence[BgrImage]) -> np.ndarray:
        """The pooled features behind each crop's verdict (mirror-averaged as the verdict is)."""
        return self._run_crops(crops, with_features=True)[1]

    def _run_crops(self, crops: Sequence[BgrImage], with_features: bool) -> Outputs:
        s = self.sidecar
        batch = to_input_tensor(list(crops), s.input_size, s.mean, s.std)
        return mirror_averaged(lambda b: self._run(b, with_features), batch, self._mirror)

    def classify(self, crops: Sequence[BgrImage]) -> list[tuple[MaskLabel, float]]:
        if not crops:
            return []
        return verdicts(self.probabilities(crops), self.sidecar.labels)

    def _run(self, batch: np.ndarray, with_features: bool) -> Outputs:
        """(probabilities,) or, `with_features`, (probabilities, features)."""
        raise NotImplementedError


class OnnxMaskClassifier(_CropClassifier):
    """The CPU serving path: a small graph (int8 or fp32) that outputs probabilities."""

    def __init__(self, model_path: Path, runtime: _Runtime, threads: int) -> None:
        super().__init__(runtime)
        # Runs right after the detector on the same cores: spinning workers would only steal its time.
        self._session = onnx_session(model_path, threads, spin=False)
        self._input_name = self._session.get_inputs()[0].name
        self._outputs = [o.name for o in self._session.get_outputs()]
        self.has_features = FEATURES_OUTPUT in self._outputs
        if runtime.nose_probe is not None and not self.has_features:
            raise ValueError(
                f"{model_path} has no `{FEATURES_OUTPUT}` output for the nose probe beside it: run "
                "`maskwatch train-nose-probe` again, which adds it, or remove the probe file"
            )

    def _run(self, batch: np.ndarray, with_features: bool) -> Outputs:
        names = [self._outputs[0], FEATURES_OUTPUT] if with_features else [self._outputs[0]]
        return tuple(cast(list[np.ndarray], self._session.run(names, {self._input_name: batch})))


class TorchMaskClassifier(_CropClassifier):
    """The GPU path: same network from a state dict, run in inference mode, channels-last, optionally fp16."""

    def __init__(
        self,
        model_path: Path,
        runtime: _Runtime,
        device: str,
        half: bool,
        threads: int,
        cuda_graphs: bool = True,
    ) -> None:
        import torch

        from services.inference.model.mobilenet_v2 import MobileNetV2

        super().__init__(runtime)
        sidecar = runtime.sidecar
        if device == "cpu":
            torch.set_num_threads(threads)
        self._torch = torch
        self._device = torch.device(device)
        self._dtype = torch.float16 if half and self._device.type == "cuda" else torch.float32
        model = MobileNetV2(num_classes=len(sidecar.labels))
        model.load_state_dict(torch.load(model_path, map_location="cpu", weights_only=True))
        model = model.eval().to(self._device, self._dtype)
        self._model = model.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self._forward: Forward = self._probabilities
        if cuda_graphs and self._device.type == "cuda":
            from services.inference.model.cuda_graph import GraphedForward

            torch.backends.cudnn.benchmark = True
            self._forward = GraphedForward(self._probabilities, largest=128)

    def _probabilities(self, batch: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Probabilities and pooled features, as the ONNX graphs' two outputs."""
        torch = self._torch
        x = batch.to(self._dtype).contiguous(memory_format=torch.channels_last)
        pooled = torch.flatten(torch.nn.functional.adaptive_avg_pool2d(self._model.features(x), 1), 1)
        logits = self._model.classifier(pooled)
        return torch.softmax(logits.float(), dim=1), pooled.float()

    def _run(self, batch: np.ndarray, with_features: bool) -> Outputs:
        torch = self._torch
        tensor = torch.from_numpy(batch).to(self._device)
        with torch.inference_mode():
            probs, pooled = self._forward(tensor)
            return (probs.cpu().numpy(), pooled.cpu().numpy()) if with_features else (probs.cpu().numpy(),)


def build_classifier(config: ClassifierConfig) -> OnnxMaskClassifier | TorchMaskClassifier:
    """The runtime named in the config; the torch runtime reads `<name>.pt` beside the ONNX file."""
    runtime = _Runtime(
        read_sidecar(config.model_path),
        config.mirror_average,
        read_nose_probe(config.model_path) if config.nose_probe else None,
    )
    if config.runtime == "onnx":
        return OnnxMaskClassifier(onnx_file(config.model_path, config.precision), runtime, config.threads)
    weights = config.model_path.with_suffix(".pt")
    return TorchMaskClassifier(
        weights, runtime, config.device, config.half, config.threads, config.cuda_graphs
    )


def _check_protocol(c: OnnxMaskClassifier | TorchMaskClassifier) -> MaskClassifier:
    return c
