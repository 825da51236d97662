"""Thermometers: the body-temperature part of a gate check.

A single infrared reading is noisy (a hand waving through the field of view, hair, a glance away), so a
check takes several samples a few tens of milliseconds apart, throws out the ones that disagree with the
rest, and reports the median. The forehead surface reads colder than the body core, so each device adds
a calibration offset measured on site (see docs/devices.md); the thermometer reports both numbers and
leaves the fever decision to the caller.
"""

from __future__ import annotations

import itertools
import logging
import random
import statistics
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol, runtime_checkable

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from devices.hardware.mlx90614 import DEFAULT_ADDRESS, Mlx90614, Mlx90614Error, open_smbus

__all__ = [
    "MAD_TO_SIGMA",
    "Mlx90614Thermometer",
    "Mlx90614ThermometerConfig",
    "SimulatedThermometer",
    "SimulatedThermometerConfig",
    "TemperatureSource",
    "Thermometer",
    "ThermometerError",
    "ThermometerReading",
    "parse_int",
    "reject_outliers",
    "summarise",
]

log = logging.getLogger(__name__)

#: Scales a median absolute deviation to a standard deviation for normally distributed noise.
MAD_TO_SIGMA = 1.4826


class ThermometerError(RuntimeError):
    """No trustworthy temperature could be measured; the gate must not treat this as a pass."""


@dataclass(frozen=True, slots=True)
class ThermometerReading:
    """One temperature check.

    ``object_c`` are all samples as read from the sensor, ``accepted_c`` those left after outlier
    rejection; ``median_c`` is their median and ``compensated_c = median_c + offset_c`` the estimate of
    body temperature the caller should compare with its fever threshold.
    """

    object_c: tuple[float, ...]
    accepted_c: tuple[float, ...]
    ambient_c: float | None
    median_c: float
    offset_c: float
    compensated_c: float
    failed_samples: int = 0

    @property
    def rejected(self) -> int:
        """How many samples were discarded as outliers."""
        return len(self.object_c) - len(self.accepted_c)


@runtime_checkable
class Thermometer(Protocol):
    """Measures the temperature of the person at the gate.

    ``read`` blocks for the sampling window (a few hundred milliseconds), so async callers should run it
    in a thread; it raises :class:`ThermometerError` rather than returning a number it does not trust.
    """

    def read(self) -> ThermometerReading:
        """Take one check's worth of samples and summarise them."""
        ...

    def release(self) -> None:
        """Free the bus or other resources."""
        ...


class TemperatureSource(Protocol):
    """A raw single-sample sensor, such as :class:`~devices.hardware.mlx90614.Mlx90614`."""

    def object_temperature(self, zone: int = 1) -> float:
        """One object temperature sample, degrees Celsius."""
        ...

    def ambient_temperature(self) -> float:
        """The sensor's own temperature, degrees Celsius."""
        ...


def reject_outliers(
    values: Sequence[float], threshold: float = 3.0, min_deviation_c: float = 0.1
) -> tuple[float, ...]:
    """Keep the values within ``threshold`` robust standard deviations of the median.

    The spread is the median absolute deviation (MAD) scaled to a standard deviation, which - unlike
    the mean and standard deviation - is not dragged along by the very outliers it should reject.
    ``min_deviation_c`` floors the spread so that a run of identical samples plus one slightly different
    one does not reject the latter just because the MAD is zero.
    """
    if not values:
        return ()
    median = statistics.median(values)
    mad = statistics.median(abs(v - median) for v in values)
    limit = threshold * max(mad * MAD_TO_SIGMA, min_deviation_c)
    return tuple(v for v in values if abs(v - median) <= limit)


