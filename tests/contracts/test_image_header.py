"""Image sizes read from headers alone: real JPEGs and PNGs, progressive scans, and headers that lie."""

from __future__ import annotations

import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image

from maskwatch.image_header import MAX_SCANS, UnreadableHeader, image_problem, read_header


def jpeg(width: int, height: int, **options: object) -> bytes:
    noise = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    out = io.BytesIO()
    Image.fromarray(noise).save(out, "JPEG", **options)
    return out.getvalue()


def claiming(data: bytes, width: int, height: int) -> bytes:
    """The JPEG with its frame header patched to claim another size (the 629-byte bomb's trick)."""
    patched = bytearray(data)
    for marker in (b"\xff\xc0", b"\xff\xc2"):
        at = patched.find(marker)
        if at > 0:
            patched[at + 5 : at + 9] = struct.pack(">HH", height, width)
            return bytes(patched)
    raise AssertionError("no frame header")


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0"))
        + chunk(b"IEND", b"")
    )


def test_the_size_of_real_images_as_encoders_write_them():
    assert read_header(jpeg(64, 48)) == read_header(jpeg(64, 48))
    header = read_header(jpeg(64, 48))
    assert (header.format, header.width, header.height, header.scans) == ("jpeg", 64, 48, 1)
    ok, encoded = cv2.imencode(".jpg", np.zeros((30, 70, 3), np.uint8))
    assert ok
    assert (read_header(encoded.tobytes()).width, read_header(encoded.tobytes()).height) == (70, 30)
    progressive = read_header(jpeg(64, 48, progressive=True))
    assert (progressive.width, progressive.height) == (64, 48)
    assert 1 < progressive.scans <= 12
    ok, encoded_png = cv2.imencode(".png", np.zeros((5, 9, 3), np.uint8))
    assert (read_header(encoded_png.tobytes()).format, read_header(encoded_png.tobytes()).width) == ("png", 9)


def test_a_small_file_claiming_a_huge_image_is_refused_from_its_header():
    bomb = claiming(jpeg(16, 16), 20_000, 20_000)
    assert len(bomb) < 1500
    assert image_problem(bomb, 16_000_000) == "20000x20000 is more than 16000000 pixels"
    assert image_problem(png(50_000, 50_000), 16_000_000) == "50000x50000 is more than 16000000 pixels"
    assert image_problem(jpeg(64, 48), 16_000_000) is None
    assert image_problem(claiming(jpeg(16, 16), 0, 16), 16_000_000) == "the image header gives no size"


def test_a_jpeg_with_thousands_of_scans_is_refused():
    data = jpeg(16, 16, progressive=True)
    scan = data.find(b"\xff\xda")
    end = data.rfind(b"\xff\xd9")
    extra = data[scan:end] * (MAX_SCANS + 1)  # the same scans over and over: a slow file to decode
    assert image_problem(data[:end] + extra + data[end:], 16_000_000).startswith("the JPEG has")


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"GIF89a" + bytes(100), "not a JPEG or PNG"),
        (b"", "not a JPEG or PNG"),
        (b"\xff\xd8\xff\xe0\x00\x10JFIF", "ends before its image data"),
        (b"\xff\xd8\xff\xda\x00\x08" + bytes(20), "no frame header before its image data"),
        (b"\xff\xd8\x00\x00\x00\x00", "markers are corrupt"),
        (b"\xff\xd8\xff\xc0\x00\x11\x08", "cut short"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\x0dIHDX" + bytes(12), "no header chunk"),
    ],
)
def test_what_has_no_readable_header_says_why(data, why):
    with pytest.raises(UnreadableHeader, match=why):
        read_header(data)
    assert image_problem(data, 16_000_000) is not None


def test_a_jpeg_with_exif_says_so():
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: turned a quarter
    assert read_header(jpeg(64, 48, exif=exif.tobytes())).exif
    assert not read_header(jpeg(64, 48)).exif
