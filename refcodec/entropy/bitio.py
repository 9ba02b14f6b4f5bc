"""Bit packing, MSB-first (spec §6.1): the first bit of a chunk is bit 7 of its byte 0.

`BitWriter` / `BitReader` are the plain one-bit-at-a-time form an MCU implements (a byte
accumulator and a bit count); `pack_codes` / `unpack_fixed` are vectorised NumPy equivalents
used on the host. The final byte is padded with zero bits.
"""

from __future__ import annotations

import numpy as np

from refcodec.errors import BitstreamError, InvalidArgumentError


class BitWriter:
    """Accumulates bits MSB-first. State: acc (int, < 2^8), nbits (0..7), out (bytearray)."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.nbits = 0

    def write(self, value: int, length: int) -> None:
        """Append the `length` low bits of `value`, most significant first (0 <= length <= 32)."""
        if not 0 <= length <= 32 or value >> length:
            raise InvalidArgumentError(f"value {value} does not fit in {length} bits")
        for i in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> i) & 1)
            self.nbits += 1
            if self.nbits == 8:
                self.out.append(self.acc)
                self.acc = 0
                self.nbits = 0

    def getvalue(self) -> bytes:
        """The bytes written so far, the last one padded with zero bits."""
        if self.nbits:
            return bytes(self.out) + bytes([self.acc << (8 - self.nbits)])
        return bytes(self.out)


class BitReader:
    """Reads bits MSB-first from `data`; reading past the end raises BitstreamError."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.pos = 0  # bit position

    def read_bit(self) -> int:
        if self.pos >= 8 * len(self.data):
            raise BitstreamError(f"chunk ends after {len(self.data)} bytes, more bits needed", "E_CHUNK")
        bit = (self.data[self.pos >> 3] >> (7 - (self.pos & 7))) & 1
        self.pos += 1
        return bit

    def read(self, length: int) -> int:
        v = 0
        for _ in range(length):
            v = (v << 1) | self.read_bit()
        return v

    def check_end(self) -> None:
        """Spec §6.1: after the last symbol only zero padding bits (< 8) may remain."""
        total = 8 * len(self.data)
        if total - self.pos >= 8:
            raise BitstreamError(f"chunk has {(total - self.pos) // 8} unused trailing bytes", "E_CHUNK")
        if self.pos < total and self.data[-1] & ((1 << (total - self.pos)) - 1):
            raise BitstreamError("chunk padding bits are not zero", "E_CHUNK")


def pack_codes(codes: np.ndarray, lengths: np.ndarray) -> bytes:
    """Concatenate codes MSB-first. codes uint32 [n] (each < 2^lengths), lengths in [1, 16]."""
    codes = np.asarray(codes, dtype=np.uint32).ravel()
    lengths = np.asarray(lengths, dtype=np.int64).ravel()
    if codes.size == 0:
        return b""
    aligned = (codes << (16 - lengths).astype(np.uint32)).astype(">u2")
    bits = np.unpackbits(aligned.view(np.uint8).reshape(-1, 2), axis=1)  # [n, 16]
    mask = np.arange(16)[None, :] < lengths[:, None]
    return np.packbits(bits[mask]).tobytes()


def unpack_fixed(data: bytes, bits: int, n: int) -> np.ndarray:
    """Read n `bits`-bit values MSB-first -> int64 [n]; the data must be exactly ceil(n*bits/8)
    bytes with zero padding (BitstreamError otherwise)."""
    expected = (n * bits + 7) // 8
    if len(data) != expected:
        raise BitstreamError(f"raw chunk has {len(data)} bytes, expected {expected}", "E_CHUNK")
    allbits = np.unpackbits(np.frombuffer(data, dtype=np.uint8))
    if allbits[n * bits :].any():
        raise BitstreamError("chunk padding bits are not zero", "E_CHUNK")
    b = allbits[: n * bits].reshape(n, bits).astype(np.int64)
    weights = (1 << np.arange(bits - 1, -1, -1)).astype(np.int64)
    return b @ weights