def summarise(
    samples: Sequence[float],
    *,
    ambient_c: float | None,
    offset_c: float,
    outlier_threshold: float,
    min_deviation_c: float,
    min_accepted: int,
    max_spread_c: float | None = None,
    failed_samples: int = 0,
) -> ThermometerReading:
    """Turn raw samples into a :class:`ThermometerReading`, or refuse if too few agree.

    Outlier rejection alone cannot tell a steady reading from one where every sample is different (the
    spread then inflates the MAD and nothing is rejected), so the accepted samples must also lie within
    ``max_spread_c`` of each other.
    """
    accepted = reject_outliers(samples, outlier_threshold, min_deviation_c)
    if len(accepted) < min_accepted:
        raise ThermometerError(
            f"unstable temperature: only {len(accepted)} of {len(samples)} samples agree "
            f"({failed_samples} failed), need {min_accepted}"
        )
    spread = max(accepted) - min(accepted)
    if max_spread_c is not None and spread > max_spread_c:
        raise ThermometerError(
            f"unstable temperature: samples spread over {spread:.2f} °C, more than {max_spread_c} °C"
        )
    median = statistics.median(accepted)
    return ThermometerReading(
        object_c=tuple(samples),
        accepted_c=accepted,
        ambient_c=ambient_c,
        median_c=median,
        offset_c=offset_c,
        compensated_c=median + offset_c,
        failed_samples=failed_samples,
    )


def parse_int(value: Any) -> Any:
    """Accept ``"0x5A"`` as well as ``90``: addresses come as hex strings from environment variables."""
    if isinstance(value, str):
        return int(value.strip(), 0)
    return value


I2CAddress = Annotated[int, BeforeValidator(parse_int), Field(ge=0x00, le=0x7F)]


class _SamplingConfig(BaseModel):
    """How a check samples and filters readings; shared by the real and the simulated thermometer."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    samples: int = Field(default=7, ge=1, le=100, description="Samples per check.")
    interval_s: float = Field(default=0.03, ge=0, le=1, description="Pause between samples.")
    outlier_threshold: float = Field(
        default=3.0, gt=0, description="Reject samples further than this many robust sigmas from the median."
    )
    min_deviation_c: float = Field(
        default=0.1, ge=0, description="Floor for the robust sigma, so near-identical samples all pass."
    )
    min_accepted: int = Field(
        default=3, ge=1, description="Fewer accepted samples than this and the check is refused."
    )
    offset_c: float = Field(
        default=0.0, ge=-10, le=10, description="Added to the median: forehead-to-core compensation."
    )
    max_spread_c: float | None = Field(
        default=1.0, gt=0, description="Refuse the check if accepted samples differ by more than this."
    )


# --------------------------------------------------------------------------------------------------
# MLX90614


class Mlx90614ThermometerConfig(_SamplingConfig):
    """An MLX90614 on the Raspberry Pi's I2C bus."""

    type: Literal["mlx90614"] = "mlx90614"
    bus: int = Field(default=1, ge=0, description="I2C bus number: 1 is /dev/i2c-1 on the 40-pin header.")
    address: I2CAddress = DEFAULT_ADDRESS
    zone: Literal[1, 2] = Field(default=1, description="Object zone (2 only on dual-zone parts).")
    emissivity: float | None = Field(
        default=None,
        ge=0.1,
        le=1.0,
        description="If set, written to EEPROM at start-up when it differs (skin is about 0.98).",
    )
    retries: int = Field(default=3, ge=0, le=20, description="Retries per register read (PEC/bus errors).")

    def build(self) -> Mlx90614Thermometer:
        """Open the bus and create the thermometer."""
        if self.offset_c == 0:
            log.warning("MLX90614 offset_c is 0: readings are skin temperature; calibrate (docs/devices.md)")
        bus = open_smbus(self.bus)
        try:
            sensor = Mlx90614(bus, self.address, retries=self.retries)
            if self.emissivity is not None and sensor.set_emissivity(self.emissivity):
                log.warning("MLX90614 emissivity changed; power-cycle the sensor for it to take effect")
        except Exception:
            bus.close()
            raise
        return Mlx90614Thermometer(sensor, self, on_release=bus.close)


