"""Replaying a video through the model, the tracker and the alert logic, on the video's own clock.

No broker and no database: what a venue uses to tune a camera's settings on a
recording, and what the tests use to check the whole chain on a known clip.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from maskwatch.video import BgrFrame, TimedFrame, VideoError, sampled_frames
from services.inference.model.interface import Engine, FrameResult
from services.monitoring.alerting import AlertEvent
from services.monitoring.drawing import draw_people
from services.monitoring.monitor import CameraMonitor
from services.monitoring.settings import CameraSettings
from services.monitoring.track import Detection

BATCH = 8
"""Frames analysed together: the engine is faster per frame in batches, and events stay in order."""


def replay(
    source: str,
    engine: Engine,
    settings: CameraSettings,
    *,
    fps: float | None = None,
    annotate: Path | None = None,
) -> Iterator[AlertEvent]:
    """The alert events of `source`, in order, sampled at `fps` (default: the camera's rate); with
    `annotate`, also a video of what was seen."""
    rate = fps or settings.fps
    monitor = CameraMonitor(settings)
    writer = AnnotatedVideo(annotate, rate) if annotate is not None else None
    last_t = 0.0
    try:
        batch: list[TimedFrame] = []
        for frame in sampled_frames(source, rate):
            batch.append(frame)
            if len(batch) == BATCH:
                yield from _run_batch(batch, engine, monitor, writer)
                last_t = batch[-1].t
                batch = []
        if batch:
            yield from _run_batch(batch, engine, monitor, writer)
            last_t = batch[-1].t
        yield from monitor.finish(last_t)
    finally:
        if writer is not None:
            writer.close()


def _run_batch(
    batch: list[TimedFrame], engine: Engine, monitor: CameraMonitor, writer: AnnotatedVideo | None
) -> Iterator[AlertEvent]:
    jpegs = [cv2.imencode(".jpg", f.image, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes() for f in batch]
    for frame, result in zip(batch, engine.analyze_batch(jpegs), strict=True):
        faces = result.faces if isinstance(result, FrameResult) else ()
        detections = [
            Detection(
                (f.box.x1, f.box.y1, f.box.x2, f.box.y2), f.box.score, label=f.label, label_score=f.score
            )
            for f in faces
        ]
        yield from monitor.step(detections, frame.t)
        if writer is not None:
            writer.write(draw_people(frame.image, monitor.people))


@dataclass
class AnnotatedVideo:
    """An H.264 MP4 (MPEG-4 Part 2 where the build lacks H.264) at the sampling rate."""

    path: Path
    fps: float

    def __post_init__(self) -> None:
        self._container: av.container.OutputContainer | None = None
        self._stream: av.video.stream.VideoStream | None = None

    def write(self, image: BgrFrame) -> None:
        if self._container is None:
            self._open(image.shape[1], image.shape[0])
        assert self._container is not None
        assert self._stream is not None
        even = image[: image.shape[0] // 2 * 2, : image.shape[1] // 2 * 2]
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(even), format="bgr24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def _open(self, width: int, height: int) -> None:
        try:
            container = av.open(str(self.path), mode="w")
        except (av.FFmpegError, OSError) as exc:
            raise VideoError(f"cannot write {self.path}: {exc}") from exc
        rate = Fraction(self.fps).limit_denominator(1000)
        try:
            stream = container.add_stream("h264", rate=rate)
        except (av.FFmpegError, ValueError):
            stream = container.add_stream("mpeg4", rate=rate)
        stream.width, stream.height = width // 2 * 2, height // 2 * 2
        stream.pix_fmt = "yuv420p"
        self._container, self._stream = container, stream

    def close(self) -> None:
        if self._container is None or self._stream is None:
            return
        for packet in self._stream.encode():
            self._container.mux(packet)
        self._container.close()
        self._container = None
