"""Static canonical Huffman codes (spec §6.2).

Code lengths come from the model file (EntropyTables.code_lengths, uint8 [C, 2^bits], 0 = symbol
not codable, at most MAX_CODE_LENGTH = 15). Codes are assigned canonically as in DEFLATE
(RFC 1951 §3.2.2) and written MSB-first. Decoding walks lengths 1..15 with the per-length counts
(the table-free loop of zlib's puff.c), so an MCU needs 16 counts and a 2^bits symbol list. The loop runs in
plain Python or numba (refcodec.entropy.kernels chooses; same results).
"""

from __future__ import annotations

import numpy as np

from refcodec.bitstream.format import MAX_CODE_LENGTH
from refcodec.entropy.bitio import pack_codes
from refcodec.entropy.kernels import huffman_decode_symbols
from refcodec.errors import BitstreamError, InvalidArgumentError


def validate_code_lengths(lengths: np.ndarray, max_len: int = MAX_CODE_LENGTH) -> np.ndarray:
    """Check a code-length vector: integers in [0, max_len], at least one non-zero, and
    Kraft sum(2^-l) <= 1 (complete codes have == 1). Returns it as int64 [n]."""
    arr = np.asarray(lengths)
    if arr.ndim != 1 or arr.size == 0 or not np.issubdtype(arr.dtype, np.integer):
        raise InvalidArgumentError(f"code lengths must be a non-empty 1-D integer array, got {arr.dtype} {arr.shape}")
    arr = arr.astype(np.int64)
    if arr.min() < 0 or arr.max() > max_len:
        raise InvalidArgumentError(f"code lengths must be in [0, {max_len}], got [{arr.min()}, {arr.max()}]")
    if arr.max() == 0:
        raise InvalidArgumentError("code lengths are all zero: no symbol is codable")
    kraft = int(np.sum(np.where(arr > 0, 1 << (max_len - arr), 0)))
    if kraft > (1 << max_len):
        raise InvalidArgumentError(f"code lengths over-subscribe the code: Kraft sum {kraft}/2^{max_len} > 1")
    return arr


def canonical_codes(lengths: np.ndarray) -> np.ndarray:
    """Canonical code of each symbol (RFC 1951 §3.2.2) -> uint32 [n]; 0 where length is 0.

        bl_count[l] = number of symbols with length l (bl_count[0] = 0)
        code = 0; for l in 1..15: code = (code + bl_count[l-1]) << 1; next_code[l] = code
        for s in 0..n-1 with lengths[s] > 0: codes[s] = next_code[lengths[s]]++
    """
    lengths = validate_code_lengths(lengths)
    bl_count = np.bincount(lengths, minlength=MAX_CODE_LENGTH + 1)
    bl_count[0] = 0
    next_code = np.zeros(MAX_CODE_LENGTH + 2, dtype=np.int64)
    code = 0
    for bits in range(1, MAX_CODE_LENGTH + 1):
        code = (code + int(bl_count[bits - 1])) << 1
        next_code[bits] = code
    codes = np.zeros(lengths.size, dtype=np.uint32)
    for s in range(lengths.size):
        l = lengths[s]
        if l:
            codes[s] = next_code[l]
            next_code[l] += 1
    return codes


def huffman_encode(symbols: np.ndarray, lengths: np.ndarray) -> bytes | None:
    """Huffman-code `symbols` (uint8, raster order) -> bytes, or None if a symbol has length 0."""
    lengths = validate_code_lengths(lengths)
    sym = np.asarray(symbols).ravel().astype(np.int64)
    if sym.size and (sym.min() < 0 or sym.max() >= lengths.size):
        raise InvalidArgumentError(f"symbol {int(sym.max())} outside the table of {lengths.size} symbols")
    sym_len = lengths[sym]
    if sym.size and sym_len.min() == 0:
        return None
    return pack_codes(canonical_codes(lengths)[sym], sym_len)


