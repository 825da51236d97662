"""Raspberry Pi hardware of a Maskwatch entrance gate.

Each part of a gate (camera, thermometer, gate actuator, indicator, trigger) is a small protocol with a
real backend and a simulated twin. The backend is chosen by the ``type`` field of its section in
:class:`HardwareConfig`, and :func:`build_hardware` turns the configuration into a :class:`Hardware`
bundle. Hardware libraries (picamera2, gpiozero, smbus2) are imported only when a real backend is
built, so everything here imports and runs on machines without them.
"""

from devices.hardware.camera import Camera, CameraError
from devices.hardware.config import (
    CameraConfig,
    GateActuatorConfig,
    Hardware,
    HardwareConfig,
    IndicatorConfig,
    ThermometerConfig,
    TriggerConfig,
    build_camera,
    build_gate,
    build_hardware,
    build_indicator,
    build_thermometer,
    build_trigger,
)
from devices.hardware.gate import GateActuator
from devices.hardware.indicators import Indicator, IndicatorState
from devices.hardware.thermometer import Thermometer, ThermometerError, ThermometerReading
from devices.hardware.trigger import ManualTrigger, Trigger

__all__ = [
    "Camera",
    "CameraConfig",
    "CameraError",
    "GateActuator",
    "GateActuatorConfig",
    "Hardware",
    "HardwareConfig",
    "Indicator",
    "IndicatorConfig",
    "IndicatorState",
    "ManualTrigger",
    "Thermometer",
    "ThermometerConfig",
    "ThermometerError",
    "ThermometerReading",
    "Trigger",
    "TriggerConfig",
    "build_camera",
    "build_gate",
    "build_hardware",
    "build_indicator",
    "build_thermometer",
    "build_trigger",
]
