"""The int8 copies of the face detector and the mask classifier that serve on CPU.

Static quantization: per-channel int8 weights and uint8 activations whose ranges are calibrated on the
training split of the dev scenes (never the held-out fifth), fed exactly as serving feeds them. On 2
AVX-512 VNNI cores the detector ran in 0.6-0.8x its fp32 time (on AMX-capable cores, in the same time)
and the classifier in about 0.45-0.65x, with held-out accuracy as good (docs/model-card.md has both
tables).

In the detector two kinds of layer stay in fp32: the first convolution, which sees raw pixels, and the
eight heads whose outputs become box offsets and scores, where rounding moves boxes and shifts which faces
clear the score threshold. Quantizing those too cost a point of large-face recall.

Needs the `onnx` package (the `train` extra); serving the results needs only ONNX Runtime.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from services.inference.model.crops import read_bgr, square_crop, to_input_tensor
from services.inference.model.detectors.ultraface_backend import ultraface_input
from services.inference.model.sidecar import read_sidecar
from training.dataset import Scene, split_scenes
from training.feature_output import expose_features


def _named_copy(src: Path, dst: Path) -> None:
    """ONNX Runtime's quantizer addresses nodes by name, and exported graphs may leave them blank."""
    import onnx

    model = onnx.load(str(src))
    for i, node in enumerate(model.graph.node):
        node.name = node.name or f"{node.op_type.lower()}_{i}"
    onnx.save(model, str(dst))


def detector_layers_kept_in_float(model_path: Path) -> list[str]:
    """The first convolution and the detection heads (convolutions whose output is transposed into the
    per-anchor score and offset tensors)."""
    import onnx

    model = onnx.load(str(model_path))
    consumers: dict[str, list[str]] = {}
    for node in model.graph.node:
        for name in node.input:
            consumers.setdefault(name, []).append(node.op_type)
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    heads = [n.name for n in convs if "Transpose" in consumers.get(n.output[0], [])]
    return [convs[0].name, *heads]


def _quantize(
    src: Path,
    out: Path,
    batches: Iterator[np.ndarray],
    keep_in_float: Callable[[Path], list[str]] | None = None,
) -> list[str]:
    """Name, pre-process and statically quantize `src` into `out`; `keep_in_float(prepared_path)` picks
    the nodes to leave alone."""
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Calibration(CalibrationDataReader):  # type: ignore[misc]
        def __init__(self, input_name: str) -> None:
            self._input_name = input_name

        def get_next(self) -> dict[str, np.ndarray] | None:
            batch = next(batches, None)
            return None if batch is None else {self._input_name: batch}

    import onnx

    with tempfile.TemporaryDirectory() as tmp:
        named, prepared = Path(tmp) / "named.onnx", Path(tmp) / "prepared.onnx"
        _named_copy(src, named)
        quant_pre_process(str(named), str(prepared))
        kept: list[str] = keep_in_float(prepared) if keep_in_float else []
        input_name = onnx.load(str(prepared)).graph.input[0].name
        out.parent.mkdir(parents=True, exist_ok=True)
        quantize_static(
            str(prepared),
            str(out),
            Calibration(input_name),
            quant_format=QuantFormat.QOperator,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            per_channel=True,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_exclude=kept,
        )
    return kept


def quantize_detector(
    src: Path, out: Path, calibration: Sequence[Scene], input_size: tuple[int, int]
) -> list[str]:
    """Write an int8 copy of the UltraFace graph; returns the layers left in fp32."""
    if not calibration:
        raise ValueError("no calibration scenes")

    def batches() -> Iterator[np.ndarray]:
        for scene in calibration:
            image = read_bgr(scene.image_path)
            if image is not None:
                yield ultraface_input(image, input_size)

    return _quantize(src, out, batches(), detector_layers_kept_in_float)


def quantize_classifier(src: Path, out: Path, calibration: Sequence[Scene], batch_size: int = 32) -> None:
    """Write an int8 copy of a mask classifier, calibrated on crops of the annotated scene faces, with the
    pooled features as a second output (training/feature_output.py)."""
    sidecar = read_sidecar(src)
    crops = []
    for scene in calibration:
        image = read_bgr(scene.image_path)
        if image is not None:
            crops += [square_crop(image, (b.x1, b.y1, b.x2, b.y2), sidecar.crop_margin) for b in scene.boxes]
    if not crops:
        raise ValueError("no calibration faces")

    def batches() -> Iterator[np.ndarray]:
        for start in range(0, len(crops), batch_size):
            yield to_input_tensor(
                crops[start : start + batch_size], sidecar.input_size, sidecar.mean, sidecar.std
            )

    _quantize(src, out, batches())
    expose_features(out)


def spread(items: Sequence[Scene], count: int) -> list[Scene]:
    """`count` scenes spread evenly over the list (sorted by image name), so a rerun picks the same ones."""
    ordered = sorted(items, key=lambda s: s.image_path.name)
    if count >= len(ordered):
        return ordered
    step = len(ordered) / count
    return [ordered[int(i * step)] for i in range(count)]


CALIBRATION_SCENES = 100
"""Scenes whose frames (detector) and faces (classifier) calibrate an int8 copy."""


def calibration_scenes(
    scenes: Sequence[Scene], fold: int | None = 0, count: int = CALIBRATION_SCENES
) -> list[Scene]:
    """Scenes a model of `fold` trained on, spread evenly. A final fit (`fold=None`) trained on every scene
    but calibrates on fold 0's training split, so that `maskwatch quantize`, which cannot know the fold,
    rebuilds the committed int8 copies byte for byte."""
    return spread(split_scenes(list(scenes), 0 if fold is None else fold)[0], count)
