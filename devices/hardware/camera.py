"""Cameras: the photograph of the person standing at the gate.

A gate only ever needs one thing from a camera: a JPEG of what is in front of it right now, as bytes,
ready to be published to the inference service. Keeping the protocol that small lets the same agent
loop run against the Raspberry Pi camera, a folder of test pictures, or a generated image, chosen by
the ``type`` field of the ``camera`` section in the configuration.
"""

from __future__ import annotations

import glob
import importlib
import io
import itertools
import logging
import threading
import time
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from PIL import Image, ImageDraw
from pydantic import BaseModel, ConfigDict, Field

from maskwatch.image_files import NotAnImageError, check_image_file

__all__ = [
    "Camera",
    "CameraError",
    "FileCamera",
    "FileCameraConfig",
    "OpenCvCamera",
    "OpenCvCameraConfig",
    "PiCamera2Camera",
    "PiCamera2CameraConfig",
    "SyntheticCamera",
    "SyntheticCameraConfig",
]

log = logging.getLogger(__name__)

JPEG_MAGIC = b"\xff\xd8\xff"
IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff"})
PICAMERA2_MISSING = (
    "picamera2 is not importable: install python3-picamera2 from Raspberry Pi OS "
    "(sudo apt install python3-picamera2) and create the virtual environment with "
    "--system-site-packages so it is visible; see docs/devices.md"
)


class CameraError(RuntimeError):
    """A picture could not be taken; the agent should report the gate offline rather than guess."""


@runtime_checkable
class Camera(Protocol):
    """Something that can photograph the person at the gate.

    ``capture_jpeg`` blocks until a picture is ready, so async callers should run it in a thread.
    """

    def capture_jpeg(self) -> bytes:
        """Take one picture and return it JPEG-encoded."""
        ...

    def release(self) -> None:
        """Give the device back (stop streaming, free buffers); the object is unusable afterwards."""
        ...


def _to_jpeg(image: Image.Image, quality: int) -> bytes:
    """Encode a Pillow image as JPEG; JPEG has no alpha or palette, so convert to RGB first."""
    if image.mode != "RGB":
        image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


