"""Triggers: what starts a check.

A check costs a photograph, an inference request and a temperature sampling window, so it should start
when someone is actually at the gate: when they press a button or step within range of a distance
sensor. A timed trigger serves kiosks without either, and demos.

``wait`` blocks; async callers run it in a thread and call ``release`` on shutdown, which wakes any
waiter with ``False``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field, model_validator

from devices.hardware._gpio import GpioPin, load_gpiozero

__all__ = [
    "ButtonTrigger",
    "ButtonTriggerConfig",
    "DistanceSource",
    "DistanceTrigger",
    "DistanceTriggerConfig",
    "ManualTrigger",
    "ManualTriggerConfig",
    "TimedTrigger",
    "TimedTriggerConfig",
    "Trigger",
]

log = logging.getLogger(__name__)


@runtime_checkable
class Trigger(Protocol):
    """Signals that a person is ready to be checked."""

    def wait(self, timeout: float | None = None) -> bool:
        """Block until triggered (``True``) or until ``timeout`` seconds pass or release (``False``).

        Each trigger is consumed by one ``wait``: a press that happened while nobody was waiting is
        delivered to the next call, but ten presses do not queue ten checks.
        """
        ...

    def release(self) -> None:
        """Wake waiters with ``False`` and free the pins."""
        ...


class _TriggerConfigBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _EventTrigger:
    """Edge-to-event plumbing shared by the triggers fed from callbacks."""

    def __init__(self) -> None:
        self._fired = threading.Event()
        self._released = threading.Event()
        self._cond = threading.Condition()

    def _fire(self) -> None:
        with self._cond:
            self._fired.set()
            self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Consume a pending trigger, or wait for one."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while True:
                if self._released.is_set():
                    return False
                if self._fired.is_set():
                    self._fired.clear()
                    return True
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._cond.wait(remaining)

    def _release_waiters(self) -> None:
        with self._cond:
            self._released.set()
            self._cond.notify_all()


# --------------------------------------------------------------------------------------------------
# Manual


class ManualTriggerConfig(_TriggerConfigBase):
    """Triggered only by calling :meth:`ManualTrigger.fire`: for tests and for driving the agent by hand."""

    type: Literal["manual"] = "manual"

    def build(self) -> ManualTrigger:
        """Create the trigger."""
        return ManualTrigger(self)


class ManualTrigger(_EventTrigger):
    """A trigger fired from code (a test, an admin command relayed by the agent)."""

    def __init__(self, config: ManualTriggerConfig | None = None) -> None:
        super().__init__()

    def fire(self) -> None:
        """Start a check at the next (or current) ``wait``."""
        self._fire()

    def release(self) -> None:
        """Wake waiters with ``False``."""
        self._release_waiters()


# --------------------------------------------------------------------------------------------------
# Timed


class TimedTriggerConfig(_TriggerConfigBase):
    """Fires every ``interval_s`` seconds; the default, so a simulated gate checks on its own."""

    type: Literal["timed"] = "timed"
    interval_s: float = Field(default=10.0, gt=0, le=86400)

    def build(self) -> TimedTrigger:
        """Create the trigger."""
        return TimedTrigger(self)


class TimedTrigger:
    """Fires on a fixed schedule measured from creation.

    Ticks missed while the caller was busy (a slow check) are not queued up: the next ``wait`` fires at
    once and the schedule continues from then, so checks never run back to back to "catch up".
    """

    def __init__(self, config: TimedTriggerConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._interval = config.interval_s
        self._clock = clock
        self._next = clock() + self._interval
        self._released = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        """Sleep until the next tick, or ``timeout``/release, whichever is first."""
        now = self._clock()
        delay = max(0.0, self._next - now)
        if timeout is not None and timeout < delay:
            self._released.wait(timeout)
            return False
        if self._released.wait(delay):
            return False
        self._next += self._interval
        now = self._clock()
        if self._next <= now:  # overran one or more ticks: skip them rather than fire back to back
            self._next = now + self._interval
        return True

    def release(self) -> None:
        """Wake waiters with ``False``."""
        self._released.set()


# --------------------------------------------------------------------------------------------------
# Button


class ButtonTriggerConfig(_TriggerConfigBase):
    """A push button (or any contact closure, like a foot pedal) between a GPIO and ground."""

    type: Literal["button"] = "button"
    pin: GpioPin = 27
    pull_up: bool = Field(default=True, description="True: button to ground, internal pull-up.")
    bounce_time_s: float | None = Field(default=0.05, gt=0, le=1)

    def build(self) -> ButtonTrigger:
        """Create the button."""
        return ButtonTrigger(self)


class ButtonTrigger(_EventTrigger):
    """Fires on each press (the edge, not the level: holding the button does not repeat checks)."""

    def __init__(self, config: ButtonTriggerConfig) -> None:
        super().__init__()
        gpiozero = load_gpiozero()
        self._button: Any = gpiozero.Button(
            config.pin, pull_up=config.pull_up, bounce_time=config.bounce_time_s
        )
        self._button.when_pressed = self._fire

    def release(self) -> None:
        """Wake waiters and free the pin."""
        self._release_waiters()
        self._button.close()


# --------------------------------------------------------------------------------------------------
# Distance


class DistanceTriggerConfig(_TriggerConfigBase):
    """An HC-SR04 style ultrasonic sensor: fires when someone steps within ``threshold_m``."""

    type: Literal["distance"] = "distance"
    echo_pin: GpioPin = 5
    trigger_pin: GpioPin = 6
    threshold_m: float = Field(default=0.6, gt=0, le=4, description="Closer than this counts as present.")
    max_distance_m: float = Field(default=2.0, gt=0, le=4, description="Sensor range used by gpiozero.")
    poll_s: float = Field(default=0.1, gt=0, le=5, description="How often the distance is checked.")
    rearm_m: float | None = Field(
        default=None,
        gt=0,
        description="Distance the person must move beyond before the next trigger (threshold + 0.2 m).",
    )

    @model_validator(mode="after")
    def _threshold_in_range(self) -> DistanceTriggerConfig:
        if self.threshold_m >= self.max_distance_m:
            raise ValueError("threshold_m must be less than max_distance_m")
        if self.rearm_m is not None and self.rearm_m < self.threshold_m:
            raise ValueError("rearm_m must be at least threshold_m")
        return self

    def build(self) -> DistanceTrigger:
        """Create the distance sensor."""
        return DistanceTrigger(self)


class DistanceSource(Protocol):
    """Anything with a ``distance`` in metres, such as gpiozero's ``DistanceSensor``."""

    @property
    def distance(self) -> float:
        """Current distance, metres."""
        ...


