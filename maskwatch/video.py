"""Frames from a video file or a stream (RTSP, HTTP), sampled at a rate, each with its own timestamp.

PyAV (FFmpeg's libraries, bundled in the wheel) reads both, so no ffmpeg binary
is needed. Sampling follows the stream's timestamps, not the wall clock, so a
file is replayed as fast as it can be analysed and still times every event as
it happened in the video.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import av
import numpy as np
import numpy.typing as npt

BgrFrame = npt.NDArray[np.uint8]

STREAM_OPTIONS = {"rtsp_transport": "tcp", "timeout": "5000000"}
"""For network sources: RTSP over TCP (no lost UDP packets smearing frames), 5 s socket timeout (µs)."""


class VideoError(Exception):
    """The source cannot be opened or read as video; the message is safe to show."""


@dataclass(frozen=True, slots=True)
class TimedFrame:
    t: float
    """Seconds from the first frame of the source."""
    image: BgrFrame


def sampled_frames(source: str, fps: float) -> Iterator[TimedFrame]:
    """Every frame at or after each 1/fps step of the source's own clock, as BGR pixels."""
    options = STREAM_OPTIONS if "://" in source else {}
    try:
        container = av.open(source, options=options, timeout=10.0)
    except (av.FFmpegError, OSError) as exc:
        raise VideoError(f"cannot open {source}: {getattr(exc, 'strerror', None) or exc}") from exc
    with container:
        if not container.streams.video:
            raise VideoError(f"{source} has no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        start: float | None = None
        next_t = 0.0
        try:
            for index, frame in enumerate(container.decode(stream)):
                stamp = frame.time if frame.time is not None else index / float(stream.average_rate or 25)
                if start is None:
                    start = stamp
                t = stamp - start
                if t + 1e-6 < next_t:
                    continue
                while next_t <= t + 1e-6:  # the next step on the grid, skipping any the source jumped over
                    next_t += 1.0 / fps
                image: BgrFrame = np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)
                yield TimedFrame(round(t, 3), image)
        except av.FFmpegError as exc:
            raise VideoError(f"{source}: {exc}") from exc
