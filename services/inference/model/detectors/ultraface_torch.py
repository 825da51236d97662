"""UltraFace in torch: the GPU path for the detector.

The committed ONNX graph runs through `OnnxConvGraph` with its batch norms folded away, in inference
mode, channels-last and optionally fp16; on a GPU its launches are replayed as a CUDA graph
(cuda_graph.py). Frames travel to the device as the resized 8-bit pixels (a quarter of the bytes of a
float blob) and are converted and normalised there. On a CPU this runtime works too, but ONNX Runtime is
faster there; that is what the tests use it for: the two must agree.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from services.inference.model.config import UltraFaceConfig
from services.inference.model.cuda_graph import Forward, GraphedForward
from services.inference.model.interface import BgrImage
from services.inference.model.onnx_torch_graph import load_graph


class TorchUltraFaceNetwork:
    """One batched forward pass per call; scores and offsets come back to the host as float32."""

    def __init__(self, config: UltraFaceConfig) -> None:
        if config.device == "cpu":
            torch.set_num_threads(config.threads)
        self._device = torch.device(config.device)
        self._dtype = torch.float16 if config.half and self._device.type == "cuda" else torch.float32
        graph = load_graph(config.model_path).fold_batch_norms().eval().requires_grad_(False)
        graph = graph.to(self._device, self._dtype)
        self._graph = graph.to(memory_format=torch.channels_last)  # type: ignore[call-overload]
        self._forward: Forward = self._scores_and_offsets
        if config.cuda_graphs and self._device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            self._forward = GraphedForward(self._scores_and_offsets, config.batch_frames)

    def _scores_and_offsets(self, pixels: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """N x H x W x BGR bytes in, face scores (N x A) and offsets (N x A x 4) out, as float32."""
        # N x RGB x H x W; permuting an NHWC tensor leaves it channels-last, as the convolutions want.
        x = pixels.flip(-1).permute(0, 3, 1, 2).to(self._dtype)
        x = ((x - 127.0) / 128.0).contiguous(memory_format=torch.channels_last)
        logits, offsets = self._graph(x)
        return torch.softmax(logits.float(), dim=2)[:, :, 1], offsets.float()

    def run(self, resized: Sequence[BgrImage]) -> tuple[np.ndarray, np.ndarray]:
        pixels = torch.from_numpy(np.stack(resized)).to(self._device)
        with torch.inference_mode():
            scores, offsets = self._forward(pixels)
            return scores.cpu().numpy(), offsets.cpu().numpy()
