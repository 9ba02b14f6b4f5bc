"""The canonical-Huffman decode loops in plain Python (spec §6.2, §6.6): the same walk as
refcodec.entropy.kernels_numba (zlib's puff.c: lengths 1..15 with the per-length counts), with the same
results and error positions, but no numba import or cache load, so a small frame decodes in milliseconds
from a cold start. refcodec.entropy.kernels chooses between the two.

Inputs are Python lists: `bits` holds one 0/1 value per bit of the chunk (numpy.unpackbits(...).tobytes()),
`bl_count` the 16 counts per length (index 0 unused) and `sorted_symbols` the symbols sorted by
(length, symbol); the context form takes one such pair per context.
"""

from __future__ import annotations


def decode_symbol(bits: bytes, pos: int, bl_count: list[int], sorted_symbols: list[int]) -> tuple[int, int]:
    """One canonical code from bit `pos` (spec §6.2 decode_symbol): (symbol, position after it), or
    (-1, pos) when the data ends first, (-2, pos) after 15 bits that are no code."""
    nbits = len(bits)
    code = first = index = 0
    for length in range(1, 16):
        if pos >= nbits:
            return -1, pos
        code |= bits[pos]
        pos += 1
        count = bl_count[length]
        if code - first < count:
            return sorted_symbols[index + code - first], pos
        index += count
        first = (first + count) << 1
        code <<= 1
    return -2, pos


def huffman_loop(bits: bytes, n: int, bl_count: list[int], sorted_symbols: list[int], out: list[int]) -> int:
    """n symbols with one table into out[0:n]. Returns the bit position after the last symbol, or -1 (ran
    past the end of the data) / -2 (15 bits that are no code)."""
    pos = 0
    for i in range(n):
        sym, pos = decode_symbol(bits, pos, bl_count, sorted_symbols)
        if sym < 0:
            return sym
        out[i] = sym
    return pos


def context_loop(bits: bytes, h: int, w: int, shift: int, nb: int, bl_count: list[list[int]],
                 sorted_symbols: list[list[int]], out: list[int]) -> int:
    """h x w symbols in raster order into out, each with the table of its context
    ctx = L * (NB + 1) + T (spec §6.6; L, T = NB at the left / top border). Returns as huffman_loop."""
    pos = 0
    i = 0
    stride = nb + 1
    for y in range(h):
        for x in range(w):
            left = nb if x == 0 else out[i - 1] >> shift
            top = nb if y == 0 else out[i - w] >> shift
            ctx = left * stride + top
            sym, pos = decode_symbol(bits, pos, bl_count[ctx], sorted_symbols[ctx])
            if sym < 0:
                return sym
            out[i] = sym
            i += 1
    return pos
