"""The engine on real weights: order, per-frame errors, and that a real face is found and labelled."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest

from services.inference.engine import MaskEngine, build_engine
from services.inference.model.config import ClassifierConfig, ModelConfig, YuFaceConfig
from services.inference.model.interface import FrameError, FrameResult

from .conftest import encode, face_frame, grey


def _png_header(width: int, height: int) -> bytes:
    """A syntactically valid PNG that claims a huge size but carries almost no data."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return (
            struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))
        )

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\0" * 64))
        + chunk(b"IEND", b"")
    )


def _jpeg_claiming(width: int, height: int) -> bytes:
    """A real small JPEG whose start-of-frame marker is patched to claim another size."""
    data = bytearray(encode(grey(16, 16)))
    sof = data.find(b"\xff\xc0")
    assert sof > 0
    data[sof + 5 : sof + 9] = struct.pack(">HH", height, width)
    return bytes(data)


def _bmp_claiming(width: int, height: int) -> bytes:
    """A BMP header claiming a size Pillow calls a decompression bomb (measured by Pillow, not by us)."""
    info = struct.pack("<IiiHHIIiiII", 40, width, height, 1, 24, 0, 0, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + len(info) + 16, 0, 0, 14 + len(info)) + info + bytes(16)


def test_blank_frames_give_no_faces_and_keep_order(engine: MaskEngine):
    sizes = [(100, 50), (640, 480), (33, 77), (320, 240)]
    results = engine.analyze_batch([encode(grey(w, h)) for w, h in sizes])
    assert len(results) == len(sizes)
    for (w, h), result in zip(sizes, results, strict=True):
        assert isinstance(result, FrameResult)
        assert (result.width, result.height) == (w, h)
        assert result.faces == ()
        assert result.decode_ms >= 0
        assert result.detect_ms >= 0


def test_empty_batch(engine: MaskEngine):
    assert engine.analyze_batch([]) == []


def test_a_real_face_is_found_where_it_was_pasted_and_labelled_no_mask(engine: MaskEngine, face_crop):
    frame = face_frame(face_crop, at=(240, 150))
    (result,) = engine.analyze_batch([encode(frame)])
    assert isinstance(result, FrameResult)
    confident = [f for f in result.faces if f.score >= 0.5]
    assert len(confident) == 1
    face = confident[0]
    assert 240 <= face.box.x1 < face.box.x2 <= 240 + face_crop.shape[1]
    assert 150 <= face.box.y1 < face.box.y2 <= 150 + face_crop.shape[0]
    assert face.label == "no_mask"
    assert 0.5 <= face.score <= 1.0


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"", "empty"),
        (b"\x00" * 1000, "not_an_image"),
        (np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes(), "not_an_image"),
        (b"GIF89a not really", "not_an_image"),
        (_png_header(10_000, 10_000), "too_large"),
        (_jpeg_claiming(10_000, 10_000), "too_large"),
        (_jpeg_claiming(20_000, 20_000), "too_large"),
        (_bmp_claiming(30_000, 30_000), "too_large"),
    ],
    ids=[
        "empty",
        "zeros",
        "random",
        "fake-gif",
        "png-10000x10000",
        "jpeg-10000x10000",
        "jpeg-20000x20000",
        "bmp-30000x30000",
    ],
)
def test_bad_bytes_give_a_frame_error(engine: MaskEngine, data: bytes, code: str):
    (result,) = engine.analyze_batch([data])
    assert isinstance(result, FrameError)
    assert result.code == code
    assert result.message


def test_truncated_jpeg_is_refused(engine: MaskEngine, face_crop):
    data = encode(face_frame(face_crop))
    for cut in (len(data) // 2, len(data) - 10, 200):
        (result,) = engine.analyze_batch([data[:cut]])
        assert isinstance(result, FrameError), cut
        assert result.code == "not_an_image"


def test_truncated_png_is_refused(engine: MaskEngine, face_crop):
    data = encode(face_frame(face_crop), ".png")
    (result,) = engine.analyze_batch([data[: len(data) // 2]])
    assert isinstance(result, FrameError)


def test_mixed_batch_keeps_good_frames_and_order(engine: MaskEngine, face_crop):
    good_face = encode(face_frame(face_crop))
    batch = [b"", good_face, b"garbage", encode(grey(64, 48)), _png_header(10_000, 10_000), good_face]
    results = engine.analyze_batch(batch)
    kinds = [type(r).__name__ for r in results]
    assert kinds == ["FrameError", "FrameResult", "FrameError", "FrameResult", "FrameError", "FrameResult"]
    assert [r.code for r in results if isinstance(r, FrameError)] == ["empty", "not_an_image", "too_large"]
    faces_1 = results[1].faces  # type: ignore[union-attr]
    faces_5 = results[5].faces  # type: ignore[union-attr]
    assert results[3].faces == ()  # type: ignore[union-attr]
    assert len(faces_1) >= 1
    assert faces_1 == faces_5  # same frame, same answer, whatever its neighbours


def test_frame_threads_keep_every_frame_and_its_answer(engine: MaskEngine, face_crop):
    threaded = build_engine(ModelConfig(frame_threads=4))
    faces = [encode(face_frame(face_crop, at=(20 + 40 * i, 30 + 20 * i))) for i in range(8)]
    batch = [*faces[:3], b"", b"garbage", _png_header(10_000, 10_000), *faces[3:]]
    expected = engine.analyze_batch(batch)
    results = threaded.analyze_batch(batch)
    assert [type(r) for r in results] == [type(r) for r in expected]
    for got, want in zip(results, expected, strict=True):
        if isinstance(want, FrameError):
            assert got == want
        else:
            assert isinstance(got, FrameResult)
            assert got.faces == want.faces
            assert got.faces


def test_max_pixels_is_a_config_field(face_crop):
    small = build_engine(ModelConfig(max_pixels=100 * 100))
    (result,) = small.analyze_batch([encode(grey(200, 200))])
    assert isinstance(result, FrameError)
    assert result.code == "too_large"


def test_whole_image_classification_for_crops(engine: MaskEngine, face_crop):
    (face,) = engine.classify_images([face_crop])
    assert face.label == "no_mask"
    assert (face.box.x2, face.box.y2) == (face_crop.shape[1], face_crop.shape[0])


def test_torch_runtime_agrees_with_onnx(face_crop):
    torch_engine = build_engine(ModelConfig(classifier=ClassifierConfig(runtime="torch")))
    onnx_engine = build_engine(ModelConfig(classifier=ClassifierConfig(precision="fp32")))
    crops = [face_crop, face_crop[::2, ::2], grey(40, 40)]
    onnx_out = onnx_engine.classifier.classify(crops)
    torch_out = torch_engine.classifier.classify(crops)
    for (l1, s1), (l2, s2) in zip(onnx_out, torch_out, strict=True):
        assert l1 == l2
        assert s1 == pytest.approx(s2, abs=0.02)  # the torch weights are stored in fp16


def test_yuface_backend_finds_the_face(face_crop):
    yu = build_engine(ModelConfig(detector=YuFaceConfig()))
    (result,) = yu.analyze_batch([encode(face_frame(face_crop))])
    assert isinstance(result, FrameResult)
    assert any(f.score >= 0.5 and f.label == "no_mask" for f in result.faces)


def test_detector_is_picked_by_type_field():
    config = ModelConfig.model_validate({"detector": {"type": "yuface", "max_side": 320}})
    assert isinstance(config.detector, YuFaceConfig)
    assert config.detector.max_side == 320
    with pytest.raises(ValueError, match="type"):
        ModelConfig.model_validate({"detector": {"type": "nope"}})
