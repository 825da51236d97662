"""Configuration: each discriminated union builds the right class from plain data."""

from __future__ import annotations

import pytest
import yaml
from pydantic import TypeAdapter, ValidationError

from devices.hardware.camera import FileCamera, PiCamera2Camera, SyntheticCamera
from devices.hardware.config import (
    CameraConfig,
    GateActuatorConfig,
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
from devices.hardware.gate import RelayGate, ServoGate, SimulatedGate
from devices.hardware.indicators import ConsoleIndicator, GpioIndicator
from devices.hardware.thermometer import (
    Mlx90614ThermometerConfig,
    SimulatedThermometer,
)
from devices.hardware.trigger import (
    ButtonTrigger,
    DistanceTrigger,
    DistanceTriggerConfig,
    ManualTrigger,
    TimedTrigger,
)


def test_defaults_are_simulated():
    hardware = build_hardware()
    assert isinstance(hardware.camera, SyntheticCamera)
    assert isinstance(hardware.thermometer, SimulatedThermometer)
    assert isinstance(hardware.gate, SimulatedGate)
    assert isinstance(hardware.indicator, ConsoleIndicator)
    assert isinstance(hardware.trigger, TimedTrigger)
    hardware.close()
    assert hardware.gate.is_open is False


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        ({"type": "synthetic"}, SyntheticCamera),
        ({"type": "picamera2", "width": "640", "height": 480, "warmup_s": 0}, PiCamera2Camera),
    ],
)
def test_camera_union(data, cls):
    assert isinstance(build_camera(TypeAdapter(CameraConfig).validate_python(data)), cls)


def test_file_camera_union(tmp_path):
    from PIL import Image

    Image.new("RGB", (8, 8)).save(tmp_path / "x.jpg")
    config = TypeAdapter(CameraConfig).validate_python({"type": "file", "path": str(tmp_path)})
    assert isinstance(build_camera(config), FileCamera)


def test_thermometer_union():
    config = TypeAdapter(ThermometerConfig).validate_python({"type": "simulated", "readings_c": [37.9]})
    assert build_thermometer(config).read().compensated_c == pytest.approx(37.9)
    config = TypeAdapter(ThermometerConfig).validate_python(
        {"type": "mlx90614", "address": "0x5b", "bus": "1", "offset_c": "2.4"}  # as from env vars
    )
    assert isinstance(config, Mlx90614ThermometerConfig)
    assert (config.address, config.bus, config.offset_c) == (0x5B, 1, 2.4)


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        ({"type": "servo", "pin": 18}, ServoGate),
        ({"type": "relay", "pin": "GPIO17", "active_high": "false"}, RelayGate),
        ({"type": "simulated"}, SimulatedGate),
    ],
)
def test_gate_union(mock_pins, data, cls):
    gate = build_gate(TypeAdapter(GateActuatorConfig).validate_python(data))
    assert isinstance(gate, cls)
    gate.release()


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        ({"type": "gpio", "green_pin": 23, "red_pin": 24, "buzzer_pin": None}, GpioIndicator),
        ({"type": "console"}, ConsoleIndicator),
    ],
)
def test_indicator_union(mock_pins, data, cls):
    indicator = build_indicator(TypeAdapter(IndicatorConfig).validate_python(data))
    assert isinstance(indicator, cls)
    indicator.show("pass")
    indicator.release()


@pytest.mark.parametrize(
    ("data", "cls"),
    [
        ({"type": "button", "pin": 27}, ButtonTrigger),
        ({"type": "timed", "interval_s": 3}, TimedTrigger),
        ({"type": "manual"}, ManualTrigger),
    ],
)
def test_trigger_union(mock_pins, data, cls):
    trigger = build_trigger(TypeAdapter(TriggerConfig).validate_python(data))
    assert isinstance(trigger, cls)
    trigger.release()


def test_distance_trigger_union():
    config = TypeAdapter(TriggerConfig).validate_python({"type": "distance", "threshold_m": 0.5})
    assert isinstance(config, DistanceTriggerConfig)
    trigger = DistanceTrigger(config, sensor=type("S", (), {"distance": 0.3})())
    assert trigger.wait(0) is True


def test_full_yaml_section(mock_pins):
    text = """
    camera: {type: synthetic, width: 64, height: 48}
    thermometer: {type: simulated, readings_c: [36.4, 38.1], offset_c: 0.0}
    gate: {type: relay, pin: 17, active_high: false}
    indicator: {type: gpio, green_pin: 23, red_pin: 24, buzzer_pin: 25}
    trigger: {type: button, pin: 27}
    """
    config = HardwareConfig.model_validate(yaml.safe_load(text))
    with build_hardware(config) as hardware:
        assert isinstance(hardware.gate, RelayGate)
        assert isinstance(hardware.indicator, GpioIndicator)
        assert isinstance(hardware.trigger, ButtonTrigger)
        hardware.gate.open()
    assert mock_pins.pin(17).function == "input"  # released after being driven closed


def test_unknown_type_and_extra_fields_are_rejected():
    with pytest.raises(ValidationError, match="does not match any of the expected tags"):
        HardwareConfig.model_validate({"gate": {"type": "drawbridge"}})
    with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
        HardwareConfig.model_validate({"gate": {"type": "relay", "pni": 17}})
    with pytest.raises(ValidationError, match="less than or equal to 127"):
        HardwareConfig.model_validate({"thermometer": {"type": "mlx90614", "address": "0x1FF"}})


def test_failed_build_releases_what_was_built(mock_pins, tmp_path):
    config = {
        "gate": {"type": "relay", "pin": 17},
        "camera": {"type": "file", "path": str(tmp_path / "missing")},
    }
    with pytest.raises(Exception, match="no image files"):
        build_hardware(config)
    assert mock_pins.pin(17).function == "input"  # the relay was freed again
