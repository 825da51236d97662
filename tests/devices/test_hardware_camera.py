"""Cameras: file playback, synthetic frames, and the picamera2 backend against a stand-in module."""

from __future__ import annotations

import io
import sys
import types
from typing import ClassVar

import pytest
from PIL import Image

from devices.hardware.camera import (
    CameraError,
    FileCamera,
    FileCameraConfig,
    PiCamera2Camera,
    PiCamera2CameraConfig,
    SyntheticCamera,
    SyntheticCameraConfig,
)


def decode(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    assert image.format == "JPEG"
    return image


@pytest.fixture
def images(tmp_path):
    Image.new("RGB", (32, 24), (255, 0, 0)).save(tmp_path / "a.jpg", format="JPEG")
    Image.new("RGBA", (40, 30), (0, 255, 0, 128)).save(tmp_path / "b.png", format="PNG")
    Image.new("L", (16, 16), 128).save(tmp_path / "c.jpeg", format="JPEG")
    (tmp_path / "notes.txt").write_text("not an image")
    return tmp_path


def test_file_camera_cycles_through_a_folder(images):
    camera = FileCamera(FileCameraConfig(path=str(images)))
    assert [p.name for p in camera.files] == ["a.jpg", "b.png", "c.jpeg"]
    frames = [camera.capture_jpeg() for _ in range(4)]
    assert frames[0] == (images / "a.jpg").read_bytes()  # JPEG passes through untouched
    assert decode(frames[1]).size == (40, 30)  # PNG re-encoded
    assert decode(frames[1]).mode == "RGB"
    assert decode(frames[2]).size == (16, 16)
    assert frames[3] == frames[0]


def test_file_camera_glob_and_single_file(images):
    assert [p.name for p in FileCamera(FileCameraConfig(path=str(images / "*.png"))).files] == ["b.png"]
    camera = FileCamera(FileCameraConfig(path=str(images / "b.png")))
    assert decode(camera.capture_jpeg()).size == (40, 30)
    assert decode(camera.capture_jpeg()).size == (40, 30)


def test_file_camera_without_loop_runs_out(images):
    camera = FileCamera(FileCameraConfig(path=str(images / "*.jp*g"), loop=False))
    camera.capture_jpeg()
    camera.capture_jpeg()
    with pytest.raises(CameraError, match="no more images"):
        camera.capture_jpeg()


def test_file_camera_with_no_images_fails_at_start(tmp_path):
    with pytest.raises(CameraError, match="no image files"):
        FileCamera(FileCameraConfig(path=str(tmp_path)))


def test_file_camera_named_file_that_is_not_an_image_fails_at_start(images):
    with pytest.raises(CameraError, match=r"notes\.txt is not an image: give a JPEG or PNG photo"):
        FileCamera(FileCameraConfig(path=str(images / "notes.txt")))


def test_file_camera_corrupt_image(tmp_path):
    (tmp_path / "broken.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(CameraError, match="not a readable image"):
        FileCamera(FileCameraConfig(path=str(tmp_path))).capture_jpeg()


def test_synthetic_camera_frames_differ():
    camera = SyntheticCamera(SyntheticCameraConfig(width=64, height=48))
    first, second = camera.capture_jpeg(), camera.capture_jpeg()
    assert decode(first).size == (64, 48)
    assert first != second


class FakePicamera2:
    """Records how the backend drives picamera2 and writes a real JPEG on capture."""

    instances: ClassVar[list[FakePicamera2]] = []

    def __init__(self, camera_num: int = 0) -> None:
        self.camera_num = camera_num
        self.options: dict[str, int] = {}
        self.calls: list[str] = []
        FakePicamera2.instances.append(self)

    def create_still_configuration(self, **kwargs):
        self.calls.append("create_still_configuration")
        return {"still": kwargs}

    def configure(self, config) -> None:
        self.config = config
        self.calls.append("configure")

    def start(self) -> None:
        self.calls.append("start")

    def capture_file(self, out, format: str) -> None:
        self.calls.append(f"capture_file:{format}")
        size = self.config["still"]["main"]["size"]
        Image.new("RGB", size).save(out, format="JPEG", quality=self.options["quality"])

    def stop(self) -> None:
        self.calls.append("stop")

    def close(self) -> None:
        self.calls.append("close")


def test_picamera2_backend_configures_a_still_and_captures_jpeg():
    module = types.SimpleNamespace(Picamera2=FakePicamera2)
    config = PiCamera2CameraConfig(width=320, height=240, jpeg_quality=80, warmup_s=0)
    camera = PiCamera2Camera(config, picamera2_module=module)
    assert decode(camera.capture_jpeg()).size == (320, 240)
    assert decode(camera.capture_jpeg()).size == (320, 240)
    fake = FakePicamera2.instances[-1]
    assert fake.config == {"still": {"main": {"size": (320, 240)}}}
    assert fake.options["quality"] == 80
    assert fake.calls.count("start") == 1  # kept running between captures
    camera.release()
    assert fake.calls[-2:] == ["stop", "close"]


def test_picamera2_missing_has_a_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "picamera2", None)  # makes the import fail
    camera = PiCamera2Camera(PiCamera2CameraConfig(warmup_s=0))
    with pytest.raises(CameraError, match="install python3-picamera2 from Raspberry Pi OS"):
        camera.capture_jpeg()


def test_importing_the_package_does_not_import_hardware_libraries():
    import subprocess

    code = (
        "import sys, devices.hardware, devices.hardware.config;"
        "bad = {'picamera2', 'gpiozero', 'smbus2', 'libcamera'} & set(sys.modules);"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
