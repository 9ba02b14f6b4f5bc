"""The canonical-Huffman decode loops compiled with numba (spec §6.2, §6.6); refcodec.entropy.kernels
chooses between these and the plain-Python loops of refcodec.entropy.kernels_python (same results).

Importing this module imports numba (about 0.2 s) and the first call of each kernel loads it from numba's
cache (about 0.35 s) or compiles it (seconds): worth it only when there are many symbols to decode.
"""

from __future__ import annotations

import numba


@numba.njit(cache=True, nogil=True)
def decode_one(data, pos, bl_count, sorted_symbols):  # pragma: no cover - numba
    """puff.c-style canonical decode of one symbol at bit `pos` (MSB first) with the table (bl_count[1..15],
    symbols sorted by (length, symbol)). Returns (symbol, bit position after it), or (0, -1) if it runs past
    the end of data, (0, -2) if the bit pattern is not a code."""
    nbits_total = data.size * 8
    code = 0
    first = 0
    index = 0
    for length in range(1, 16):
        if pos >= nbits_total:
            return 0, -1
        code |= (data[pos >> 3] >> (7 - (pos & 7))) & 1
        pos += 1
        count = bl_count[length]
        if code - first < count:
            return sorted_symbols[index + code - first], pos
        index += count
        first += count
        first <<= 1
        code <<= 1
    return 0, -2


@numba.njit(cache=True, nogil=True)
def huffman_kernel(data, n, bl_count, sorted_symbols, out):  # pragma: no cover - numba
    """n symbols with one table. Returns the bit position after the last symbol, or -1 / -2 (decode_one)."""
    pos = 0
    for i in range(n):
        sym, pos = decode_one(data, pos, bl_count, sorted_symbols)
        if pos < 0:
            return pos
        out[i] = sym
    return pos


@numba.njit(cache=True, nogil=True)
def context_kernel(data, h, w, shift, nb, bl_count, sorted_symbols, out):  # pragma: no cover - numba
    """h x w symbols, each with the table of its context (spec §6.6). Returns the bit position after the last
    symbol, or -1 (ran past the end of data) / -2 (bit pattern not a code)."""
    pos = 0
    for y in range(h):
        for x in range(w):
            left = nb if x == 0 else out[y * w + x - 1] >> shift
            top = nb if y == 0 else out[(y - 1) * w + x] >> shift
            ctx = left * (nb + 1) + top
            sym, pos = decode_one(data, pos, bl_count[ctx], sorted_symbols[ctx])
            if pos < 0:
                return pos
            out[y * w + x] = sym
    return pos
