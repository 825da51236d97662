"""Thermometer sampling: outlier rejection, median, calibration offset, failures."""

from __future__ import annotations

import pytest

from devices.hardware.mlx90614 import Mlx90614, Mlx90614Error, Mlx90614FlagError
from devices.hardware.thermometer import (
    Mlx90614Thermometer,
    Mlx90614ThermometerConfig,
    SimulatedThermometer,
    SimulatedThermometerConfig,
    ThermometerError,
    reject_outliers,
)


class ScriptedSource:
    """A single-sample sensor returning scripted values; an exception in the script is raised."""

    def __init__(self, objects: list[float | Exception], ambient: float | Exception = 22.0) -> None:
        self.objects = list(objects)
        self.ambient = ambient
        self.zones: list[int] = []

    def object_temperature(self, zone: int = 1) -> float:
        self.zones.append(zone)
        value = self.objects.pop(0)
        if isinstance(value, Exception):
            raise value
        return value

    def ambient_temperature(self) -> float:
        if isinstance(self.ambient, Exception):
            raise self.ambient
        return self.ambient


def config(**kwargs) -> Mlx90614ThermometerConfig:
    return Mlx90614ThermometerConfig(**{"samples": 7, "interval_s": 0.0, **kwargs})


def test_reject_outliers_uses_median_absolute_deviation():
    values = [34.1, 34.2, 34.0, 34.1, 39.5, 34.2, 28.0]
    assert reject_outliers(values) == (34.1, 34.2, 34.0, 34.1, 34.2)


def test_reject_outliers_keeps_identical_samples_and_small_steps():
    assert reject_outliers([34.0, 34.0, 34.0, 34.0, 34.2]) == (34.0, 34.0, 34.0, 34.0, 34.2)
    assert reject_outliers([34.0, 34.0, 34.0, 34.0, 35.0]) == (34.0, 34.0, 34.0, 34.0)


def test_median_offset_and_ambient():
    source = ScriptedSource([34.1, 34.2, 34.0, 34.1, 39.5, 34.3, 28.0], ambient=21.0)
    thermometer = Mlx90614Thermometer(source, config(offset_c=2.6))
    reading = thermometer.read()
    assert reading.object_c == (34.1, 34.2, 34.0, 34.1, 39.5, 34.3, 28.0)
    assert reading.rejected == 2
    assert reading.median_c == pytest.approx(34.1)
    assert reading.offset_c == 2.6
    assert reading.compensated_c == pytest.approx(36.7)
    assert reading.ambient_c == 21.0


def test_samples_are_spaced_by_the_interval():
    slept: list[float] = []
    source = ScriptedSource([34.0] * 4)
    thermometer = Mlx90614Thermometer(source, config(samples=4, interval_s=0.02), sleep=slept.append)
    thermometer.read()
    assert slept == [0.02, 0.02, 0.02]


def test_zone_two_is_passed_to_the_sensor():
    source = ScriptedSource([34.0] * 3)
    Mlx90614Thermometer(source, config(samples=3, zone=2)).read()
    assert source.zones == [2, 2, 2]


def test_failed_samples_are_skipped_and_counted():
    flag = Mlx90614FlagError("flagged")
    source = ScriptedSource([34.0, flag, 34.1, 34.0, flag, 34.1, 34.0], ambient=Mlx90614Error("bus"))
    reading = Mlx90614Thermometer(source, config()).read()
    assert reading.failed_samples == 2
    assert reading.ambient_c is None
    assert len(reading.object_c) == 5
    assert reading.median_c == pytest.approx(34.0)


def test_dead_sensor_is_a_clear_error():
    source = ScriptedSource([Mlx90614Error("MLX90614 at 0x5a: reading 0x07 failed")] * 7)
    with pytest.raises(ThermometerError, match="temperature sensor failed: MLX90614 at 0x5a"):
        Mlx90614Thermometer(source, config()).read()


def test_too_few_consistent_samples_is_refused():
    source = ScriptedSource([34.0, 34.1, Mlx90614Error("x"), 39.0, Mlx90614Error("x"), 25.0, 34.0])
    with pytest.raises(ThermometerError, match=r"only 3 of 5 samples agree \(2 failed\), need 4"):
        Mlx90614Thermometer(source, config(min_accepted=4)).read()


def test_scattered_samples_are_refused():
    # Every sample differs, so the MAD is large and nothing is an outlier; the spread check catches it.
    source = ScriptedSource([30.0, 34.0, 39.0, 25.0, 36.0, 33.0, 31.0])
    with pytest.raises(ThermometerError, match="spread over"):
        Mlx90614Thermometer(source, config()).read()


def test_end_to_end_with_driver_and_fake_bus(mlx_bus):
    mlx_bus.set_object_c(34.4)
    mlx_bus.set_ambient_c(20.0)
    mlx_bus.corrupt_pec = 1
    sensor = Mlx90614(mlx_bus, sleep=lambda _s: None)
    reading = Mlx90614Thermometer(sensor, config(samples=5, offset_c=2.3)).read()
    assert reading.median_c == pytest.approx(34.4, abs=0.01)
    assert reading.compensated_c == pytest.approx(36.7, abs=0.01)
    assert reading.ambient_c == pytest.approx(20.0, abs=0.01)


def test_config_build_opens_bus_and_sets_emissivity(monkeypatch, mlx_bus):
    import devices.hardware.thermometer as thermometer_module

    class Closable:
        closed = False

        def i2c_rdwr(self, *msgs):
            mlx_bus.i2c_rdwr(*msgs)

        def close(self):
            self.closed = True

    bus = Closable()
    opened: list[int] = []
    monkeypatch.setattr(thermometer_module, "open_smbus", lambda n: opened.append(n) or bus)
    cfg = Mlx90614ThermometerConfig.model_validate(
        {"type": "mlx90614", "address": "0x5A", "emissivity": 0.98, "offset_c": 2.5, "interval_s": 0}
    )
    thermometer = cfg.build()
    assert opened == [1]
    assert mlx_bus.eeprom[0x04] == round(0.98 * 65535)
    assert thermometer.read().compensated_c == pytest.approx(30.51, abs=0.01)
    thermometer.release()
    assert bus.closed


def test_simulated_cycles_readings_and_applies_offset():
    thermometer = SimulatedThermometer(SimulatedThermometerConfig(readings_c=[36.5, 38.4], offset_c=0.1))
    values = [thermometer.read().compensated_c for _ in range(3)]
    assert values == pytest.approx([36.6, 38.5, 36.6])


def test_simulated_noise_is_filtered_and_repeatable():
    cfg = SimulatedThermometerConfig(readings_c=[36.8], noise_c=0.05, samples=9, seed=3)
    first = SimulatedThermometer(cfg).read()
    second = SimulatedThermometer(cfg).read()
    assert first == second
    assert first.median_c == pytest.approx(36.8, abs=0.1)
    assert len(set(first.object_c)) == 9


def test_simulated_failure():
    thermometer = SimulatedThermometer(SimulatedThermometerConfig(fail_every=2))
    thermometer.read()
    with pytest.raises(ThermometerError, match="simulated sensor failure"):
        thermometer.read()
    thermometer.read()
