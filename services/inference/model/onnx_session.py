"""One way to open an ONNX Runtime session, for the detector and the classifier alike."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import onnxruntime as ort

CPU: tuple[str, ...] = ("CPUExecutionProvider",)


def onnx_session(
    model_path: Path, threads: int, *, spin: bool, providers: Sequence[Any] = CPU
) -> ort.InferenceSession:
    """A quiet session with `threads` intra-op threads and no inter-op pool (the graphs are sequential).

    `spin` lets idle worker threads busy-wait between kernels: faster for a session whose kernels follow
    each other closely, but it takes cores from whatever runs next on the same machine.
    """
    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spin else "0")
    return ort.InferenceSession(str(model_path), options, providers=list(providers))
