"""CRC-32 of the container (spec §7.3).

The standard reflected CRC-32 (ISO-HDLC / IEEE 802.3 / zlib / PNG): polynomial 0x04C11DB7 processed
LSB-first (reflected constant 0xEDB88320), initial value 0xFFFFFFFF, final XOR 0xFFFFFFFF.
Check value: crc32(b"123456789") == 0xCBF43926. This is what the usual 256-entry table-driven C loop
on a Cortex-M computes, and what an STM32 CRC unit computes when configured with REV_IN = byte,
REV_OUT = 1, INIT = 0xFFFFFFFF and the result XORed with 0xFFFFFFFF.
"""

from __future__ import annotations

import zlib

CRC32_POLY_REFLECTED = 0xEDB88320
CRC32_INIT = 0xFFFFFFFF
CRC32_XOROUT = 0xFFFFFFFF


def crc32(data: bytes | bytearray | memoryview) -> int:
    """CRC-32 of `data` as an unsigned 32-bit int (zlib.crc32, spec §7.3)."""
    return zlib.crc32(data) & 0xFFFFFFFF


def _make_table() -> tuple[int, ...]:
    table = []
    for n in range(256):
        c = n
        for _ in range(8):
            c = (c >> 1) ^ CRC32_POLY_REFLECTED if c & 1 else c >> 1
        table.append(c)
    return tuple(table)


CRC32_TABLE = _make_table()


def crc32_table_driven(data: bytes | bytearray | memoryview) -> int:
    """The same CRC computed the way MCU firmware does (byte-wise 256-entry table); slow, for tests
    and as the spec's pseudo-code: crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8)."""
    crc = CRC32_INIT
    for byte in bytes(data):
        crc = CRC32_TABLE[(crc ^ byte) & 0xFF] ^ (crc >> 8)
    return crc ^ CRC32_XOROUT
