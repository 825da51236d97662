"""Sample gate photos made from a portrait that ships inside scikit-image.

The demo and the tests need real faces without any dataset on the machine:
scikit-image's `astronaut.png` (a NASA photograph in the public domain) is a
frontal face; a surgical mask drawn over its nose and mouth gives the masked
case and one drawn below the nose the incorrectly worn case.
"""

from __future__ import annotations

import io
from functools import cache
from importlib import resources
from typing import Literal

from PIL import Image, ImageDraw, ImageFilter

SampleKind = Literal["mask", "no_mask", "incorrect", "empty", "two_faces"]

# Landmarks of the astronaut's face in the 512x512 original (eyes, nose tip, mouth corners, chin).
FACE_LEFT, FACE_RIGHT, FACE_TOP, FACE_BOTTOM = 178, 267, 63, 175
NOSE_BRIDGE_Y, NOSE_TIP_Y, CHIN_Y = 112, 124, 172
MASK_BLUE = (120, 170, 205)


@cache
def _portrait_png() -> bytes:
    try:
        return (resources.files("skimage") / "data" / "astronaut.png").read_bytes()
    except ModuleNotFoundError as exc:
        raise RuntimeError("sample faces need scikit-image installed (pip install scikit-image)") from exc


def portrait() -> Image.Image:
    return Image.open(io.BytesIO(_portrait_png())).convert("RGB")


def _draw_mask(image: Image.Image, top_y: int) -> Image.Image:
    layer = Image.new("RGBA", image.size, (0, 0, 0, 0))
    draw = ImageDraw.Draw(layer)
    left, right = FACE_LEFT + 4, FACE_RIGHT - 4
    outline = [
        (left, top_y + 6),
        ((left + right) // 2, top_y - 4),
        (right, top_y + 6),
        (right - 6, CHIN_Y - 8),
        ((left + right) // 2, CHIN_Y + 4),
        (left + 6, CHIN_Y - 8),
    ]
    draw.polygon(outline, fill=(*MASK_BLUE, 255))
    for offset in (14, 28, 42):  # pleats
        y = top_y + offset
        if y < CHIN_Y - 10:
            draw.line([(left + 4, y), (right - 4, y)], fill=(100, 150, 185, 255), width=2)
    draw.line([(left, top_y + 8), (FACE_LEFT - 6, top_y - 6)], fill=(235, 235, 235, 255), width=2)
    draw.line([(right, top_y + 8), (FACE_RIGHT + 6, top_y - 6)], fill=(235, 235, 235, 255), width=2)
    layer = layer.filter(ImageFilter.GaussianBlur(0.8))
    out = image.convert("RGBA")
    out.alpha_composite(layer)
    return out.convert("RGB")


def sample_image(kind: SampleKind) -> Image.Image:
    """A gate photo of the given kind, 512x512."""
    face = portrait()
    if kind == "no_mask":
        return face
    if kind == "mask":
        return _draw_mask(face, NOSE_BRIDGE_Y - 8)
    if kind == "incorrect":
        return _draw_mask(face, NOSE_TIP_Y + 10)
    if kind == "empty":
        return Image.new("RGB", face.size, (128, 128, 128))
    # Two people: the portrait twice, side by side at half size.
    canvas = Image.new("RGB", face.size, (128, 128, 128))
    half = face.resize((256, 256))
    canvas.paste(half, (0, 128))
    canvas.paste(half, (256, 128))
    return canvas


def sample_jpeg(kind: SampleKind, *, quality: int = 90) -> bytes:
    buffer = io.BytesIO()
    sample_image(kind).save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()
