"""Fitting the static per-channel Huffman tables, and the context tables (spec §6.6), on training
symbols (not normative).

The tables are part of the model file (refcodec.entropy.model_tables.EntropyTables). They must be
fitted on training data only, never on the data being coded (the stream carries no table).
Every count gets +1 (Laplace) so every symbol stays codable: a symbol unseen in training costs
at most MAX_CODE_LENGTH bits instead of forcing the raw fallback. The context tables get +1 per
(context, symbol), so a context never seen in training still has a full code.
"""

from __future__ import annotations

from typing import Iterable

import numpy as np

from refcodec.bitstream.format import MAX_CODE_LENGTH
from refcodec.entropy.huffman import build_code_lengths
from refcodec.entropy.model_tables import EntropyTables
from refcodec.errors import InvalidArgumentError


def symbol_counts(symbol_arrays: Iterable[np.ndarray], bits: int) -> np.ndarray:
    """Histogram per channel: int64 [C, 2^bits] over arrays uint8 [..., C] (channels last)."""
    counts = None
    for arr in symbol_arrays:
        a = np.asarray(arr)
        if a.ndim < 1 or not np.issubdtype(a.dtype, np.integer):
            raise InvalidArgumentError(f"symbol array must be integer [..., C], got {a.dtype} {a.shape}")
        flat = a.reshape(-1, a.shape[-1]).astype(np.int64)
        if flat.size and (flat.min() < 0 or flat.max() >= (1 << bits)):
            raise InvalidArgumentError(f"symbol {int(flat.max())} does not fit in {bits} bits")
        c = flat.shape[1]
        if counts is None:
            counts = np.zeros((c, 1 << bits), dtype=np.int64)
        elif counts.shape[0] != c:
            raise InvalidArgumentError(f"channel count {c} differs from the first array's {counts.shape[0]}")
        for ch in range(c):
            counts[ch] += np.bincount(flat[:, ch], minlength=1 << bits)
    if counts is None:
        raise InvalidArgumentError("no symbol arrays given")
    return counts


def fit_code_lengths(symbol_arrays: Iterable[np.ndarray], bits: int, max_len: int = MAX_CODE_LENGTH) -> np.ndarray:
    """Code lengths uint8 [C, 2^bits] fitted to the symbols (+1 smoothing), <= max_len bits."""
    _check_fit_args(bits, max_len)
    counts = symbol_counts(symbol_arrays, bits) + 1
    return np.stack([build_code_lengths(c, max_len) for c in counts]).astype(np.uint8)


def context_counts(symbol_arrays: Iterable[np.ndarray], bits: int) -> np.ndarray:
    """Histogram per channel and context (spec §6.6): int64 [C, NCTX, 2^bits] over arrays uint8 [h, w, C]."""
    from refcodec.entropy.context import context_indices, context_params

    _, _, nctx = context_params(bits)
    levels = 1 << bits
    counts = None
    for arr in symbol_arrays:
        a = np.asarray(arr)
        if a.ndim != 3 or not np.issubdtype(a.dtype, np.integer):
            raise InvalidArgumentError(f"symbol array must be integer [h, w, C], got {a.dtype} {a.shape}")
        if a.size and (int(a.min()) < 0 or int(a.max()) >= levels):
            raise InvalidArgumentError(f"symbol {int(a.max())} does not fit in {bits} bits")
        if counts is None:
            counts = np.zeros((a.shape[2], nctx, levels), dtype=np.int64)
        elif counts.shape[0] != a.shape[2]:
            raise InvalidArgumentError(f"channel count {a.shape[2]} differs from the first array's {counts.shape[0]}")
        for c in range(a.shape[2]):
            idx = context_indices(a[:, :, c], bits) * levels + a[:, :, c].ravel().astype(np.int64)
            counts[c] += np.bincount(idx, minlength=nctx * levels).reshape(nctx, levels)
    if counts is None:
        raise InvalidArgumentError("no symbol arrays given")
    return counts


def fit_context_lengths(symbol_arrays: Iterable[np.ndarray], bits: int,
                        max_len: int = MAX_CODE_LENGTH) -> np.ndarray:
    """Context code lengths uint8 [C, NCTX, 2^bits] (+1 smoothing per context), <= max_len bits."""
    _check_fit_args(bits, max_len)
    counts = context_counts(symbol_arrays, bits) + 1
    return np.stack([[build_code_lengths(row, max_len) for row in ch] for ch in counts]).astype(np.uint8)


def _check_fit_args(bits: int, max_len: int) -> None:
    if not 1 <= bits <= 8:
        raise InvalidArgumentError(f"bit depth {bits} outside [1, 8]")
    if not 1 <= max_len <= MAX_CODE_LENGTH or (1 << max_len) < (1 << bits):
        raise InvalidArgumentError(f"max_len {max_len} outside [{bits}, {MAX_CODE_LENGTH}]")


def fit_entropy_tables(symbol_arrays: Iterable[np.ndarray], bits: int, max_len: int = MAX_CODE_LENGTH,
                       context: bool = True):
    """Plain (fit_code_lengths) and, with `context`, context tables (fit_context_lengths) wrapped in
    EntropyTables (refcodec.entropy.model_tables: what a model stores). symbol arrays uint8 [h, w, C]."""
    arrays = list(symbol_arrays)
    return EntropyTables(code_lengths=fit_code_lengths(arrays, bits, max_len),
                         context_lengths=fit_context_lengths(arrays, bits, max_len) if context else None)
