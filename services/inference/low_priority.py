"""A thread at the lowest CPU priority, for work that must never slow a gate check.

Camera frames are analysed on their own engine, built and run in this thread.
Linux keeps a nice value per thread, and threads inherit it from the thread
that starts them, so the engine's own worker threads (ONNX Runtime's pool,
created with its session) run at that priority too. When a gate check and
camera frames want the CPU at once, the scheduler gives the check nearly all of
it; when no check is waiting, frames get everything.
"""

from __future__ import annotations

import logging
import os
import threading
from concurrent.futures import ThreadPoolExecutor

log = logging.getLogger(__name__)

LOWEST = 19


def low_priority_executor(nice: int = LOWEST, *, name: str = "frames") -> ThreadPoolExecutor:
    """One worker thread at `nice` (19 is the lowest priority); where that cannot be set, a normal one."""

    def lower() -> None:
        try:
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), nice)
        except (AttributeError, OSError) as exc:  # not Linux, or not allowed
            log.warning("cannot lower the %s thread's priority (%s); frames compete with checks", name, exc)

    return ThreadPoolExecutor(max_workers=1, thread_name_prefix=name, initializer=lower)
