"""Plain-Python reference decoder of MCUC chunk contents (SPEC.md §6), written from SPEC.md alone (no refcodec
import, no NumPy): raw bit packing (§6.3), static canonical Huffman (§6.2), context Huffman (§6.6) and inter
chunks (§6.7, spec 2.2: `decode_inter_chunk`, which needs the reference channel).
Slow and simple on purpose: it is the independent check of refcodec's vectorised / numba coders and of
the C firmware.

    decode_chunk(mode, data, bits, latent_width, latent_height, code_lengths, context_lengths)
      mode 0 raw, 1 Huffman (code_lengths[s] of the channel), 2 context Huffman
      (context_lengths[ctx][s] of the channel); returns the list of latent_width * latent_height symbols
      in raster order, or raises ChunkError.
"""

from __future__ import annotations

MAX_CODE_LENGTH = 15


class ChunkError(Exception):
    """The chunk is not decodable (E_CHUNK)."""


class _Bits:
    """MSB-first bit reader (§6.1)."""

    def __init__(self, data: bytes) -> None:
        self.data = bytes(data)
        self.pos = 0

    def bit(self) -> int:
        if self.pos >= 8 * len(self.data):
            raise ChunkError("reading past the end of the chunk")
        b = (self.data[self.pos // 8] >> (7 - self.pos % 8)) & 1
        self.pos += 1
        return b

    def finish(self) -> None:
        """Exactly ceil(bits / 8) bytes, zero padding."""
        if len(self.data) != (self.pos + 7) // 8:
            raise ChunkError(f"chunk has {len(self.data)} bytes, its codes use {(self.pos + 7) // 8}")
        while self.pos % 8:
            if self.bit():
                raise ChunkError("non-zero padding bit")


def canonical_table(lengths) -> tuple[list[int], list[int]]:
    """(bl_count[0..15], sorted symbols by (length, symbol)) of one code-length table (§6.2)."""
    lengths = [int(v) for v in lengths]
    if any(not 0 <= v <= MAX_CODE_LENGTH for v in lengths):
        raise ChunkError("code length outside [0, 15]")
    bl_count = [0] * (MAX_CODE_LENGTH + 1)
    for v in lengths:
        if v:
            bl_count[v] += 1
    ordered = sorted((v, s) for s, v in enumerate(lengths) if v)
    return bl_count, [s for _, s in ordered]


def decode_symbol(bits: _Bits, table: tuple[list[int], list[int]]) -> int:
    """§6.2 decode_symbol (puff.c)."""
    bl_count, ordered = table
    code = first = index = 0
    for length in range(1, MAX_CODE_LENGTH + 1):
        code |= bits.bit()
        count = bl_count[length]
        if code - first < count:
            return ordered[index + code - first]
        index += count
        first += count
        first <<= 1
        code <<= 1
    raise ChunkError("bit pattern is not a code")


def context_of(symbols: list[int], y: int, x: int, width: int, bits: int) -> int:
    """§6.6: ctx = L * (NB + 1) + T from the left and top neighbours' buckets (NB where there is none)."""
    shift = max(0, bits - 4)
    nb = min(2 ** bits, 16)
    left = symbols[y * width + x - 1] >> shift if x > 0 else nb
    top = symbols[(y - 1) * width + x] >> shift if y > 0 else nb
    return left * (nb + 1) + top


def decode_chunk(mode: int, data: bytes, bits: int, latent_width: int, latent_height: int,
                 code_lengths=None, context_lengths=None) -> list[int]:
    n = latent_width * latent_height
    reader = _Bits(data)
    out: list[int] = []
    if mode == 0:
        for _ in range(n):
            v = 0
            for _ in range(bits):
                v = (v << 1) | reader.bit()
            out.append(v)
    elif mode == 1:
        if code_lengths is None:
            raise ChunkError("Huffman chunk without code lengths")
        table = canonical_table(code_lengths)
        out = [decode_symbol(reader, table) for _ in range(n)]
    elif mode == 2:
        if context_lengths is None:
            raise ChunkError("context chunk without context code lengths")
        tables: dict[int, tuple[list[int], list[int]]] = {}
        for y in range(latent_height):
            for x in range(latent_width):
                ctx = context_of(out, y, x, latent_width, bits)
                if ctx not in tables:
                    tables[ctx] = canonical_table(context_lengths[ctx])
                out.append(decode_symbol(reader, tables[ctx]))
    else:
        raise ChunkError(f"unknown chunk mode {mode}")
    reader.finish()
    return out


def inter_context(cur: list[int], ref: list[int], y: int, x: int, width: int) -> int:
    """§6.7.1: ref[y][x] * 3 + min(number of changed causal neighbours among left, top-left, top, top-right, 2)."""
    m = 0
    for dy, dx in ((0, -1), (-1, -1), (-1, 0), (-1, 1)):
        yy, xx = y + dy, x + dx
        if yy >= 0 and 0 <= xx < width:
            i = yy * width + xx
            if cur[i] != ref[i]:
                m += 1
    return ref[y * width + x] * 3 + min(m, 2)


def decode_inter_chunk(data: bytes, latent_width: int, latent_height: int, ref: list[int], freqs) -> list[int]:
    """§6.7.4: range-decode one channel against its reference `ref` (raster order) with the model's
    inter_freqs[ctx][s]. Raises ChunkError (E_CHUNK)."""
    def byte(i: int) -> int:
        return data[i] if i < len(data) else 0

    code = (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3)
    pos = 4
    rng = 0xFFFFFFFF
    out: list[int] = []
    for y in range(latent_height):
        for x in range(latent_width):
            ctx = inter_context(out, ref, y, x, latent_width)
            f = [int(v) for v in freqs[ctx]]
            r = rng >> 12
            q = code // r
            if q >= 4096:
                raise ChunkError("inter chunk: value outside the coded total")
            s, cum = 0, 0
            while cum + f[s] <= q:
                cum += f[s]
                s += 1
            code -= r * cum
            rng = r * f[s]
            while rng < (1 << 24):
                code = (code << 8) | byte(pos)
                pos += 1
                rng <<= 8
            out.append(s)
    if len(data) > pos:
        raise ChunkError(f"inter chunk: {len(data)} bytes, the decoder read {pos}")
    if data and data[-1] == 0:
        raise ChunkError("inter chunk ends with a zero byte")
    return out
