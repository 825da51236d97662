"""What an untrusted JPEG or PNG claims to be, read from its header alone, before anything decodes it.

A 629-byte JPEG can claim 20000x20000 pixels; a decoder believes it and
allocates 1.2 GB. Reading the size from the header costs microseconds, so
ingest refuses such an image before it is queued and the worker refuses it
again before decoding (frames from IP cameras never pass ingest). The parsing
is ours, not Pillow's, because Pillow's own bomb check raises for exactly the
images we most need a size for, and a decoder's pixel limit is process-wide.

A progressive JPEG is decoded once per scan; thousands of tiny scans make a
small file slow to decode, so the scans are counted too.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Literal

MAX_SCANS = 64
"""Scans in one JPEG at most: a progressive camera JPEG has about ten."""

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Start-of-frame markers carry the size: every SOFn except DHT (C4), JPG (C8) and DAC (CC).
SOF_MARKERS = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
STANDALONE_MARKERS = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM and RSTn have no length
SOS, EOI = 0xDA, 0xD9
APP1, EXIF_ID = 0xE1, b"Exif\x00\x00"


@dataclass(frozen=True)
class ImageHeader:
    format: Literal["jpeg", "png"]
    width: int
    height: int
    scans: int = 1
    exif: bool = False
    """A JPEG with an Exif segment, which may turn the picture (its orientation tag)."""

    @property
    def pixels(self) -> int:
        return self.width * self.height


class UnreadableHeader(ValueError):
    """Not a JPEG or PNG whose header we can read; the message says why, for a rejection's detail."""


def read_header(data: bytes) -> ImageHeader:
    """The format and size a JPEG or PNG declares. Raises UnreadableHeader for anything else."""
    if data.startswith(b"\xff\xd8"):
        return _jpeg(data)
    if data.startswith(PNG_SIGNATURE):
        return _png(data)
    raise UnreadableHeader("not a JPEG or PNG")


def image_problem(data: bytes, max_pixels: int) -> str | None:
    """Why these bytes must not be decoded (too many pixels, too many scans, no readable header), or None."""
    try:
        header = read_header(data)
    except UnreadableHeader as exc:
        return str(exc)
    return size_problem(header, max_pixels)


def size_problem(header: ImageHeader, max_pixels: int) -> str | None:
    if header.width <= 0 or header.height <= 0:
        return "the image header gives no size"
    if header.pixels > max_pixels:
        return f"{header.width}x{header.height} is more than {max_pixels} pixels"
    if header.scans > MAX_SCANS:
        return f"the JPEG has {header.scans} scans, more than {MAX_SCANS}"
    return None


def _jpeg(data: bytes) -> ImageHeader:
    at = 2
    size: tuple[int, int] | None = None
    exif = False
    while at + 4 <= len(data):
        if data[at] != 0xFF:
            raise UnreadableHeader("the JPEG's markers are corrupt")
        marker = data[at + 1]
        if marker == 0xFF:  # fill byte before a marker
            at += 1
            continue
        if marker in STANDALONE_MARKERS:
            at += 2
            continue
        if marker == EOI:
            break
        (length,) = struct.unpack_from(">H", data, at + 2)
        if length < 2:
            raise UnreadableHeader("the JPEG's markers are corrupt")
        if marker == APP1 and data[at + 4 : at + 10] == EXIF_ID:
            exif = True
        if marker in SOF_MARKERS:
            if length < 7 or at + 9 > len(data):
                raise UnreadableHeader("the JPEG's frame header is cut short")
            height, width = struct.unpack_from(">HH", data, at + 5)
            size = (width, height)
        if marker == SOS:
            if size is None:
                raise UnreadableHeader("the JPEG has no frame header before its image data")
            # Entropy-coded data stuffs every FF (FF 00), so FF DA appears only as a real scan marker.
            return ImageHeader("jpeg", size[0], size[1], scans=data.count(b"\xff\xda", at), exif=exif)
        at += 2 + length
    raise UnreadableHeader("the JPEG ends before its image data")


def _png(data: bytes) -> ImageHeader:
    if len(data) < 24 or data[12:16] != b"IHDR":
        raise UnreadableHeader("the PNG has no header chunk")
    width, height = struct.unpack_from(">II", data, 16)
    return ImageHeader("png", width, height)