class Mlx90614Thermometer:
    """Samples an MLX90614 (or any :class:`TemperatureSource`) and reports a filtered median.

    A sample that fails (bus error after the driver's retries, error flag) is counted and skipped, not
    fatal: the check fails only when fewer than ``min_accepted`` good, mutually consistent samples
    remain, which is the point at which a number would be a guess.
    """

    def __init__(
        self,
        sensor: TemperatureSource,
        config: _SamplingConfig | None = None,
        *,
        zone: int | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_release: Callable[[], None] | None = None,
    ) -> None:
        self._sensor = sensor
        self._config = config if config is not None else Mlx90614ThermometerConfig()
        self._zone = zone if zone is not None else getattr(self._config, "zone", 1)
        self._sleep = sleep
        self._on_release = on_release
        self._lock = threading.Lock()

    @property
    def config(self) -> _SamplingConfig:
        """The sampling settings in use."""
        return self._config

    def read(self) -> ThermometerReading:
        """Sample, reject outliers, and compensate."""
        cfg = self._config
        samples: list[float] = []
        failures: list[Exception] = []
        with self._lock:
            try:
                ambient: float | None = self._sensor.ambient_temperature()
            except Mlx90614Error as exc:
                log.warning("ambient temperature unavailable: %s", exc)
                ambient = None
            for i in range(cfg.samples):
                if i and cfg.interval_s:
                    self._sleep(cfg.interval_s)
                try:
                    samples.append(self._sensor.object_temperature(self._zone))
                except (Mlx90614Error, OSError) as exc:
                    failures.append(exc)
        if failures:
            log.warning("%d of %d temperature samples failed: %s", len(failures), cfg.samples, failures[-1])
        if not samples:
            raise ThermometerError(f"temperature sensor failed: {failures[-1]}") from failures[-1]
        return summarise(
            samples,
            ambient_c=ambient,
            offset_c=cfg.offset_c,
            outlier_threshold=cfg.outlier_threshold,
            min_deviation_c=cfg.min_deviation_c,
            min_accepted=min(cfg.min_accepted, cfg.samples),
            max_spread_c=cfg.max_spread_c,
            failed_samples=len(failures),
        )

    def release(self) -> None:
        """Close the I2C bus."""
        if self._on_release is not None:
            self._on_release()
            self._on_release = None


# --------------------------------------------------------------------------------------------------
# Simulated


class SimulatedThermometerConfig(_SamplingConfig):
    """A thermometer that needs no hardware: the default, and a way to rehearse fever handling."""

    type: Literal["simulated"] = "simulated"
    readings_c: list[float] = Field(
        default_factory=lambda: [36.6],
        min_length=1,
        description="Body temperatures returned by successive checks, cycled.",
    )
    noise_c: float = Field(default=0.0, ge=0, le=5, description="Gaussian noise added to each sample.")
    ambient_c: float = 22.0
    fail_every: int = Field(
        default=0, ge=0, description="Every n-th check fails like a broken sensor (0: never)."
    )
    seed: int | None = Field(default=None, description="Seed the noise for repeatable runs.")
    interval_s: float = Field(default=0.0, ge=0, le=1, description="Pause between samples.")
    samples: int = Field(default=5, ge=1, le=100)

    def build(self) -> SimulatedThermometer:
        """Create the thermometer."""
        return SimulatedThermometer(self)


class SimulatedThermometer:
    """Returns configured temperatures through the same filtering as the real sensor.

    Each check takes the next value of ``readings_c`` as the true object temperature, draws ``samples``
    noisy samples around it, and summarises them exactly like :class:`Mlx90614Thermometer`, so outlier
    and offset behaviour are the same in simulation as on the gate.
    """

    def __init__(self, config: SimulatedThermometerConfig, *, sleep: Callable[[float], None] = time.sleep):
        self._config = config
        self._values = itertools.cycle(config.readings_c)
        self._rng = random.Random(config.seed)
        self._sleep = sleep
        self._checks = 0
        self._lock = threading.Lock()

    def read(self) -> ThermometerReading:
        """Produce the next simulated check, or fail if this is a configured failure."""
        cfg = self._config
        with self._lock:
            self._checks += 1
            if cfg.fail_every and self._checks % cfg.fail_every == 0:
                raise ThermometerError(f"simulated sensor failure (check {self._checks})")
            value = next(self._values)
            samples = [value + (self._rng.gauss(0.0, cfg.noise_c) if cfg.noise_c else 0.0)]
            for _ in range(cfg.samples - 1):
                if cfg.interval_s:
                    self._sleep(cfg.interval_s)
                samples.append(value + (self._rng.gauss(0.0, cfg.noise_c) if cfg.noise_c else 0.0))
        return summarise(
            samples,
            ambient_c=cfg.ambient_c,
            offset_c=cfg.offset_c,
            outlier_threshold=cfg.outlier_threshold,
            min_deviation_c=cfg.min_deviation_c,
            min_accepted=min(cfg.min_accepted, cfg.samples),
            max_spread_c=cfg.max_spread_c,
        )

    def release(self) -> None:
        """Nothing to free."""
