"""Hardware configuration: which backend drives each part of a gate.

Each part is a pydantic discriminated union on its ``type`` field, so a YAML section such as
``gate: {type: relay, pin: 17}`` validates against exactly one model, with errors naming the field that
is wrong, and adding a backend means adding one config model and one class. Every default is a
simulated twin, so an empty configuration runs on any machine.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from devices.hardware.camera import (
    Camera,
    FileCameraConfig,
    OpenCvCameraConfig,
    PiCamera2CameraConfig,
    SyntheticCameraConfig,
)
from devices.hardware.gate import (
    GateActuator,
    RelayGateConfig,
    ServoGateConfig,
    SimulatedGateConfig,
)
from devices.hardware.indicators import (
    ConsoleIndicatorConfig,
    GpioIndicatorConfig,
    Indicator,
    IndicatorState,
)
from devices.hardware.thermometer import (
    Mlx90614ThermometerConfig,
    SimulatedThermometerConfig,
    Thermometer,
)
from devices.hardware.trigger import (
    ButtonTriggerConfig,
    DistanceTriggerConfig,
    ManualTriggerConfig,
    TimedTriggerConfig,
    Trigger,
)

__all__ = [
    "CameraConfig",
    "GateActuatorConfig",
    "Hardware",
    "HardwareConfig",
    "IndicatorConfig",
    "ThermometerConfig",
    "TriggerConfig",
    "build_camera",
    "build_gate",
    "build_hardware",
    "build_indicator",
    "build_thermometer",
    "build_trigger",
]

log = logging.getLogger(__name__)

CameraConfig = Annotated[
    PiCamera2CameraConfig | OpenCvCameraConfig | FileCameraConfig | SyntheticCameraConfig,
    Field(discriminator="type"),
]
ThermometerConfig = Annotated[
    Mlx90614ThermometerConfig | SimulatedThermometerConfig,
    Field(discriminator="type"),
]
GateActuatorConfig = Annotated[
    ServoGateConfig | RelayGateConfig | SimulatedGateConfig,
    Field(discriminator="type"),
]
IndicatorConfig = Annotated[
    GpioIndicatorConfig | ConsoleIndicatorConfig,
    Field(discriminator="type"),
]
TriggerConfig = Annotated[
    ButtonTriggerConfig | DistanceTriggerConfig | TimedTriggerConfig | ManualTriggerConfig,
    Field(discriminator="type"),
]


def build_camera(config: CameraConfig) -> Camera:
    """Create the camera described by ``config``."""
    return config.build()


def build_thermometer(config: ThermometerConfig) -> Thermometer:
    """Create the thermometer described by ``config``."""
    return config.build()


def build_gate(config: GateActuatorConfig) -> GateActuator:
    """Create the gate actuator described by ``config``; it starts closed."""
    return config.build()


def build_indicator(config: IndicatorConfig) -> Indicator:
    """Create the indicator described by ``config``."""
    return config.build()


def build_trigger(config: TriggerConfig) -> Trigger:
    """Create the trigger described by ``config``."""
    return config.build()


class HardwareConfig(BaseModel):
    """The ``hardware`` section of a gate's configuration: one entry per part."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    camera: CameraConfig = Field(default_factory=SyntheticCameraConfig)
    thermometer: ThermometerConfig = Field(default_factory=SimulatedThermometerConfig)
    gate: GateActuatorConfig = Field(default_factory=SimulatedGateConfig)
    indicator: IndicatorConfig = Field(default_factory=ConsoleIndicatorConfig)
    trigger: TriggerConfig = Field(default_factory=TimedTriggerConfig)


@dataclass(frozen=True, slots=True)
class Hardware:
    """The built devices of one gate; ``close`` (or ``with``) puts them in a safe state and frees them."""

    camera: Camera
    thermometer: Thermometer
    gate: GateActuator
    indicator: Indicator
    trigger: Trigger

    def close(self) -> None:
        """Lock the gate first, show offline, then free everything; keeps going past individual errors."""
        steps: list[tuple[str, Callable[[], None]]] = [
            ("gate", self.gate.release),
            ("trigger", self.trigger.release),
            ("indicator", lambda: self.indicator.show(IndicatorState.IDLE)),
            ("indicator", self.indicator.release),
            ("camera", self.camera.release),
            ("thermometer", self.thermometer.release),
        ]
        _run_all(steps)

    def __enter__(self) -> Hardware:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _run_all(steps: list[tuple[str, Callable[[], None]]]) -> None:
    errors: list[BaseException] = []
    for name, step in steps:
        try:
            step()
        except Exception as exc:
            log.exception("releasing %s failed", name)
            errors.append(exc)
    if errors:
        raise errors[0]


_T = TypeVar("_T")


def build_hardware(config: HardwareConfig | dict[str, Any] | None = None) -> Hardware:
    """Build every device of a gate; if one fails, release those already built and re-raise.

    The gate is built first so that the entrance is driven closed before anything else can fail.
    """
    if config is None:
        config = HardwareConfig()
    elif isinstance(config, dict):
        config = HardwareConfig.model_validate(config)
    cfg = config
    built: list[tuple[str, Callable[[], None]]] = []

    def make(name: str, factory: Callable[[], _T], release: Callable[[_T], Callable[[], None]]) -> _T:
        obj = factory()
        built.append((name, release(obj)))
        return obj

    try:
        gate = make("gate", lambda: build_gate(cfg.gate), lambda g: g.release)
        indicator = make("indicator", lambda: build_indicator(cfg.indicator), lambda i: i.release)
        thermometer = make("thermometer", lambda: build_thermometer(cfg.thermometer), lambda t: t.release)
        camera = make("camera", lambda: build_camera(cfg.camera), lambda c: c.release)
        trigger = make("trigger", lambda: build_trigger(cfg.trigger), lambda t: t.release)
    except BaseException:
        try:
            _run_all(built)
        except Exception:
            log.exception("cleanup after a failed build also failed")
        raise
    return Hardware(camera=camera, thermometer=thermometer, gate=gate, indicator=indicator, trigger=trigger)