class _CameraConfigBase(BaseModel):
    """Settings every camera shares."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    jpeg_quality: int = Field(default=90, ge=1, le=100, description="JPEG quality of captured frames.")


# --------------------------------------------------------------------------------------------------
# Raspberry Pi camera


class PiCamera2CameraConfig(_CameraConfigBase):
    """The Raspberry Pi camera module through picamera2 (libcamera)."""

    type: Literal["picamera2"] = "picamera2"
    width: int = Field(default=1280, ge=64, le=9152, description="Still resolution, pixels.")
    height: int = Field(default=960, ge=64, le=6944, description="Still resolution, pixels.")
    camera_num: int = Field(default=0, ge=0, description="Which camera, on boards with two connectors.")
    hflip: bool = Field(default=False, description="Mirror horizontally (camera mounted facing out).")
    vflip: bool = Field(default=False, description="Flip vertically (camera mounted upside down).")
    warmup_s: float = Field(
        default=1.0, ge=0, le=10, description="Time for auto-exposure/white balance to settle after start."
    )

    def build(self) -> PiCamera2Camera:
        """Create the camera (the device itself is opened on first capture)."""
        return PiCamera2Camera(self)


class PiCamera2Camera:
    """Raspberry Pi camera via picamera2.

    picamera2 binds libcamera and is only installable from Raspberry Pi OS (``python3-picamera2``), so
    it is imported when the camera is first used, never when this module is imported: the rest of the
    system must import and run on machines without it. The camera is configured once with a still
    configuration at the configured resolution and kept running, because starting it costs about a
    second of auto-exposure settling that a person at the gate should not wait for on every check.
    """

    def __init__(self, config: PiCamera2CameraConfig, *, picamera2_module: Any | None = None) -> None:
        self._config = config
        self._module = picamera2_module
        self._camera: Any | None = None
        self._lock = threading.Lock()

    def _load_module(self) -> Any:
        if self._module is not None:
            return self._module
        try:
            import picamera2  # only exists on Raspberry Pi OS
        except ImportError as exc:
            raise CameraError(PICAMERA2_MISSING) from exc
        return picamera2

    def _transform(self) -> Any | None:
        if not (self._config.hflip or self._config.vflip):
            return None
        try:
            libcamera = importlib.import_module("libcamera")  # ships with picamera2
        except ImportError as exc:
            raise CameraError(PICAMERA2_MISSING) from exc
        return libcamera.Transform(hflip=int(self._config.hflip), vflip=int(self._config.vflip))

    def _ensure_started(self) -> Any:
        if self._camera is not None:
            return self._camera
        module = self._load_module()
        try:
            camera = module.Picamera2(self._config.camera_num)
            kwargs: dict[str, Any] = {"main": {"size": (self._config.width, self._config.height)}}
            transform = self._transform()
            if transform is not None:
                kwargs["transform"] = transform
            camera.configure(camera.create_still_configuration(**kwargs))
            camera.options["quality"] = self._config.jpeg_quality
            camera.start()
        except CameraError:
            raise
        except Exception as exc:  # libcamera raises a variety of errors for a missing/busy camera
            raise CameraError(f"could not start camera {self._config.camera_num}: {exc}") from exc
        if self._config.warmup_s:
            time.sleep(self._config.warmup_s)
        self._camera = camera
        log.info(
            "picamera2 camera %d started at %dx%d",
            self._config.camera_num,
            self._config.width,
            self._config.height,
        )
        return camera

    def capture_jpeg(self) -> bytes:
        """Capture a still into memory as JPEG (no temporary files on the SD card)."""
        with self._lock:
            camera = self._ensure_started()
            out = io.BytesIO()
            try:
                camera.capture_file(out, format="jpeg")
            except Exception as exc:
                raise CameraError(f"capture failed: {exc}") from exc
            data = out.getvalue()
        if not data.startswith(JPEG_MAGIC):
            raise CameraError("camera returned data that is not a JPEG")
        return data

    def release(self) -> None:
        """Stop and close the camera so another process (or a restart) can open it."""
        with self._lock:
            camera, self._camera = self._camera, None
            if camera is not None:
                try:
                    camera.stop()
                finally:
                    camera.close()


# --------------------------------------------------------------------------------------------------
# USB webcams and other V4L2 devices, through OpenCV


class OpenCvCameraConfig(_CameraConfigBase):
    """A USB webcam (or any V4L2 device or video URL OpenCV opens), for indoor cameras without a Pi camera."""

    type: Literal["opencv"] = "opencv"
    device: int | str = Field(default=0, description="Device index (0 is /dev/video0), a path or a URL.")
    width: int | None = Field(default=None, ge=16, le=4096)
    height: int | None = Field(default=None, ge=16, le=4096)

    def build(self) -> OpenCvCamera:
        """Create the camera; the device is opened on the first capture."""
        return OpenCvCamera(self)


class OpenCvCamera:
    """Reads frames with OpenCV's VideoCapture, keeping its buffer to one frame so each capture is current.

    OpenCV is imported on first use: the gate's Raspberry Pi image does not need it.
    """

    def __init__(self, config: OpenCvCameraConfig, *, cv2_module: Any | None = None) -> None:
        self._config = config
        self._cv2 = cv2_module
        self._capture: Any | None = None
        self._lock = threading.Lock()

    def _open(self) -> Any:
        if self._cv2 is None:
            try:
                self._cv2 = importlib.import_module("cv2")
            except ImportError as exc:
                raise CameraError("OpenCV is not installed (pip install opencv-python-headless)") from exc
        cv2 = self._cv2
        capture = cv2.VideoCapture(self._config.device)
        if not capture.isOpened():
            raise CameraError(f"cannot open video device {self._config.device!r}")
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        if self._config.width:
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, self._config.width)
        if self._config.height:
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, self._config.height)
        return capture

    def capture_jpeg(self) -> bytes:
        """Grab the current frame and encode it as JPEG."""
        with self._lock:
            if self._capture is None:
                self._capture = self._open()
            ok, frame = self._capture.read()
            if not ok or frame is None:
                self._capture.release()
                self._capture = None  # reopened on the next capture: the device may come back
                raise CameraError(f"no frame from video device {self._config.device!r}")
            assert self._cv2 is not None
            encoded, data = self._cv2.imencode(
                ".jpg", frame, [self._cv2.IMWRITE_JPEG_QUALITY, self._config.jpeg_quality]
            )
        if not encoded:
            raise CameraError("the frame could not be encoded as JPEG")
        return bytes(data.tobytes())

    def release(self) -> None:
        """Close the device."""
        with self._lock:
            if self._capture is not None:
                self._capture.release()
                self._capture = None


# --------------------------------------------------------------------------------------------------
# Files


class FileCameraConfig(_CameraConfigBase):
    """Simulated camera that plays back pictures from disk, for demos and tests without a Pi."""

    type: Literal["file"] = "file"
    path: str = Field(description="An image file, a folder of images, or a glob such as 'faces/*.jpg'.")
    loop: bool = Field(default=True, description="Start again from the first image after the last.")

    def build(self) -> FileCamera:
        """Create the camera, resolving the file list now so a bad path fails at start-up."""
        return FileCamera(self)


class FileCamera:
    """Cycles through image files, one per capture, in sorted order.

    JPEG files are returned byte-for-byte (so a test can compare them with the file); any other format
    Pillow reads is re-encoded as JPEG, so callers always get what a real camera would give them.
    """

    def __init__(self, config: FileCameraConfig) -> None:
        self._config = config
        self._files = self._resolve(config.path)
        if not self._files:
            raise CameraError(f"no image files found at {config.path!r}")
        if Path(config.path).expanduser().is_file():  # one picture named: check it before the first capture
            try:
                check_image_file(self._files[0])
            except NotAnImageError as exc:
                raise CameraError(str(exc)) from exc
        self._iter = itertools.cycle(self._files) if config.loop else iter(self._files)
        self._lock = threading.Lock()

    @staticmethod
    def _resolve(path: str) -> list[Path]:
        p = Path(path).expanduser()
        if p.is_file():
            return [p]
        matches = glob.glob(str(p), recursive=True)
        candidates = list(p.iterdir()) if p.is_dir() else [Path(m) for m in matches]
        return sorted(c for c in candidates if c.is_file() and c.suffix.lower() in IMAGE_SUFFIXES)

    @property
    def files(self) -> tuple[Path, ...]:
        """The images this camera plays back, in order."""
        return tuple(self._files)

    def capture_jpeg(self) -> bytes:
        """Return the next file as JPEG bytes."""
        with self._lock:
            try:
                path = next(self._iter)
            except StopIteration:
                raise CameraError("no more images (loop is off)") from None
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CameraError(f"cannot read {path}: {exc}") from exc
        if data.startswith(JPEG_MAGIC):
            return data
        try:
            with Image.open(io.BytesIO(data)) as image:
                return _to_jpeg(image, self._config.jpeg_quality)
        except OSError as exc:
            raise CameraError(f"{path} is not a readable image: {exc}") from exc

    def release(self) -> None:
        """Nothing to free; present so every camera can be released the same way."""


# --------------------------------------------------------------------------------------------------
# Synthetic


class SyntheticCameraConfig(_CameraConfigBase):
    """Simulated camera that draws a numbered test card; the default, since it needs nothing."""

    type: Literal["synthetic"] = "synthetic"
    width: int = Field(default=640, ge=16, le=4096)
    height: int = Field(default=480, ge=16, le=4096)
    color: tuple[int, int, int] = Field(default=(40, 90, 140), description="Background RGB.")

    def build(self) -> SyntheticCamera:
        """Create the camera."""
        return SyntheticCamera(self)


class SyntheticCamera:
    """Generates a plain frame with a counter, so the pipeline runs on any machine with no files.

    There is no face in it: downstream it exercises the "no face found" path, which is exactly what a
    gate should do when its camera shows something unexpected.
    """

    def __init__(self, config: SyntheticCameraConfig) -> None:
        self._config = config
        self._count = 0
        self._lock = threading.Lock()

    def capture_jpeg(self) -> bytes:
        """Draw and encode the next frame."""
        with self._lock:
            self._count += 1
            count = self._count
        image = Image.new("RGB", (self._config.width, self._config.height), self._config.color)
        ImageDraw.Draw(image).text((10, 10), f"#{count} maskwatch synthetic frame", fill=(255, 255, 255))
        return _to_jpeg(image, self._config.jpeg_quality)

    def release(self) -> None:
        """Nothing to free; present so every camera can be released the same way."""
