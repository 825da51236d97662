"""Turning untrusted encoded bytes into an image, refusing what would be expensive before paying for it."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
from PIL import Image, UnidentifiedImageError

from services.inference.model.interface import BgrImage, FrameError


@dataclass(frozen=True, slots=True)
class Decoded:
    image: BgrImage


def read_header_size(data: bytes) -> tuple[int, int] | None:
    """Width and height from the header only (Pillow reads pixels lazily); None if Pillow cannot read it."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                return int(img.width), int(img.height)
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError, SyntaxError):
        return None


def is_truncated_jpeg(data: bytes) -> bool:
    """A JPEG cut short still decodes (the missing rows come out grey), so look for its end marker.

    Entropy-coded data never contains FF D9, so the marker near the end means the scan finished; a little
    slack allows for the padding some cameras append.
    """
    return data[:2] == b"\xff\xd8" and b"\xff\xd9" not in data[-256:]


def decode_frame(data: bytes, max_pixels: int) -> Decoded | FrameError:
    """Decode JPEG/PNG/... bytes to BGR with OpenCV, after checking the header's pixel count."""
    if not data:
        return FrameError("empty", "the frame has no bytes")
    size = read_header_size(data)
    if size is not None:
        width, height = size
        if width <= 0 or height <= 0:
            return FrameError("not_an_image", "the image header gives no size")
        if width * height > max_pixels:
            return FrameError("too_large", f"{width}x{height} is more than {max_pixels} pixels")
    if is_truncated_jpeg(data):
        return FrameError("not_an_image", "the JPEG is truncated (no end-of-image marker)")
    buffer = np.frombuffer(data, dtype=np.uint8)
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        if size is None:
            return FrameError("not_an_image", "the bytes are not an image format we can read")
        return FrameError("not_an_image", "the image is corrupt or truncated")
    if size is None and image.shape[0] * image.shape[1] > max_pixels:
        return FrameError("too_large", f"{image.shape[1]}x{image.shape[0]} is more than {max_pixels} pixels")
    return Decoded(np.ascontiguousarray(image))
