"""Frame decoding: JPEGs read by libjpeg-turbo directly must be the very pixels OpenCV's decoder gives,
whatever the encoder's layout; what the fast path does not take (Exif orientation, PNG, damaged JPEGs)
is OpenCV's reading."""

from __future__ import annotations

import io

import cv2
import numpy as np
import pytest
from PIL import Image

from services.inference.model.decode import Decoded, decode_frame, turbo_decoded

MAX_PIXELS = 4_000_000


def picture(width: int, height: int) -> np.ndarray:
    """A photo-like picture: smooth shapes with fine texture, so every DCT frequency is exercised."""
    rng = np.random.default_rng(width * height)
    smooth = cv2.GaussianBlur(rng.integers(0, 256, (height, width, 3), dtype=np.uint8), (0, 0), 4)
    texture = rng.integers(-20, 21, (height, width, 3))
    stretched = cv2.normalize(smooth, None, 0, 255, cv2.NORM_MINMAX).astype(np.int64)
    return np.clip(stretched + texture, 0, 255).astype(np.uint8)


def pil_jpeg(image: np.ndarray, **options: object) -> bytes:
    out = io.BytesIO()
    Image.fromarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB)).save(out, "JPEG", **options)
    return out.getvalue()


def opencv_reading(data: bytes) -> np.ndarray:
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image is not None
    return image


def decoded(data: bytes) -> np.ndarray:
    result = decode_frame(data, MAX_PIXELS)
    assert isinstance(result, Decoded), result
    return result.image


ENCODINGS = {
    "opencv, quality 90": lambda im: cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes(),
    "opencv, 4:4:4": lambda im: cv2.imencode(
        ".jpg", im, [cv2.IMWRITE_JPEG_SAMPLING_FACTOR, cv2.IMWRITE_JPEG_SAMPLING_FACTOR_444]
    )[1].tobytes(),
    "opencv, restart markers": lambda im: cv2.imencode(".jpg", im, [cv2.IMWRITE_JPEG_RST_INTERVAL, 4])[
        1
    ].tobytes(),
    "pillow, 4:2:0": lambda im: pil_jpeg(im, quality=85),
    "pillow, 4:2:2": lambda im: pil_jpeg(im, quality=85, subsampling=1),
    "pillow, progressive": lambda im: pil_jpeg(im, quality=75, progressive=True),
    "pillow, optimised": lambda im: pil_jpeg(im, quality=95, optimize=True),
}


@pytest.mark.parametrize("encoding", ENCODINGS)
@pytest.mark.parametrize("size", [(640, 480), (333, 251)])
def test_a_jpeg_decodes_to_exactly_what_opencv_reads(encoding: str, size: tuple[int, int]):
    data = ENCODINGS[encoding](picture(*size))
    fast = turbo_decoded(data)
    assert fast is not None, "a clean JPEG takes the fast path"
    assert fast.shape == (size[1], size[0], 3)
    assert fast.dtype == np.uint8
    assert fast.flags.c_contiguous
    np.testing.assert_array_equal(fast, opencv_reading(data))
    np.testing.assert_array_equal(decoded(data), fast)


def test_a_greyscale_jpeg_decodes_to_three_equal_channels_as_opencv_reads_it():
    grey = cv2.cvtColor(picture(320, 240), cv2.COLOR_BGR2GRAY)
    data = cv2.imencode(".jpg", grey)[1].tobytes()
    assert turbo_decoded(data) is not None
    np.testing.assert_array_equal(decoded(data), opencv_reading(data))


def test_a_jpeg_turned_by_its_exif_is_turned_as_opencv_turns_it():
    exif = Image.Exif()
    exif[0x0112] = 6  # the camera was held a quarter turn round
    data = pil_jpeg(picture(320, 240), quality=90, exif=exif.tobytes())
    got = decoded(data)
    assert got.shape == (320, 240, 3)
    np.testing.assert_array_equal(got, opencv_reading(data))


def test_a_cmyk_jpeg_decodes_to_what_opencv_reads():
    cmyk = Image.fromarray(cv2.cvtColor(picture(160, 120), cv2.COLOR_BGR2RGB)).convert("CMYK")
    out = io.BytesIO()
    cmyk.save(out, "JPEG", quality=90)
    data = out.getvalue()
    np.testing.assert_array_equal(decoded(data), opencv_reading(data))


def test_a_jpeg_with_damaged_data_gets_opencvs_lenient_reading():
    data = bytearray(cv2.imencode(".jpg", picture(320, 240), [cv2.IMWRITE_JPEG_QUALITY, 90])[1].tobytes())
    scan = data.find(b"\xff\xda")
    data[scan + 600 : scan + 640] = b"\xff\xd0" * 20  # restart markers where none belong
    assert turbo_decoded(bytes(data)) is None
    np.testing.assert_array_equal(decoded(bytes(data)), opencv_reading(bytes(data)))


def test_a_png_is_still_read():
    image = picture(64, 48)
    data = cv2.imencode(".png", image)[1].tobytes()
    np.testing.assert_array_equal(decoded(data), image)
