"""Keeping frame-sized buffers in the heap instead of mapping and unmapping them for every frame.

glibc serves allocations over 128 KiB with fresh `mmap`s and returns them with `munmap` on free. A
decoded 640x480 frame is 0.9 MiB, and the detector's resized copy and input tensor are as big, so every
frame paid for hundreds of page faults, and every unmap for a TLB flush on the core where ONNX Runtime's
worker thread was spinning. On 2 cores that was 2 ms of an 8 ms frame (bench/bench_inference.py).
Raising the mmap threshold and the trim threshold lets freed buffers be reused as they are.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger(__name__)

_M_TRIM_THRESHOLD = -1
_M_MMAP_THRESHOLD = -3
MMAP_THRESHOLD = 32 * 1024 * 1024
"""glibc's ceiling for this setting on 64-bit; larger buffers (huge frames) are still mapped."""
TRIM_THRESHOLD = 128 * 1024 * 1024

_applied = False


def keep_frame_buffers() -> bool:
    """Apply the thresholds once per process; False where the C library is not glibc (nothing to do)."""
    global _applied
    if _applied:
        return True
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    ok = bool(
        mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD) == 1 and mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD) == 1
    )
    if not ok:
        log.warning("mallopt refused the frame-buffer thresholds; frames will be slower to analyse")
    _applied = ok
    return ok
