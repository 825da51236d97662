"""Fixtures for the gate hardware tests: a byte-level MLX90614 and gpiozero's mock pins."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.devices.fakes import FakeMlx90614Bus


@pytest.fixture
def mlx_bus() -> FakeMlx90614Bus:
    """A fake MLX90614 at address 0x5A reading 28.01 °C (the datasheet's example word 0x3AD2)."""
    return FakeMlx90614Bus()


@pytest.fixture
def mock_pins() -> Iterator[object]:
    """gpiozero's mock pin factory (PWM-capable pins, so servos work), reset after the test."""
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory, MockPWMPin

    previous = Device.pin_factory
    factory = MockFactory(pin_class=MockPWMPin)
    Device.pin_factory = factory
    try:
        yield factory
    finally:
        factory.reset()
        Device.pin_factory = previous