class DistanceTrigger:
    """Fires once when a person comes within range, then waits for them to leave before re-arming.

    Without re-arming, someone standing in front of the gate would start check after check; with it,
    the next check needs the next person (or the same one stepping back and forward again).
    """

    def __init__(self, config: DistanceTriggerConfig, *, sensor: DistanceSource | None = None) -> None:
        self._config = config
        self._rearm_m = config.rearm_m if config.rearm_m is not None else config.threshold_m + 0.2
        self._owned: Any | None = None
        if sensor is None:
            gpiozero = load_gpiozero()
            self._owned = gpiozero.DistanceSensor(
                echo=config.echo_pin,
                trigger=config.trigger_pin,
                max_distance=config.max_distance_m,
                threshold_distance=config.threshold_m,
            )
            sensor = self._owned
        self._sensor: DistanceSource = sensor
        self._armed = True
        self._released = threading.Event()

    def wait(self, timeout: float | None = None) -> bool:
        """Poll the distance until someone is within range while armed."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while not self._released.is_set():
            distance = self._sensor.distance
            if distance is not None:
                if self._armed and distance <= self._config.threshold_m:
                    self._armed = False
                    log.debug("distance trigger at %.2f m", distance)
                    return True
                if not self._armed and distance >= self._rearm_m:
                    self._armed = True
            remaining = None if deadline is None else deadline - time.monotonic()
            if remaining is not None and remaining <= 0:
                return False
            pause = self._config.poll_s if remaining is None else min(self._config.poll_s, remaining)
            self._released.wait(pause)
        return False

    def release(self) -> None:
        """Wake waiters and free the pins."""
        self._released.set()
        if self._owned is not None:
            self._owned.close()
