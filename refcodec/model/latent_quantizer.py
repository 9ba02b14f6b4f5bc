"""The latent quantizer: int8 latents to b-bit symbols per channel (spec §5 "Latent quantizer").

Normative, integer-only, identical on an MCU. For channel c with parameters lo[c] and mult[c]:

    d      = max(q - lo[c], 0)                             # q int8, so d in [0, 255]
    symbol = min((d * mult[c] + 2^(LQ_SHIFT-1)) >> LQ_SHIFT, 2^bits - 1)

Every operand is non-negative and d * mult[c] + 2^15 < 255 * 2^23 + 2^15 < 2^31, so the expression is the same
in C with int32 or uint32 arithmetic and in NumPy (no implementation-defined shift of negative values). This is a
uniform quantizer with step (2^16 / mult[c]) int8 units starting at lo[c], rounding half up.

The reconstruction table `recon[c][symbol]` (float32, int8 latent domain; the model file's `lq.recon`) is read by
the decoder, whose input is latent_scale * (recon[c][symbol] - latent_zero_point) in binary32 arithmetic, defined
exactly in spec section 5.1 (refcodec.codec.latent_from_symbols).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from refcodec.errors import InvalidArgumentError

LQ_SHIFT = 16
MAX_MULT = 1 << 23


@dataclass(frozen=True, eq=False)
class LatentQuantizer:
    """bits: symbol bit depth in [1, 8]; lo: int32 [C] in [-128, 127]; mult: int32 [C] in [1, 2^23);
    recon: float32 [C, 2^bits] reconstruction points in the int8 latent domain."""

    bits: int
    lo: np.ndarray
    mult: np.ndarray
    recon: np.ndarray

    def __post_init__(self) -> None:
        if not isinstance(self.bits, (int, np.integer)) or not 1 <= int(self.bits) <= 8:
            raise InvalidArgumentError(f"latent bits {self.bits!r} outside [1, 8]")
        lo, mult, recon = np.asarray(self.lo), np.asarray(self.mult), np.asarray(self.recon)
        if lo.dtype != np.int32 or mult.dtype != np.int32 or lo.ndim != 1 or lo.shape != mult.shape:
            raise InvalidArgumentError(
                f"latent quantizer lo/mult must be equal-length int32 vectors, got {lo.dtype}{lo.shape} "
                f"and {mult.dtype}{mult.shape}")
        if np.any(lo < -128) or np.any(lo > 127):
            raise InvalidArgumentError(f"latent quantizer lo {lo.tolist()} outside [-128, 127]")
        if np.any(mult < 1) or np.any(mult >= MAX_MULT):
            raise InvalidArgumentError(f"latent quantizer mult {mult.tolist()} outside [1, 2^23)")
        if recon.dtype != np.float32 or recon.shape != (lo.shape[0], 1 << int(self.bits)):
            raise InvalidArgumentError(
                f"latent quantizer recon must be float32 {(lo.shape[0], 1 << int(self.bits))}, "
                f"got {recon.dtype}{recon.shape}")
        if not np.all(np.isfinite(recon)):
            raise InvalidArgumentError("latent quantizer recon holds a non-finite value")

    @property
    def channels(self) -> int:
        return int(self.lo.shape[0])

    @property
    def levels(self) -> int:
        return 1 << int(self.bits)

    def quantize(self, latent: np.ndarray) -> np.ndarray:
        """int8 [..., C] latent -> uint8 [..., C] symbols (normative)."""
        q = np.asarray(latent)
        if q.dtype != np.int8:
            raise InvalidArgumentError(f"latent must be int8, got {q.dtype}")
        if q.shape[-1] != self.channels:
            raise InvalidArgumentError(f"latent has {q.shape[-1]} channels, quantizer expects {self.channels}")
        d = np.maximum(q.astype(np.int64) - self.lo.astype(np.int64), 0)
        s = (d * self.mult.astype(np.int64) + (1 << (LQ_SHIFT - 1))) >> LQ_SHIFT
        return np.minimum(s, self.levels - 1).astype(np.uint8)

    def dequantize(self, symbols: np.ndarray) -> np.ndarray:
        """uint8 [..., C] symbols -> float32 [..., C] values in the int8 latent domain (decoder side)."""
        s = np.asarray(symbols)
        if s.shape[-1] != self.channels:
            raise InvalidArgumentError(f"symbols have {s.shape[-1]} channels, quantizer expects {self.channels}")
        if s.size and int(s.max()) >= self.levels:
            raise InvalidArgumentError(f"symbol {int(s.max())} outside [0, {self.levels})")
        return self.recon[np.arange(self.channels), s.astype(np.intp)].astype(np.float32)

    @staticmethod
    def bin_centres(bits: int, lo: np.ndarray, mult: np.ndarray) -> np.ndarray:
        """The default recon table: symbol s reconstructs to lo + s * 2^16 / mult, clipped to int8 range."""
        levels = 1 << bits
        s = np.arange(levels, dtype=np.float64)[None, :]
        r = lo.astype(np.float64)[:, None] + s * (1 << LQ_SHIFT) / mult.astype(np.float64)[:, None]
        return np.clip(r, -128, 127).astype(np.float32)

    @classmethod
    def from_ranges(cls, bits: int, lo: np.ndarray, hi: np.ndarray, levels: int | None = None) -> "LatentQuantizer":
        """Uniform quantizer mapping [lo[c], hi[c]] (int8 units) onto `levels` levels (default 2^bits; fewer
        gives a coarser step, the symbols above stay unused): mult = round((levels - 1) * 2^16 / (hi - lo))."""
        levels = (1 << bits) if levels is None else int(levels)
        if not 2 <= levels <= (1 << bits):
            raise InvalidArgumentError(f"latent quantizer levels {levels} outside [2, 2^{bits}]")
        lo = np.asarray(lo, dtype=np.int64)
        hi = np.asarray(hi, dtype=np.int64)
        if np.any(hi <= lo):
            raise InvalidArgumentError(f"latent ranges need hi > lo, got lo={lo.tolist()} hi={hi.tolist()}")
        mult = np.floor((levels - 1) * (1 << LQ_SHIFT) / (hi - lo) + 0.5).astype(np.int64)
        mult = np.clip(mult, 1, MAX_MULT - 1).astype(np.int32)
        lo32 = lo.astype(np.int32)
        return cls(int(bits), lo32, mult, cls.bin_centres(bits, lo32, mult))
