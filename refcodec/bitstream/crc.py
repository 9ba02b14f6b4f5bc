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


def crc32(data: bytes | bytearray | memoryview, start: int = 0) -> int:
    """CRC-32 of `data` as an unsigned 32-bit int (zlib.crc32, spec §7.3). `start`: the CRC of the bytes before
    `data` (to continue a running CRC), zlib's convention."""
    return zlib.crc32(data, start) & 0xFFFFFFFF


def crc32_mpeg2(data: bytes | bytearray | memoryview) -> int:
    """CRC-32/MPEG-2: the same polynomial not reflected, init 0xFFFFFFFF, no final XOR. Not the stream's CRC:
    what a fixed STM32F1 CRC unit computes, named by `refcodec verify` when firmware used it by mistake."""
    crc = 0xFFFFFFFF
    for b in bytes(data):
        crc ^= b << 24
        for _ in range(8):
            crc = ((crc << 1) ^ 0x04C11DB7) & 0xFFFFFFFF if crc & 0x80000000 else (crc << 1) & 0xFFFFFFFF
    return crc


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


# --- CRC of a span from prefix CRCs (keep-going resync in linear time) ------------------------------------
# CRC-32 is affine over GF(2): for byte strings A and B, crc32(A + B) = crc32(B) XOR (crc32(A) "shifted" over
# len(B) zero bytes), the shift being a multiplication by x^(8 len(B)) modulo the polynomial (what zlib's
# crc32_combine computes). So crc32(B) = crc32(A + B) XOR shift(crc32(A), len(B)): the CRC of any span
# data[a:b] follows from the CRCs of the prefixes data[:a] and data[:b] in O(log(b - a)) steps, however long
# the span. Bits are reflected: bit 31 of a 32-bit value is the coefficient of x^0.

_X0 = 1 << 31  # the polynomial "1" in the reflected representation


def _mulmod(a: int, b: int) -> int:
    """a * b modulo the CRC-32 polynomial (reflected representation)."""
    product = 0
    bit = _X0
    while a:
        if a & bit:
            product ^= b
            a ^= bit
        bit >>= 1
        b = (b >> 1) ^ CRC32_POLY_REFLECTED if b & 1 else b >> 1  # b *= x
    return product


def _x_pow_2k() -> tuple[int, ...]:
    """x^(2^k) modulo the polynomial for k = 0..63."""
    out = [_X0 >> 1]  # x^1
    for _ in range(63):
        out.append(_mulmod(out[-1], out[-1]))
    return tuple(out)


_X_POW_2K = _x_pow_2k()


def crc32_shift(crc: int, nbytes: int) -> int:
    """crc multiplied by x^(8 nbytes) mod the polynomial: what nbytes zero bytes do to the CRC register.
    x^(8 nbytes) is the product of x^(8 * 2^j) over the set bits j of nbytes; each of those multiplications is
    linear in crc, so it is done with four 256-entry tables (one per byte of crc), built once."""
    tables = _shift_tables()
    j = 0
    while nbytes:
        if nbytes & 1:
            t0, t1, t2, t3 = tables[j]
            crc = t0[crc & 0xFF] ^ t1[(crc >> 8) & 0xFF] ^ t2[(crc >> 16) & 0xFF] ^ t3[crc >> 24]
        nbytes >>= 1
        j += 1
    return crc


_SHIFT_TABLES: list = []


def _shift_tables() -> list:
    """For j = 0..40: the four byte tables of "multiply by x^(8 * 2^j)"."""
    if not _SHIFT_TABLES:
        for j in range(41):
            factor = _X_POW_2K[j + 3]
            per_byte = []
            for byte in range(4):
                basis = [_mulmod(factor, 1 << (8 * byte + i)) for i in range(8)]
                table = [0] * 256
                for v in range(1, 256):
                    low = (v & -v).bit_length() - 1
                    table[v] = table[v & (v - 1)] ^ basis[low]
                per_byte.append(table)
            _SHIFT_TABLES.append(per_byte)
    return _SHIFT_TABLES


def crc32_combine(crc_a: int, crc_b: int, len_b: int) -> int:
    """crc32(A + B) from crc32(A), crc32(B) and len(B) (zlib's crc32_combine)."""
    return crc32_shift(crc_a, len_b) ^ crc_b


class SpanCrc:
    """CRC-32 of any span data[a:b] of one buffer with bounded work per query.

    Prefix CRCs are kept at checkpoints every `step` bytes (computed once, in order, as far as queries reach);
    a span shorter than `step` is computed directly; a longer one from two prefix CRCs and crc32_shift. So
    the total CRC work of n queries over an N-byte buffer is at most N + n * 3 * step bytes plus n shifts,
    whatever the spans (spec §10.2: keep-going resync in time linear in the stream size).
    `bytes_hashed` counts the bytes run through zlib.crc32 (a work measure for tests and benchmarks)."""

    def __init__(self, data: bytes, step: int = 256) -> None:
        self.data = memoryview(data)
        self.step = step
        self._prefix = [0]  # crc32(data[:i * step])
        self.bytes_hashed = 0

    def _crc(self, a: int, b: int, start: int = 0) -> int:
        self.bytes_hashed += b - a
        return zlib.crc32(self.data[a:b], start) & 0xFFFFFFFF

    def prefix(self, n: int) -> int:
        """crc32(data[:n])."""
        i = n // self.step
        while len(self._prefix) <= i:
            j = len(self._prefix)
            self._prefix.append(self._crc((j - 1) * self.step, j * self.step, self._prefix[-1]))
        return self._crc(i * self.step, n, self._prefix[i])

    def span(self, a: int, b: int) -> int:
        """crc32(data[a:b])."""
        if b - a <= self.step:
            return self._crc(a, b)
        return self.prefix(b) ^ crc32_shift(self.prefix(a), b - a)
