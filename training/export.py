"""Writing a trained classifier as ONNX (CPU serving), a torch state dict (GPU serving) and its sidecar."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from services.inference.model.mobilenet_v2 import MobileNetV2
from training.feature_output import expose_features


class _WithSoftmax(nn.Module):
    """Serving wants probabilities; baking softmax into the graph keeps both runtimes' outputs identical."""

    def __init__(self, model: MobileNetV2) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.softmax(self.model(x), dim=1)


def export_onnx(model: MobileNetV2, path: Path, input_size: int) -> None:
    """fp32 graph with a dynamic batch axis, so the engine sends every crop of a batch in one call, and the
    pooled features as a second output (training/feature_output.py)."""
    model = model.eval().to(memory_format=torch.contiguous_format)  # type: ignore[call-overload]
    dummy = torch.zeros(1, 3, input_size, input_size)
    torch.onnx.export(
        _WithSoftmax(model),
        (dummy,),
        str(path),
        input_names=["input"],
        output_names=["probabilities"],
        dynamic_axes={"input": {0: "batch"}, "probabilities": {0: "batch"}},
        opset_version=17,
        dynamo=False,
    )
    expose_features(path)


def export_state_dict(model: MobileNetV2, path: Path) -> None:
    """fp16 on disk (half the size); loading copies it into fp32 or fp16 parameters as the runtime wants."""
    state = {k: v.half() if v.is_floating_point() else v for k, v in model.state_dict().items()}
    torch.save(state, path)
