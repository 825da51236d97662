"""Gate actuators: what physically lets a person in.

Every actuator starts closed and goes back to closed when released, so a crash, a restart or a
configuration error leaves the entrance locked (fail secure). That is right for ENTRY only: leaving the
building must never depend on this system; see the safety section of docs/devices.md.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from devices.hardware._gpio import GpioPin, load_gpiozero

__all__ = [
    "GateActuator",
    "GateEvent",
    "RelayGate",
    "RelayGateConfig",
    "ServoGate",
    "ServoGateConfig",
    "SimulatedGate",
    "SimulatedGateConfig",
]

log = logging.getLogger(__name__)


@runtime_checkable
class GateActuator(Protocol):
    """Opens and closes the entrance.

    The agent decides how long the gate stays open; the actuator only moves it. ``open`` and ``close``
    are idempotent so the agent can re-assert the state it wants without tracking it.
    """

    @property
    def is_open(self) -> bool:
        """Whether the gate was last commanded open."""
        ...

    def open(self) -> None:
        """Let one person through."""
        ...

    def close(self) -> None:
        """Lock the entrance."""
        ...

    def release(self) -> None:
        """Close the gate and free the GPIO pins; the object is unusable afterwards."""
        ...


class _GateConfigBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------------
# Servo


class ServoGateConfig(_GateConfigBase):
    """A hobby servo swinging a barrier arm or a latch, on a PWM-capable GPIO."""

    type: Literal["servo"] = "servo"
    pin: GpioPin = Field(default=18, description="Signal pin; GPIO18/12/13/19 have hardware PWM.")
    closed_angle: float = 0.0
    open_angle: float = 90.0
    min_angle: float = Field(default=-90.0, description="Angle at min_pulse_width_s.")
    max_angle: float = Field(default=90.0, description="Angle at max_pulse_width_s.")
    min_pulse_width_s: float = Field(default=0.001, gt=0, lt=0.02)
    max_pulse_width_s: float = Field(default=0.002, gt=0, lt=0.02)
    frame_width_s: float = Field(default=0.02, gt=0, le=0.1, description="PWM period (50 Hz for servos).")

    @model_validator(mode="after")
    def _angles_in_range(self) -> ServoGateConfig:
        low, high = sorted((self.min_angle, self.max_angle))
        for name in ("closed_angle", "open_angle"):
            if not low <= getattr(self, name) <= high:
                raise ValueError(f"{name} must lie between min_angle and max_angle")
        if self.min_pulse_width_s >= self.max_pulse_width_s:
            raise ValueError("min_pulse_width_s must be less than max_pulse_width_s")
        return self

    def build(self) -> ServoGate:
        """Create the servo, driven to the closed angle."""
        return ServoGate(self)


class ServoGate:
    """Barrier or latch moved by a servo through gpiozero's ``AngularServo``.

    The servo is created at the closed angle, so the gate never twitches open at start-up. For servos
    that jitter, use a GPIO with hardware PWM and a pigpio or lgpio pin factory (see docs/devices.md).
    """

    def __init__(self, config: ServoGateConfig) -> None:
        gpiozero = load_gpiozero()
        self._config = config
        self._servo: Any = gpiozero.AngularServo(
            config.pin,
            initial_angle=config.closed_angle,
            min_angle=config.min_angle,
            max_angle=config.max_angle,
            min_pulse_width=config.min_pulse_width_s,
            max_pulse_width=config.max_pulse_width_s,
            frame_width=config.frame_width_s,
        )
        self._open = False
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        """Whether the gate was last commanded open."""
        return self._open

    @property
    def angle(self) -> float | None:
        """The angle the servo is being driven to (None when detached)."""
        angle = self._servo.angle
        return None if angle is None else float(angle)

    def open(self) -> None:
        """Swing to the open angle."""
        with self._lock:
            self._servo.angle = self._config.open_angle
            self._open = True
        log.info("gate open (servo %s)", self._config.open_angle)

    def close(self) -> None:
        """Swing to the closed angle."""
        with self._lock:
            self._servo.angle = self._config.closed_angle
            self._open = False
        log.info("gate closed (servo %s)", self._config.closed_angle)

    def release(self) -> None:
        """Drive closed, then stop the PWM signal and free the pin."""
        try:
            self.close()
        finally:
            self._servo.close()


# --------------------------------------------------------------------------------------------------
# Relay


class RelayGateConfig(_GateConfigBase):
    """A relay (or MOSFET) switching an electric strike, maglock controller or turnstile input."""

    type: Literal["relay"] = "relay"
    pin: GpioPin = 17
    active_high: bool = Field(
        default=True,
        description="False for the common relay boards whose input is active-low.",
    )

    def build(self) -> RelayGate:
        """Create the relay output, de-energised (closed)."""
        return RelayGate(self)


class RelayGate:
    """Gate released by energising a relay; de-energised means locked.

    Pair it with a fail-secure strike or turnstile (locked when unpowered), so a dead Pi, a blown fuse or
    a power cut keeps the entrance closed. ``active_high`` only describes the relay board's input.
    """

    def __init__(self, config: RelayGateConfig) -> None:
        gpiozero = load_gpiozero()
        self._config = config
        self._relay: Any = gpiozero.DigitalOutputDevice(
            config.pin, active_high=config.active_high, initial_value=False
        )
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        """Whether the relay is energised."""
        return bool(self._relay.value)

    def open(self) -> None:
        """Energise the relay."""
        with self._lock:
            self._relay.on()
        log.info("gate open (relay on)")

    def close(self) -> None:
        """De-energise the relay."""
        with self._lock:
            self._relay.off()
        log.info("gate closed (relay off)")

    def release(self) -> None:
        """De-energise and free the pin."""
        try:
            self.close()
        finally:
            self._relay.close()


# --------------------------------------------------------------------------------------------------
# Simulated


class SimulatedGateConfig(_GateConfigBase):
    """A gate that only logs: the default, for development and tests."""

    type: Literal["simulated"] = "simulated"

    def build(self) -> SimulatedGate:
        """Create the simulated gate."""
        return SimulatedGate(self)


@dataclass(frozen=True, slots=True)
class GateEvent:
    """One recorded movement of a simulated gate."""

    action: Literal["open", "close"]
    monotonic_s: float


class SimulatedGate:
    """Logs open/close and keeps a history, so tests can assert what the agent did to the gate."""

    def __init__(self, config: SimulatedGateConfig | None = None) -> None:
        self._open = False
        self._history: list[GateEvent] = []
        self._lock = threading.Lock()

    @property
    def is_open(self) -> bool:
        """Whether the gate was last commanded open."""
        return self._open

    @property
    def history(self) -> list[GateEvent]:
        """Every open/close so far, oldest first (a copy)."""
        with self._lock:
            return list(self._history)

    @property
    def actions(self) -> list[str]:
        """Just the actions of :attr:`history`: ``["open", "close", ...]``."""
        return [event.action for event in self.history]

    def _record(self, action: Literal["open", "close"]) -> None:
        with self._lock:
            self._open = action == "open"
            self._history.append(GateEvent(action, time.monotonic()))
        log.info("simulated gate %s", action)

    def open(self) -> None:
        """Record an open."""
        self._record("open")

    def close(self) -> None:
        """Record a close."""
        self._record("close")

    def release(self) -> None:
        """Close, as the real gates do."""
        self.close()
