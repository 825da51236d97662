"""A reader thread per stream that always holds the newest decoded frame and reconnects on its own.

Decoding must keep up with the stream (an RTSP source does not wait), but the
monitor needs only a couple of frames a second: the thread decodes everything
and keeps the last frame, and the sampler takes it when it wants one. A lost
stream is reopened with capped exponential backoff; a URL that never works
costs one attempt per backoff period, nothing more.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass

import av
import numpy as np

from maskwatch.video import STREAM_OPTIONS, BgrFrame

log = logging.getLogger(__name__)

BACKOFF_START_S = 1.0
BACKOFF_CAP_S = 30.0


@dataclass(frozen=True, slots=True)
class Latest:
    image: BgrFrame
    sequence: int
    """Increases with every decoded frame: the sampler takes a frame only once."""
    at: float
    """time.time() when it was decoded."""


class LatestFrameReader:
    def __init__(self, camera_id: str, url: str, *, backoff_cap_s: float = BACKOFF_CAP_S) -> None:
        self.camera_id = camera_id
        self.url = url
        self._backoff_cap_s = backoff_cap_s
        self._latest: Latest | None = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"rtsp-{camera_id}", daemon=True)
        self.connections = 0
        self.failures = 0

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._thread.join(timeout)

    def latest(self) -> Latest | None:
        with self._lock:
            return self._latest

    def _run(self) -> None:
        failures = 0
        sequence = 0
        while not self._stop.is_set():
            try:
                container = av.open(
                    self.url, options=STREAM_OPTIONS if "://" in self.url else {}, timeout=10.0
                )
            except (av.FFmpegError, OSError) as exc:
                failures += 1
                self.failures += 1
                self._wait(failures, f"cannot open the stream: {exc}")
                continue
            self.connections += 1
            log.info("camera %s: reading %s", self.camera_id, _redacted(self.url))
            try:
                with container:
                    stream = container.streams.video[0]
                    stream.thread_type = "AUTO"
                    for frame in container.decode(stream):
                        if self._stop.is_set():
                            return
                        image: BgrFrame = np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
                        sequence += 1
                        with self._lock:
                            self._latest = Latest(image, sequence, time.time())
                        failures = 0
            except (av.FFmpegError, OSError, IndexError) as exc:
                failures += 1
                self.failures += 1
                self._wait(failures, f"the stream failed: {exc}")
                continue
            failures += 1  # the stream ended (a file, or the camera hung up): open it again
            self._wait(failures, "the stream ended")

    def _wait(self, failures: int, why: str) -> None:
        self._sleep(min(self._backoff_cap_s, BACKOFF_START_S * 2 ** (failures - 1)), why)

    def _sleep(self, delay: float, why: str) -> None:
        log.warning("camera %s: %s; retrying in %.0f s", self.camera_id, why, delay)
        self._stop.wait(delay)


def _redacted(url: str) -> str:
    """The URL without its password, for logs."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    credentials, _, host = rest.rpartition("@")
    user = credentials.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}"
