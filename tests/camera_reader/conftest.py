"""A loopback RTSP camera: an H.264 clip of the indoor scene, served by GStreamer's RTSP server."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from stack.demo.indoor_scene import Actor, portrait_face, write_clip
from tests.ports import free_port

SYSTEM_PYTHON = "/usr/bin/python3"
SERVER = Path(__file__).with_name("rtsp_server.py")


def rtsp_server_available() -> bool:
    probe = "import gi; gi.require_version('GstRtspServer', '1.0'); from gi.repository import GstRtspServer"
    try:
        return subprocess.run([SYSTEM_PYTHON, "-c", probe], capture_output=True, timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


@pytest.fixture(scope="session")
def unmasked_clip(tmp_path_factory) -> Path:
    faces = {"mask": portrait_face("mask"), "no_mask": portrait_face("no_mask")}
    actors = [Actor(faces, lambda t: (220 + 4 * t, 220), unmasked=[(0.0, 99.0)])]
    return write_clip(tmp_path_factory.mktemp("rtsp") / "unmasked.mp4", actors, 8.0, codec="libx264")


@pytest.fixture
def rtsp_camera(unmasked_clip) -> Iterator[str]:
    """rtsp://127.0.0.1:PORT/test, playing the clip to each client that connects."""
    if not rtsp_server_available():
        pytest.skip("GStreamer's RTSP server is not installed (python3-gi, gir1.2-gst-rtsp-server-1.0)")
    port = free_port()
    server = subprocess.Popen(
        [SYSTEM_PYTHON, str(SERVER), str(port), str(unmasked_clip)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert server.stdout is not None
        assert server.stdout.readline().strip() == "ready"
        yield f"rtsp://127.0.0.1:{port}/test"
    finally:
        server.terminate()
        server.wait(10)
