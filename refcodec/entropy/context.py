"""Context-adaptive static Huffman coding, CHUNK_CTX_HUFFMAN (spec §6.6, entropy_mode 2).

Each symbol of a channel is coded with the static canonical Huffman table (spec §6.2) chosen by its
already-coded left and top neighbours in the same channel:

    shift = max(0, bits - 4);  NB = min(2^bits, 16);  bucket(v) = v >> shift;  none = NB
    L = bucket(sym[y][x-1]) if x > 0 else none;  T = bucket(sym[y-1][x]) if y > 0 else none
    ctx = L * (NB + 1) + T                                   (NCTX = (NB + 1)^2 contexts)

The tables are `context_lengths[c][ctx][s]` (uint8, 0 = no code) of the model (EntropyTables). A
`ContextCoder` holds, for one channel, the canonical codes and the decoder's per-context `bl_count` /
`sorted` lists, built once per model (EntropyTables.context_coders caches them), not per frame.
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from refcodec.bitstream.format import CTX_MAX_BUCKETS, MAX_CODE_LENGTH
from refcodec.entropy.bitio import pack_codes
from refcodec.entropy.huffman import canonical_codes
from refcodec.entropy.kernels import context_decode_symbols
from refcodec.errors import BitstreamError, InvalidArgumentError


def context_params(bits: int) -> tuple[int, int, int]:
    """(bucket shift, NB buckets, NCTX contexts) for bit depth `bits` (spec §6.6)."""
    if not 1 <= bits <= 8:
        raise InvalidArgumentError(f"bit depth {bits} outside [1, 8]")
    shift = max(0, bits - 4)
    nb = min(1 << bits, CTX_MAX_BUCKETS)
    return shift, nb, (nb + 1) * (nb + 1)


def context_indices(symbols: np.ndarray, bits: int) -> np.ndarray:
    """symbols [h, w] of one channel -> int64 [h * w], the context of every symbol in raster order."""
    shift, nb, _ = context_params(bits)
    sym = np.asarray(symbols)
    if sym.ndim != 2:
        raise InvalidArgumentError(f"context coding needs a 2-D channel [h, w], got shape {sym.shape}")
    b = sym.astype(np.int64) >> shift
    left = np.full(b.shape, nb, np.int64)
    left[:, 1:] = b[:, :-1]
    top = np.full(b.shape, nb, np.int64)
    top[1:, :] = b[:-1, :]
    return (left * (nb + 1) + top).ravel()


def check_context_lengths(lengths: np.ndarray, bits: int) -> np.ndarray:
    """Validate context code lengths [.., NCTX, 2^bits]: integers in [0, 15], Kraft per context row
    (an all-zero row is allowed: no symbol is codable in that context). Returns them as int64."""
    arr = np.asarray(lengths)
    _, _, nctx = context_params(bits)
    if not np.issubdtype(arr.dtype, np.integer) or arr.ndim < 2 or arr.shape[-2:] != (nctx, 1 << bits):
        raise InvalidArgumentError(
            f"context code lengths must be integer [..., {nctx}, {1 << bits}] at {bits} bits, got {arr.dtype} {arr.shape}")
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() > MAX_CODE_LENGTH):
        raise InvalidArgumentError(f"context code lengths must be in [0, {MAX_CODE_LENGTH}]")
    kraft = np.where(arr > 0, np.left_shift(1, MAX_CODE_LENGTH - arr), 0).sum(axis=-1)
    if kraft.size and kraft.max() > (1 << MAX_CODE_LENGTH):
        where = np.unravel_index(int(np.argmax(kraft)), kraft.shape)
        raise InvalidArgumentError(
            f"context code lengths {tuple(int(i) for i in where)} violate the Kraft inequality "
            f"({int(kraft.max())} > 2^{MAX_CODE_LENGTH})")
    return arr


class ContextCoder:
    """The context Huffman coder of one channel: lengths int64 [NCTX, 2^bits] -> codes, decode tables."""

    def __init__(self, lengths: np.ndarray, bits: int) -> None:
        self.bits = int(bits)
        self.shift, self.nb, self.nctx = context_params(self.bits)
        L = check_context_lengths(lengths, self.bits)
        if L.ndim != 2:
            raise InvalidArgumentError(f"one channel's context lengths must be 2-D, got {L.shape}")
        self.lengths = L
        self.empty = not L.any()  # spec §6.6: a channel whose tables are all zero is always raw
        nsym = L.shape[1]
        bl = np.stack([(L == l).sum(axis=1) for l in range(MAX_CODE_LENGTH + 1)], axis=1).astype(np.int64)
        bl[:, 0] = 0
        self.bl_count = np.ascontiguousarray(bl)  # [NCTX, 16]
        # symbols with a code sorted by (length, symbol); uncodable ones last (never indexed)
        key = np.where(L > 0, L * nsym + np.arange(nsym)[None, :], (MAX_CODE_LENGTH + 1) * nsym)
        self.sorted_symbols = np.ascontiguousarray(np.argsort(key, axis=1, kind="stable").astype(np.int64))

    @cached_property
    def codes(self) -> np.ndarray:
        """Canonical codes (spec §6.2) of every context row, uint32 [NCTX, 2^bits]; an all-zero row codes
        nothing. Built on first use: only the encoder needs them (a decoder walks bl_count / sorted_symbols)."""
        L = self.lengths
        return np.stack([canonical_codes(row) if row.any() else np.zeros(L.shape[1], np.uint32) for row in L])

    @cached_property
    def _tables_as_lists(self) -> tuple[list, list]:
        return self.bl_count.tolist(), self.sorted_symbols.tolist()

    def _lookup(self, symbols: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        sym = np.asarray(symbols)
        if sym.size and (int(sym.min()) < 0 or int(sym.max()) >= (1 << self.bits)):
            raise InvalidArgumentError(f"symbol {int(sym.max())} does not fit in {self.bits} bits")
        ctx = context_indices(sym, self.bits)
        return ctx, sym.ravel().astype(np.int64)

    def coded_bits(self, symbols: np.ndarray) -> int | None:
        """Total code bits of a channel [h, w], or None if a symbol has no code in its context."""
        ctx, s = self._lookup(symbols)
        lens = self.lengths[ctx, s]
        if lens.size and lens.min() == 0:
            return None
        return int(lens.sum())

    def encode(self, symbols: np.ndarray) -> bytes | None:
        """Context-Huffman code a channel [h, w] (raster order) -> bytes, or None if not codable."""
        ctx, s = self._lookup(symbols)
        lens = self.lengths[ctx, s]
        if lens.size and lens.min() == 0:
            return None
        return pack_codes(self.codes[ctx, s], lens)

    def decode(self, data: bytes, height: int, width: int) -> np.ndarray:
        """Decode exactly height * width symbols -> uint8 [height * width]; BitstreamError E_CHUNK on a
        pattern that is not a code, running past the chunk, trailing bytes or non-zero padding."""
        buf = np.frombuffer(bytes(data), dtype=np.uint8)
        n = int(height) * int(width)
        out, pos = context_decode_symbols(buf, int(height), int(width), self.shift, self.nb, self.bl_count,
                                          self.sorted_symbols, self._tables_as_lists)
        if pos == -1:
            raise BitstreamError(f"context chunk of {len(data)} bytes ends before all {n} symbols are decoded",
                                 "E_CHUNK")
        if pos == -2:
            raise BitstreamError("context chunk holds a bit pattern that is not a code in its context", "E_CHUNK")
        if len(data) != (pos + 7) // 8:
            raise BitstreamError(f"context chunk has {len(data)} bytes, its {n} codes use {(pos + 7) // 8}",
                                 "E_CHUNK")
        if pos % 8 and buf[-1] & ((1 << (8 - pos % 8)) - 1):
            raise BitstreamError("chunk padding bits are not zero", "E_CHUNK")
        return out.astype(np.uint8)


def context_coders(context_lengths: np.ndarray, bits: int) -> tuple[ContextCoder, ...]:
    """One ContextCoder per channel of uint8 [C, NCTX, 2^bits]."""
    arr = check_context_lengths(context_lengths, bits)
    if arr.ndim != 3:
        raise InvalidArgumentError(f"context code lengths must be [C, NCTX, 2^bits], got {arr.shape}")
    return tuple(ContextCoder(row, bits) for row in arr)
