"""A constant-velocity Kalman filter over one face box, for frames that arrive at uneven intervals.

The state is the box centre, width and height and their velocities (per second,
not per frame), so a camera that drops to 1 fps or skips frames still predicts
where a walking face will be. Noise scales with the box size, as in SORT and
ByteTrack: a large face near the camera moves more pixels than a small one.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from services.monitoring.track.detection import Box

Vector = npt.NDArray[np.float64]

POSITION_NOISE = 1 / 20
"""Measurement and process noise of position, as a share of the box height."""
VELOCITY_NOISE = 1 / 10
"""Process noise of velocity per second, as a share of the box height."""

_H = np.hstack([np.eye(4), np.zeros((4, 4))])


def box_to_measurement(box: Box) -> Vector:
    x1, y1, x2, y2 = box
    return np.array([(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1], dtype=np.float64)


def measurement_to_box(z: Vector) -> Box:
    cx, cy, w, h = (float(v) for v in z[:4])
    w, h = max(w, 1.0), max(h, 1.0)
    return (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)


class BoxFilter:
    def __init__(self, box: Box) -> None:
        z = box_to_measurement(box)
        self.mean: Vector = np.concatenate([z, np.zeros(4)])
        size = max(z[3], 1.0)
        std = np.array([2 * POSITION_NOISE * size] * 4 + [10 * VELOCITY_NOISE * size] * 4)
        self.covariance: Vector = np.diag(std**2)

    @property
    def box(self) -> Box:
        return measurement_to_box(self.mean)

    def predict(self, dt: float) -> Box:
        """Move the state `dt` seconds ahead; returns the predicted box."""
        if dt <= 0:
            return self.box
        transition = np.eye(8)
        transition[:4, 4:] = dt * np.eye(4)
        size = max(self.mean[3], 1.0)
        position = (POSITION_NOISE * size) ** 2 * dt
        velocity = (VELOCITY_NOISE * size) ** 2 * dt
        noise = np.diag([position] * 4 + [velocity] * 4)
        self.mean = transition @ self.mean
        self.covariance = transition @ self.covariance @ transition.T + noise
        return self.box

    def update(self, box: Box) -> None:
        z = box_to_measurement(box)
        size = max(z[3], 1.0)
        measurement_noise = np.diag([(POSITION_NOISE * size) ** 2] * 4)
        projected = _H @ self.covariance @ _H.T + measurement_noise
        gain = self.covariance @ _H.T @ np.linalg.inv(projected)
        self.mean = self.mean + gain @ (z - _H @ self.mean)
        self.covariance = (np.eye(8) - gain @ _H) @ self.covariance
