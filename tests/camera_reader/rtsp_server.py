"""A loopback RTSP server for the tests: GStreamer's RTSP server playing one H.264 MP4 file per client.

Run with the system Python, where Debian's python3-gi and gir1.2-gst-rtsp-server-1.0 live:
    /usr/bin/python3 rtsp_server.py PORT FILE.mp4
It prints `ready` once it listens on 127.0.0.1:PORT, path /test.
"""

import sys

import gi

gi.require_version("Gst", "1.0")
gi.require_version("GstRtspServer", "1.0")
from gi.repository import GLib, Gst, GstRtspServer  # noqa: E402

Gst.init(None)
port, path = sys.argv[1], sys.argv[2]
server = GstRtspServer.RTSPServer()
server.set_address("127.0.0.1")
server.set_service(port)
factory = GstRtspServer.RTSPMediaFactory()
factory.set_launch(
    f"( filesrc location={path} ! qtdemux ! h264parse ! rtph264pay name=pay0 pt=96 config-interval=1 )"
)
factory.set_shared(False)
server.get_mount_points().add_factory("/test", factory)
server.attach(None)
print("ready", flush=True)
GLib.MainLoop().run()
