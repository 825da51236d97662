"""Indicators: what the person at the gate sees and hears.

The check result has to be understood at a glance by someone who has never used the gate, and
without relying on colour alone (a buzzer pattern accompanies pass and deny).
"""

from __future__ import annotations

import logging
import threading
from enum import StrEnum
from typing import Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict, Field

from devices.hardware._gpio import GpioPin, load_gpiozero

__all__ = [
    "ConsoleIndicator",
    "ConsoleIndicatorConfig",
    "GpioIndicator",
    "GpioIndicatorConfig",
    "Indicator",
    "IndicatorState",
]

log = logging.getLogger(__name__)


class IndicatorState(StrEnum):
    """What the gate is telling the person in front of it."""

    IDLE = "idle"
    """Waiting for someone: everything off."""
    CHECKING = "checking"
    """A check is in progress: hold still."""
    PASS = "pass"
    """Go ahead: green and a short beep."""
    DENY = "deny"
    """Not admitted (no mask, fever): red and a long beep."""
    TRY_AGAIN = "try_again"
    """The check was inconclusive (no face, unstable reading): red blinking, step back and retry."""
    OFFLINE = "offline"
    """The gate cannot check anyone (no broker, sensor failure): slow red blink; entry stays closed."""


@runtime_checkable
class Indicator(Protocol):
    """Shows a state; a new state replaces the previous one entirely (no stacking of patterns).

    ``show`` returns at once; blinking and beeping run in the background.
    """

    def show(self, state: IndicatorState | str) -> None:
        """Display ``state`` (an :class:`IndicatorState` or its string value)."""
        ...

    def release(self) -> None:
        """Turn everything off and free the pins."""
        ...


class _IndicatorConfigBase(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --------------------------------------------------------------------------------------------------
# GPIO


class GpioIndicatorConfig(_IndicatorConfigBase):
    """A green LED, a red LED and an optional buzzer on GPIO pins."""

    type: Literal["gpio"] = "gpio"
    green_pin: GpioPin = 23
    red_pin: GpioPin = 24
    buzzer_pin: GpioPin | None = Field(default=25, description="None when no buzzer is fitted.")
    buzzer_active_high: bool = True
    short_beep_s: float = Field(default=0.1, gt=0, le=5)
    long_beep_s: float = Field(default=0.8, gt=0, le=5)
    blink_s: float = Field(default=0.25, gt=0, le=5, description="Half-period of the try-again blink.")
    slow_blink_s: float = Field(default=1.0, gt=0, le=10, description="Half-period of the offline blink.")

    def build(self) -> GpioIndicator:
        """Create the LEDs and buzzer, all off."""
        return GpioIndicator(self)


class GpioIndicator:
    """LEDs and buzzer through gpiozero.

    ===========  ==============================  ===============
    State        Lights                          Buzzer
    ===========  ==============================  ===============
    idle         off                             off
    checking     green blinking fast             off
    pass         green on                        one short beep
    deny         red on                          one long beep
    try_again    red blinking                    off
    offline      red blinking slowly             off
    ===========  ==============================  ===============
    """

    def __init__(self, config: GpioIndicatorConfig) -> None:
        gpiozero = load_gpiozero()
        self._config = config
        self.green: Any = gpiozero.LED(config.green_pin)
        try:
            self.red: Any = gpiozero.LED(config.red_pin)
            self.buzzer: Any | None = (
                gpiozero.Buzzer(config.buzzer_pin, active_high=config.buzzer_active_high)
                if config.buzzer_pin is not None
                else None
            )
        except Exception:
            self.green.close()
            raise
        self._state = IndicatorState.IDLE
        self._lock = threading.Lock()

    @property
    def state(self) -> IndicatorState:
        """The state last shown."""
        return self._state

    def _beep(self, seconds: float) -> None:
        if self.buzzer is not None:
            self.buzzer.beep(on_time=seconds, off_time=0.0, n=1, background=True)

    def show(self, state: IndicatorState | str) -> None:
        """Switch every output to the pattern of ``state``."""
        state = IndicatorState(state)
        cfg = self._config
        with self._lock:
            self.green.off()
            self.red.off()
            if self.buzzer is not None:
                self.buzzer.off()
            match state:
                case IndicatorState.IDLE:
                    pass
                case IndicatorState.CHECKING:
                    self.green.blink(on_time=0.1, off_time=0.1, background=True)
                case IndicatorState.PASS:
                    self.green.on()
                    self._beep(cfg.short_beep_s)
                case IndicatorState.DENY:
                    self.red.on()
                    self._beep(cfg.long_beep_s)
                case IndicatorState.TRY_AGAIN:
                    self.red.blink(on_time=cfg.blink_s, off_time=cfg.blink_s, background=True)
                case IndicatorState.OFFLINE:
                    self.red.blink(on_time=cfg.slow_blink_s, off_time=cfg.slow_blink_s, background=True)
            self._state = state

    def release(self) -> None:
        """Turn off and free all pins."""
        with self._lock:
            for device in (self.green, self.red, self.buzzer):
                if device is not None:
                    device.close()


# --------------------------------------------------------------------------------------------------
# Console


class ConsoleIndicatorConfig(_IndicatorConfigBase):
    """Indicator that logs states: the default, for development and tests."""

    type: Literal["console"] = "console"

    def build(self) -> ConsoleIndicator:
        """Create the console indicator."""
        return ConsoleIndicator(self)


class ConsoleIndicator:
    """Logs each state and records them, so tests can assert what the person would have seen."""

    def __init__(self, config: ConsoleIndicatorConfig | None = None) -> None:
        self._states: list[IndicatorState] = []
        self._lock = threading.Lock()

    @property
    def state(self) -> IndicatorState:
        """The state last shown (idle before any)."""
        with self._lock:
            return self._states[-1] if self._states else IndicatorState.IDLE

    @property
    def states(self) -> list[IndicatorState]:
        """Every state shown so far, oldest first (a copy)."""
        with self._lock:
            return list(self._states)

    def show(self, state: IndicatorState | str) -> None:
        """Log and record ``state``."""
        state = IndicatorState(state)
        with self._lock:
            self._states.append(state)
        log.info("indicator: %s", state.value)

    def release(self) -> None:
        """Nothing to free."""
