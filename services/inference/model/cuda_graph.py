"""Replaying captured CUDA graphs instead of launching a network's kernels one by one from Python.

The torch runtimes run a few hundred small kernels per call (UltraFace and MobileNetV2 at serving sizes).
Launched from Python, on the slow cores of a typical GPU server, launching them costs more than running
them: an H100 spent 4-7 ms per stage on one frame. A CUDA graph records the launches once per input shape
and replays them with one call.

Batches are padded up to a power of two, so a handful of graphs serves every batch size; the padding rows
hold stale data and their outputs are dropped. All graphs share one memory pool, which is safe because one
call's outputs are copied out before the next call: the tensors returned are valid until then only.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

Forward = Callable[[torch.Tensor], tuple[torch.Tensor, ...]]


def padded_size(n: int, largest: int) -> int:
    """The smallest power of two holding `n` rows, at most `largest`."""
    size = 1
    while size < n and size < largest:
        size *= 2
    return size


class GraphedForward:
    """`forward` on a CUDA device, one captured graph per padded batch size and input shape.

    Larger batches than `largest` run in chunks. Capture happens on first use of a shape (a few warm-up
    runs and a recording, tens of milliseconds), so the first frames of a new size are slower.
    """

    def __init__(self, forward: Forward, largest: int) -> None:
        self._forward = forward
        self._largest = largest
        self._pool = torch.cuda.graph_pool_handle()
        self._graphs: dict[
            tuple[object, ...], tuple[torch.Tensor, tuple[torch.Tensor, ...], torch.cuda.CUDAGraph]
        ] = {}

    def __call__(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if len(x) > self._largest:
            # Each part's outputs are overwritten by the next replay: copy them out as they come.
            parts = [
                tuple(output.clone() for output in self(x[i : i + self._largest]))
                for i in range(0, len(x), self._largest)
            ]
            return tuple(torch.cat(outputs) for outputs in zip(*parts, strict=True))
        n = len(x)
        size = padded_size(n, self._largest)
        key = (size, tuple(x.shape[1:]), x.dtype, x.device)
        if key not in self._graphs:
            self._graphs[key] = self._capture(
                torch.empty((size, *x.shape[1:]), dtype=x.dtype, device=x.device)
            )
        static_input, static_outputs, graph = self._graphs[key]
        static_input[:n].copy_(x)
        graph.replay()
        return tuple(output[:n] for output in static_outputs)

    def _capture(
        self, static_input: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[torch.Tensor, ...], torch.cuda.CUDAGraph]:
        static_input.zero_()
        # Warm-up on a side stream, as capture requires: it also lets cuDNN pick its kernels for this shape.
        side = torch.cuda.Stream(device=static_input.device)  # type: ignore[no-untyped-call]
        side.wait_stream(torch.cuda.current_stream(static_input.device))
        with torch.cuda.stream(side):
            for _ in range(3):
                self._forward(static_input)
        torch.cuda.current_stream(static_input.device).wait_stream(side)
        graph = torch.cuda.CUDAGraph()
        with torch.cuda.graph(graph, pool=self._pool):
            static_outputs = self._forward(static_input)
        return static_input, static_outputs, graph
