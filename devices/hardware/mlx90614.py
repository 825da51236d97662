"""Driver for the Melexis MLX90614 infrared thermometer over SMBus (I2C).

The sensor speaks SMBus "read word" / "write word" with a Packet Error Code (PEC) on every transfer.
Linux's SMBus word helpers drop the PEC byte, so this driver issues the raw I2C transaction itself
(``i2c_rdwr``: a write of the command byte, a repeated start, a read of three bytes) and checks the
PEC on every read: a temperature that decides whether a door opens must not come from a corrupted bus
transfer. The driver takes the bus object, so tests drive it with a fake sensor at the byte level.

Register map (command byte = ``0x00 | ram_address`` for RAM, ``0x20 | eeprom_address`` for EEPROM):

=========  =======  =========================================================================
Command    Memory   Meaning
=========  =======  =========================================================================
``0x06``   RAM      TA, linearised ambient (die) temperature
``0x07``   RAM      TOBJ1, linearised object temperature, zone 1 (what the lens sees)
``0x08``   RAM      TOBJ2, object temperature, zone 2 (dual-zone parts only)
``0x24``   EEPROM   0x04: emissivity correction, ``round(e * 65535)`` (1.0 = 0xFFFF)
``0x2E``   EEPROM   0x0E: SMBus slave address (not touched by this driver)
=========  =======  =========================================================================

Temperatures are words in units of 0.02 K: ``celsius = raw * 0.02 - 273.15``. Bit 15 of a linearised
temperature is the sensor's error flag; a word with it set is not a temperature.

PEC: CRC-8, polynomial x^8 + x^2 + x + 1 (0x07), initial value 0, computed over every byte on the wire
except the start/stop/ack bits. For a read word that is ``SA_W, command, SA_R, LSB, MSB`` (``SA_W =
address << 1``, ``SA_R = SA_W | 1``); for a write word ``SA_W, command, LSB, MSB``.

EEPROM cells must be erased (written with 0x0000) before a new value is written, and each write needs
about 5 ms to complete; the driver waits 10 ms after each.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from typing import Any, Final, Protocol

__all__ = [
    "CMD_EMISSIVITY",
    "CMD_TA",
    "CMD_TOBJ1",
    "CMD_TOBJ2",
    "DEFAULT_ADDRESS",
    "I2CBus",
    "Mlx90614",
    "Mlx90614Error",
    "Mlx90614FlagError",
    "Mlx90614PecError",
    "crc8",
    "emissivity_to_raw",
    "open_smbus",
    "raw_to_celsius",
    "raw_to_emissivity",
]

log = logging.getLogger(__name__)

DEFAULT_ADDRESS: Final = 0x5A
CMD_TA: Final = 0x06
CMD_TOBJ1: Final = 0x07
CMD_TOBJ2: Final = 0x08
EEPROM_ACCESS: Final = 0x20
EEPROM_EMISSIVITY: Final = 0x04
CMD_EMISSIVITY: Final = EEPROM_ACCESS | EEPROM_EMISSIVITY  # 0x24
ERROR_FLAG: Final = 0x8000
KELVIN_OFFSET: Final = 273.15
LSB_KELVIN: Final = 0.02


class Mlx90614Error(RuntimeError):
    """The sensor could not be read or written; no temperature should be trusted from this attempt."""


class Mlx90614PecError(Mlx90614Error):
    """The PEC byte did not match the data: the transfer was corrupted on the bus."""


class Mlx90614FlagError(Mlx90614Error):
    """The sensor set the error flag (bit 15) on a temperature: it has no valid reading."""


class I2CBus(Protocol):
    """The part of :class:`smbus2.SMBus` the driver needs: combined I2C transactions."""

    def i2c_rdwr(self, *i2c_msgs: Any) -> None:
        """Run the messages as one transaction with repeated starts between them."""
        ...


def crc8(data: Iterable[int], polynomial: int = 0x07) -> int:
    """SMBus PEC: CRC-8, MSB first, initial value 0, no final XOR."""
    crc = 0
    for byte in data:
        crc ^= byte & 0xFF
        for _ in range(8):
            crc = ((crc << 1) ^ polynomial) & 0xFF if crc & 0x80 else (crc << 1) & 0xFF
    return crc


def raw_to_celsius(raw: int) -> float:
    """Convert a linearised temperature word (0.02 K per bit) to degrees Celsius."""
    return raw * LSB_KELVIN - KELVIN_OFFSET


def emissivity_to_raw(emissivity: float) -> int:
    """Encode emissivity for EEPROM 0x04: ``round(e * 65535)``; the sensor accepts 0.1 to 1.0."""
    if not 0.1 <= emissivity <= 1.0:
        raise ValueError(f"emissivity must be between 0.1 and 1.0, got {emissivity}")
    return round(emissivity * 0xFFFF)


def raw_to_emissivity(raw: int) -> float:
    """Decode EEPROM 0x04 into an emissivity between 0 and 1."""
    return raw / 0xFFFF


def _load_i2c_msg() -> Any:
    try:
        from smbus2 import i2c_msg  # optional 'pi' dependency
    except ImportError as exc:
        raise Mlx90614Error("smbus2 is not installed: pip install 'maskwatch[pi]'") from exc
    return i2c_msg


def open_smbus(bus: int | str) -> Any:
    """Open a Linux I2C bus (``1`` means ``/dev/i2c-1``, the header pins on a Raspberry Pi)."""
    try:
        from smbus2 import SMBus  # optional 'pi' dependency
    except ImportError as exc:
        raise Mlx90614Error("smbus2 is not installed: pip install 'maskwatch[pi]'") from exc
    try:
        return SMBus(bus)
    except OSError as exc:
        raise Mlx90614Error(
            f"cannot open I2C bus {bus!r}: {exc}; is I2C enabled (raspi-config) and the user in group i2c?"
        ) from exc


class Mlx90614:
    """One MLX90614 on an I2C bus.

    ``bus`` is anything with ``i2c_rdwr`` (an :class:`smbus2.SMBus`, or a fake in tests). Reads that
    fail the PEC check or raise ``OSError`` (a NACK, a glitch on a long cable) are retried ``retries``
    times with ``retry_delay_s`` in between before an :class:`Mlx90614Error` is raised.
    """

    def __init__(
        self,
        bus: I2CBus,
        address: int = DEFAULT_ADDRESS,
        *,
        retries: int = 3,
        retry_delay_s: float = 0.005,
        write_delay_s: float = 0.01,
        sleep: Callable[[float], None] = time.sleep,
        i2c_msg: Any | None = None,
    ) -> None:
        if not 0 <= address <= 0x7F:
            raise ValueError(f"I2C address must be 7-bit, got {address:#x}")
        if retries < 0:
            raise ValueError("retries must be >= 0")
        self._bus = bus
        self.address = address
        self.retries = retries
        self.retry_delay_s = retry_delay_s
        self.write_delay_s = write_delay_s
        self._sleep = sleep
        self._msg = i2c_msg if i2c_msg is not None else _load_i2c_msg()

    # -- raw access ----------------------------------------------------------------------------------

    def _read_once(self, command: int) -> int:
        write = self._msg.write(self.address, [command])
        read = self._msg.read(self.address, 3)
        self._bus.i2c_rdwr(write, read)
        data = bytes(read)
        if len(data) != 3:
            raise Mlx90614Error(f"short read from {self.address:#04x}: {data!r}")
        lsb, msb, pec = data
        sa_w = self.address << 1
        expected = crc8((sa_w, command, sa_w | 1, lsb, msb))
        if pec != expected:
            raise Mlx90614PecError(
                f"PEC mismatch reading {command:#04x}: got {pec:#04x}, expected {expected:#04x}"
            )
        return lsb | (msb << 8)

    def read_word(self, command: int) -> int:
        """Read a 16-bit word (RAM or EEPROM command), PEC-checked, retrying transient failures."""
        if not 0 <= command <= 0xFF:
            raise ValueError(f"command must be a byte, got {command}")
        last: Exception | None = None
        for attempt in range(self.retries + 1):
            if attempt:
                self._sleep(self.retry_delay_s)
            try:
                return self._read_once(command)
            except (Mlx90614PecError, OSError) as exc:
                last = exc
                log.debug("MLX90614 read %#04x attempt %d failed: %s", command, attempt + 1, exc)
        raise Mlx90614Error(
            f"MLX90614 at {self.address:#04x}: reading {command:#04x} failed after "
            f"{self.retries + 1} attempts: {last}"
        ) from last

    def write_word(self, command: int, value: int) -> None:
        """Write a 16-bit word with its PEC, then wait for the EEPROM write cycle to finish."""
        if not 0 <= value <= 0xFFFF:
            raise ValueError(f"value must be 16-bit, got {value}")
        lsb, msb = value & 0xFF, value >> 8
        pec = crc8((self.address << 1, command, lsb, msb))
        message = self._msg.write(self.address, [command, lsb, msb, pec])
        try:
            self._bus.i2c_rdwr(message)
        except OSError as exc:
            raise Mlx90614Error(f"writing {value:#06x} to {command:#04x} failed: {exc}") from exc
        finally:
            self._sleep(self.write_delay_s)

    # -- temperatures --------------------------------------------------------------------------------

    def _temperature(self, command: int) -> float:
        raw = self.read_word(command)
        if raw & ERROR_FLAG:
            raise Mlx90614FlagError(f"MLX90614 flagged register {command:#04x} invalid (raw {raw:#06x})")
        return raw_to_celsius(raw)

    def ambient_temperature(self) -> float:
        """Sensor die temperature (RAM 0x06), degrees Celsius."""
        return self._temperature(CMD_TA)

    def object_temperature(self, zone: int = 1) -> float:
        """Object temperature (RAM 0x07, or 0x08 for zone 2 of dual-zone parts), degrees Celsius."""
        if zone not in (1, 2):
            raise ValueError("zone must be 1 or 2")
        return self._temperature(CMD_TOBJ1 if zone == 1 else CMD_TOBJ2)

    # -- emissivity ----------------------------------------------------------------------------------

    def read_emissivity(self) -> float:
        """Emissivity currently stored in EEPROM 0x04."""
        return raw_to_emissivity(self.read_word(CMD_EMISSIVITY))

    def set_emissivity(self, emissivity: float) -> bool:
        """Store a new emissivity in EEPROM 0x04 (erase, write, verify).

        EEPROM endurance is limited, so nothing is written when the stored value already matches;
        returns whether a write happened. The sensor loads EEPROM at power-on, so power-cycle it for
        the new value to take effect.
        """
        raw = emissivity_to_raw(emissivity)
        if self.read_word(CMD_EMISSIVITY) == raw:
            return False
        self.write_word(CMD_EMISSIVITY, 0x0000)  # erase
        self.write_word(CMD_EMISSIVITY, raw)
        stored = self.read_word(CMD_EMISSIVITY)
        if stored != raw:
            raise Mlx90614Error(f"emissivity write did not stick: wrote {raw:#06x}, read back {stored:#06x}")
        log.info("MLX90614 at %#04x: emissivity set to %.4f (%#06x)", self.address, emissivity, raw)
        return True