def huffman_coded_bits(symbols: np.ndarray, lengths: np.ndarray) -> int | None:
    """Total code bits for `symbols`, or None if a symbol is not codable."""
    lengths = validate_code_lengths(lengths)
    sym_len = lengths[np.asarray(symbols).ravel().astype(np.int64)]
    if sym_len.size and sym_len.min() == 0:
        return None
    return int(sym_len.sum())


def huffman_decode(data: bytes, lengths: np.ndarray, n: int) -> np.ndarray:
    """Decode exactly n symbols -> uint8 [n]. The chunk must end in the byte holding the last
    code bit, with zero padding (spec §6.1); anything else raises BitstreamError."""
    lengths = validate_code_lengths(lengths)
    bl_count = np.bincount(lengths, minlength=MAX_CODE_LENGTH + 1).astype(np.int64)
    bl_count[0] = 0
    order = np.lexsort((np.arange(lengths.size), lengths))
    sorted_symbols = order[lengths[order] > 0].astype(np.int64)
    buf = np.frombuffer(bytes(data), dtype=np.uint8)
    out, pos = huffman_decode_symbols(buf, n, bl_count, sorted_symbols)
    if pos == -1:
        raise BitstreamError(f"huffman chunk of {len(data)} bytes ends before all {n} symbols are decoded", "E_CHUNK")
    if pos == -2:
        raise BitstreamError("huffman chunk holds a bit pattern that is not a code", "E_CHUNK")
    if len(data) != (pos + 7) // 8:
        raise BitstreamError(f"huffman chunk has {len(data)} bytes, its {n} codes use {(pos + 7) // 8}", "E_CHUNK")
    if pos % 8 and buf[-1] & ((1 << (8 - pos % 8)) - 1):
        raise BitstreamError("chunk padding bits are not zero", "E_CHUNK")
    return out.astype(np.uint8)


def build_code_lengths(counts: np.ndarray, max_len: int = MAX_CODE_LENGTH) -> np.ndarray:
    """Optimal length-limited prefix code lengths (package-merge, Larmore & Hirschberg 1990).

    counts: non-negative integers [n]. Returns uint8 [n]: 0 for count-0 symbols, else in
    [1, max_len], with Kraft equality sum(2^-l) == 1 whenever >= 2 symbols occur; a lone symbol
    gets length 1. Ties are broken by symbol index, so the result is deterministic.
    """
    counts = np.asarray(counts)
    if counts.ndim != 1 or not np.issubdtype(counts.dtype, np.integer) or (counts.size and counts.min() < 0):
        raise InvalidArgumentError(f"counts must be a 1-D non-negative integer array, got {counts.dtype} {counts.shape}")
    if not 1 <= max_len <= 32:
        raise InvalidArgumentError(f"max_len {max_len} outside [1, 32]")
    used = np.flatnonzero(counts > 0)
    out = np.zeros(counts.size, dtype=np.uint8)
    m = used.size
    if m == 0:
        return out
    if m == 1:
        out[used[0]] = 1
        return out
    if m > (1 << max_len):
        raise InvalidArgumentError(f"{m} symbols cannot be coded with codes of at most {max_len} bits")
    order = used[np.lexsort((used, counts[used]))]  # ascending weight, then symbol index
    leaves = [(int(counts[s]), (j,)) for j, s in enumerate(order)]
    # Each item: (weight, tuple of leaf indices with multiplicity); merge keeps leaves first on ties.
    current = list(leaves)
    for _ in range(max_len - 1):
        packages = [
            (current[i][0] + current[i + 1][0], current[i][1] + current[i + 1][1])
            for i in range(0, len(current) - 1, 2)
        ]
        merged = []
        a = b = 0
        while a < len(leaves) or b < len(packages):
            if b >= len(packages) or (a < len(leaves) and leaves[a][0] <= packages[b][0]):
                merged.append(leaves[a])
                a += 1
            else:
                merged.append(packages[b])
                b += 1
        current = merged
    depth = np.zeros(m, dtype=np.int64)
    for _, members in current[: 2 * m - 2]:
        np.add.at(depth, np.asarray(members, dtype=np.int64), 1)
    out[order] = depth.astype(np.uint8)
    return out
