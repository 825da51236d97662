"""Indoor scenes with exact ground truth: face pictures moving over a room, as frames or an MP4 file.

For the demo's indoor camera, the tests and the benchmark. Faces come from the
astronaut portrait that ships with scikit-image (masked and unmasked versions
drawn by `stack.demo.sample_faces`), or from the dev data's crops when a test
has them, so the scenes run through the real model.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import numpy.typing as npt

from stack.demo.sample_faces import SampleKind, sample_image

Image = npt.NDArray[np.uint8]
WIDTH, HEIGHT = 640, 480


def portrait_face(kind: SampleKind) -> Image:
    """The astronaut's head and shoulders (BGR), masked or not."""
    image = np.asarray(sample_image(kind))[:, :, ::-1]  # RGB to BGR
    return np.ascontiguousarray(image[40:240, 140:300])


@dataclass
class Actor:
    faces: dict[str, Image]
    """Label → the picture shown while the actor has that label."""
    path: Callable[[float], tuple[float, float]]
    width: int = 110
    unmasked: list[tuple[float, float]] = field(default_factory=list)
    present: tuple[float, float] = (0.0, float("inf"))

    def label_at(self, t: float) -> str:
        return "no_mask" if any(a <= t < b for a, b in self.unmasked) else "mask"


def render(actors: list[Actor], t: float) -> Image:
    canvas = np.full((HEIGHT, WIDTH, 3), (96, 110, 120), np.uint8)
    cv2.rectangle(canvas, (0, 380), (WIDTH, HEIGHT), (70, 80, 90), -1)  # a floor, so it is not flat grey
    for actor in actors:
        if not actor.present[0] <= t < actor.present[1]:
            continue
        face = actor.faces[actor.label_at(t)]
        height = round(actor.width * face.shape[0] / face.shape[1])
        picture = cv2.resize(face, (actor.width, height), interpolation=cv2.INTER_AREA)
        cx, cy = actor.path(t)
        x, y = round(cx - actor.width / 2), round(cy - height / 2)
        x0, y0 = max(x, 0), max(y, 0)
        x1, y1 = min(x + actor.width, WIDTH), min(y + height, HEIGHT)
        if x1 > x0 and y1 > y0:
            canvas[y0:y1, x0:x1] = picture[y0 - y : y1 - y, x0 - x : x1 - x]
    return canvas


def jpeg_frames(actors: list[Actor], duration: float, fps: float) -> Iterator[tuple[float, bytes]]:
    """The scene sampled at `fps`: (seconds, JPEG) pairs, as a camera would send them."""
    for i in range(round(duration * fps)):
        t = i / fps
        yield t, cv2.imencode(".jpg", render(actors, t), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes()


def write_clip(
    path: Path, actors: list[Actor], duration: float, fps: int = 10, *, codec: str = "mpeg4"
) -> Path:
    """The scene as a video file; `codec="libx264"` gives H.264 (what an RTSP server streams)."""
    with av.open(str(path), mode="w") as container:
        stream = container.add_stream(codec, rate=Fraction(fps))
        assert isinstance(stream, av.video.stream.VideoStream)
        stream.width, stream.height, stream.pix_fmt = WIDTH, HEIGHT, "yuv420p"
        stream.bit_rate = 4_000_000
        stream.options = {"g": str(fps)}  # a key frame every second: a viewer joining late starts soon
        for i in range(round(duration * fps)):
            frame = av.VideoFrame.from_ndarray(render(actors, i / fps), format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path
