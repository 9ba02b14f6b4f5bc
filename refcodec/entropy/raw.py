"""Raw bit packing (spec §6.3): each symbol as `bits` bits, MSB-first, raster order."""

from __future__ import annotations

import numpy as np

from refcodec.entropy.bitio import pack_codes, unpack_fixed
from refcodec.errors import InvalidArgumentError


def raw_pack(symbols: np.ndarray, bits: int) -> bytes:
    """symbols uint8 [n] in [0, 2^bits) -> ceil(n*bits/8) bytes."""
    if not 1 <= bits <= 8:
        raise InvalidArgumentError(f"bit depth {bits} outside [1, 8]")
    sym = np.asarray(symbols).ravel().astype(np.int64)
    if sym.size and (sym.min() < 0 or sym.max() >= (1 << bits)):
        raise InvalidArgumentError(f"symbol {int(sym.max())} does not fit in {bits} bits")
    return pack_codes(sym.astype(np.uint32), np.full(sym.size, bits))


def raw_unpack(data: bytes, bits: int, n: int) -> np.ndarray:
    """Inverse of raw_pack -> uint8 [n]; BitstreamError on a wrong length or non-zero padding."""
    return unpack_fixed(data, bits, n).astype(np.uint8)
