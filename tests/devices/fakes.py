"""A byte-level fake MLX90614 for the gate hardware tests."""

from __future__ import annotations

import ctypes

I2C_M_RD = 0x0001

# Table-driven CRC-8 (poly 0x07), deliberately a different implementation from the driver's bitwise one.
_CRC_TABLE: list[int] = []
for _i in range(256):
    _c = _i
    for _ in range(8):
        _c = ((_c << 1) ^ 0x07) & 0xFF if _c & 0x80 else (_c << 1) & 0xFF
    _CRC_TABLE.append(_c)


def smbus_pec(data: bytes | list[int]) -> int:
    """SMBus PEC by table lookup."""
    crc = 0
    for byte in data:
        crc = _CRC_TABLE[crc ^ byte]
    return crc


class FakeMlx90614Bus:
    """Behaves like an MLX90614 on an I2C bus, as seen through ``SMBus.i2c_rdwr``.

    - A read is a write message holding the command byte followed by a read message of length 3; the
      answer is LSB, MSB and the PEC over SA_W, command, SA_R, LSB, MSB.
    - A write is one message: command, LSB, MSB, PEC. A wrong PEC is NACKed (``OSError``, like Linux's
      EREMOTEIO) and nothing is stored. EEPROM cells behave like the real ones: writing 0x0000 erases,
      and a write to a cell that was not erased ORs into it (so a missing erase shows up as garbage).
    - ``corrupt_pec`` answers that many reads with a wrong PEC; ``nack`` raises that many ``OSError``.
    """

    def __init__(self, address: int = 0x5A) -> None:
        self.address = address
        self.ram: dict[int, int] = {0x06: 0x3AD2, 0x07: 0x3AD2, 0x08: 0x3AD2}
        self.eeprom: dict[int, int] = {0x04: 0xFFFF, 0x0E: address}
        self.corrupt_pec = 0
        self.nack = 0
        self.reads: list[int] = []
        self.writes: list[bytes] = []
        self.transactions = 0

    # helpers for tests
    def set_object_c(self, celsius: float, command: int = 0x07) -> None:
        """Store a temperature the way the sensor does (0.02 K per bit)."""
        self.ram[command] = round((celsius + 273.15) / 0.02)

    def set_ambient_c(self, celsius: float) -> None:
        """Store the ambient temperature."""
        self.ram[0x06] = round((celsius + 273.15) / 0.02)

    def _word(self, command: int) -> int:
        if command & 0xE0 == 0x20:
            return self.eeprom.get(command & 0x1F, 0)
        if command & 0xE0 == 0x00:
            return self.ram.get(command & 0x1F, 0)
        raise OSError(121, "Remote I/O error")

    def i2c_rdwr(self, *msgs: object) -> None:
        self.transactions += 1
        for msg in msgs:
            if msg.addr != self.address:  # type: ignore[attr-defined]
                raise OSError(121, "Remote I/O error")
        if self.nack:
            self.nack -= 1
            raise OSError(121, "Remote I/O error")
        first = msgs[0]
        if len(msgs) == 2:
            assert not first.flags & I2C_M_RD  # type: ignore[attr-defined]
            read = msgs[1]
            assert read.flags & I2C_M_RD  # type: ignore[attr-defined]
            assert len(read) == 3  # type: ignore[arg-type]
            (command,) = bytes(first)  # type: ignore[call-overload]
            self.reads.append(command)
            word = self._word(command)
            lsb, msb = word & 0xFF, word >> 8
            sa_w = self.address << 1
            pec = smbus_pec([sa_w, command, sa_w | 1, lsb, msb])
            if self.corrupt_pec:
                self.corrupt_pec -= 1
                pec ^= 0x5A
            ctypes.memmove(read.buf, bytes([lsb, msb, pec]), 3)  # type: ignore[attr-defined]
            return
        assert len(msgs) == 1
        data = bytes(first)  # type: ignore[call-overload]
        self.writes.append(data)
        command, lsb, msb, pec = data
        if pec != smbus_pec([self.address << 1, command, lsb, msb]):
            raise OSError(121, "Remote I/O error")
        if command & 0xE0 != 0x20:
            raise OSError(121, "Remote I/O error")  # RAM is read-only
        cell = command & 0x1F
        value = lsb | (msb << 8)
        self.eeprom[cell] = 0 if value == 0 else self.eeprom.get(cell, 0) | value
