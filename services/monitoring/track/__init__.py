"""Multi-face tracking for one camera: which face in this frame is which person from earlier frames.

Written here rather than taken from a library: supervision removed its
ByteTrack, `trackers` depends on the GUI build of OpenCV (which conflicts with
opencv-python-headless), norfair does not support numpy 2 and boxmot is built
around torch. The whole tracker is a constant-velocity Kalman filter per face
and a ByteTrack-style association solved with scipy's linear_sum_assignment.
"""

from services.monitoring.track.detection import Detection
from services.monitoring.track.tracker import Track, Tracker, TrackerSettings

__all__ = ["Detection", "Track", "Tracker", "TrackerSettings"]
