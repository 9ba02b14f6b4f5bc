"""The static multi-symbol range coder of inter chunks (spec §6.7), integer only.

Frequencies are PROB_BITS = 12-bit integers whose total is exactly 2^12, so the encoder splits its range with a
shift (`range >> 12`), never a division. Carries are handled as in LZMA's range encoder (Igor Pavlov's
`RangeEnc_ShiftLow`, public domain; written here from the spec text): one cached byte plus a count of pending
0xFF bytes, so the encoder streams bytes forward with O(1) state. Termination (spec §6.7.3) picks the value in the
final interval with the most trailing zero bytes, drops the first output byte (always 0) and the trailing zero
bytes; the decoder reads bytes past the chunk's end as 0, so the chunk length is exact and minimal.

Pure-Python reference loops (one Python integer operation per step), used by refcodec.entropy.inter.
"""

from __future__ import annotations

PROB_BITS = 12
PROB_TOTAL = 1 << PROB_BITS
TOP = 1 << 24
MASK32 = 0xFFFFFFFF


class RangeEncoder:
    """Encoder state of spec §6.7.2: low (33 bits), range (32 bits), cache byte, pending 0xFF count."""

    __slots__ = ("low", "range", "cache", "pending", "out")

    def __init__(self) -> None:
        self.low = 0
        self.range = MASK32
        self.cache = 0
        self.pending = 1  # the cache byte itself (LZMA's cacheSize = 1)
        self.out = bytearray()

    def _shift_low(self) -> None:
        low = self.low
        if (low & MASK32) < 0xFF000000 or low > MASK32:
            carry = low >> 32
            b = (self.cache + carry) & 0xFF
            out = self.out
            out.append(b)
            for _ in range(self.pending - 1):
                out.append((0xFF + carry) & 0xFF)
            self.pending = 0
            self.cache = (low >> 24) & 0xFF
        self.pending += 1
        self.low = (low << 8) & MASK32

    def encode(self, cum: int, freq: int) -> None:
        """Code the symbol whose interval is [cum, cum + freq) of 2^PROB_BITS (freq >= 1)."""
        r = self.range >> PROB_BITS
        self.low += r * cum
        self.range = r * freq
        while self.range < TOP:
            self.range <<= 8
            self._shift_low()

    def finish(self) -> bytes:
        """Spec §6.7.3: the shortest chunk that decodes to the coded symbols."""
        low, end = self.low, self.low + self.range
        for s in (32, 24, 16, 8, 0):
            m = (1 << s) - 1
            v = (low + m) & ~m
            if v < end:
                break
        self.low = v
        for _ in range(5):
            self._shift_low()
        data = bytes(self.out[1:])  # the first byte is always 0 (spec §6.7.3)
        return data.rstrip(b"\x00")


def decoder_init(data: bytes) -> tuple[int, int]:
    """(code, pos): the first 4 chunk bytes big-endian (bytes past the end read as 0), next byte position."""
    padded = bytes(data[:4]) + b"\x00" * max(0, 4 - len(data))
    return int.from_bytes(padded, "big"), 4
