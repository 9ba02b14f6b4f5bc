"""Inter chunks, CHUNK_INTER (spec §6.7, entropy_mode 4): one channel of frame n coded with the range coder of
refcodec.entropy.rangecoder, conditioned on the same channel's decoded symbols in frame n-1 (the reference).

Context of the symbol at (y, x) (spec §6.7.1), from the reference symbol at the same position and how many of
the four already-coded neighbours of the current frame changed against their reference:

    changed(y', x') = 1 if (y', x') is inside the channel, precedes (y, x) in raster order and cur != ref there
    n   = changed(y, x-1) + changed(y-1, x-1) + changed(y-1, x) + changed(y-1, x+1)
    ctx = ref[y][x] * 3 + min(n, 2)                          (NCTX_INTER = 3 * 2^b contexts)

The model's table `inter_freqs[ctx][s]` (uint16, every entry >= 1, each row summing to 2^12) is shared by all
channels (measured better than per-channel tables on the validation clips, spec §11.3).
"""

from __future__ import annotations

from functools import cached_property

import numpy as np

from refcodec.entropy.rangecoder import MASK32, PROB_BITS, PROB_TOTAL, TOP, RangeEncoder, decoder_init
from refcodec.errors import BitstreamError, InvalidArgumentError

INTER_NEIGHBOUR_BUCKETS = 3


def inter_nctx(bits: int) -> int:
    """Contexts of the inter coder at bit depth `bits`: 3 * 2^bits."""
    return INTER_NEIGHBOUR_BUCKETS << bits


def inter_contexts(cur: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """Context of every symbol (spec §6.7.1) of one channel: cur, ref [h, w] -> int64 [h * w] in raster order."""
    cur = np.asarray(cur)
    ref = np.asarray(ref)
    if cur.shape != ref.shape or cur.ndim != 2:
        raise InvalidArgumentError(f"inter coding needs two channels of one shape [h, w], got {cur.shape}, {ref.shape}")
    ch = (cur != ref).astype(np.int64)
    n = np.zeros_like(ch)
    n[:, 1:] += ch[:, :-1]          # left
    n[1:, 1:] += ch[:-1, :-1]       # top-left
    n[1:, :] += ch[:-1, :]          # top
    n[1:, :-1] += ch[:-1, 1:]       # top-right
    return (ref.astype(np.int64) * INTER_NEIGHBOUR_BUCKETS + np.minimum(n, 2)).ravel()


def check_inter_freqs(freqs: np.ndarray, bits: int) -> np.ndarray:
    """Validate a table [3 * 2^bits, 2^bits]: integers in [1, 2^12], each row summing to 2^12. Returns int64."""
    arr = np.asarray(freqs)
    shape = (inter_nctx(bits), 1 << bits)
    if not np.issubdtype(arr.dtype, np.integer) or arr.shape != shape:
        raise InvalidArgumentError(f"inter frequencies must be integer {list(shape)} at {bits} bits, "
                                   f"got {arr.dtype} {list(arr.shape)}")
    arr = arr.astype(np.int64)
    if arr.min() < 1:
        raise InvalidArgumentError("inter frequencies must all be >= 1 (every symbol codable in every context)")
    sums = arr.sum(axis=1)
    if np.any(sums != PROB_TOTAL):
        bad = int(np.argmax(sums != PROB_TOTAL))
        raise InvalidArgumentError(f"inter frequencies of context {bad} sum to {int(sums[bad])}, not {PROB_TOTAL}")
    return arr


class InterCoder:
    """The inter coder of a model (all channels): freqs int [3 * 2^bits, 2^bits]."""

    def __init__(self, freqs: np.ndarray, bits: int) -> None:
        self.bits = int(bits)
        self.freqs = check_inter_freqs(freqs, self.bits)
        self.cum = np.concatenate([np.zeros((self.freqs.shape[0], 1), np.int64), np.cumsum(self.freqs, axis=1)],
                                  axis=1)

    @cached_property
    def _lists(self) -> tuple[list, list]:
        return self.freqs.tolist(), self.cum.tolist()

    @cached_property
    def _slot_symbol(self) -> list[bytes]:
        """Per context, the symbol of each of the 2^12 slots (a decoder's lookup table; spec §6.7.4's search)."""
        return [np.repeat(np.arange(1 << self.bits, dtype=np.uint8), row).tobytes() for row in self.freqs]

    def ideal_bits(self, cur: np.ndarray, ref: np.ndarray) -> float:
        """-log2 of the coded symbols' probabilities (what the chunk costs before termination)."""
        ctx = inter_contexts(cur, ref)
        f = self.freqs[ctx, np.asarray(cur).ravel().astype(np.int64)]
        return float(np.sum(PROB_BITS - np.log2(f)))

    def encode(self, cur: np.ndarray, ref: np.ndarray) -> bytes:
        """Range-code one channel [h, w] (raster order) against its reference [h, w] -> chunk bytes."""
        cur = np.asarray(cur)
        if cur.size and int(cur.max()) >= (1 << self.bits):
            raise InvalidArgumentError(f"symbol {int(cur.max())} does not fit in {self.bits} bits")
        ctx = inter_contexts(cur, ref)
        s = cur.ravel().astype(np.int64)
        cums = self.cum[ctx, s].tolist()
        fs = self.freqs[ctx, s].tolist()
        enc = RangeEncoder()
        for c, f in zip(cums, fs):
            enc.encode(c, f)
        return enc.finish()

    def decode(self, data: bytes, ref: np.ndarray) -> np.ndarray:
        """Decode one channel against its reference [h, w] -> uint8 [h * w]; BitstreamError E_CHUNK when a
        value falls outside the coded total (2^12 slots), or the chunk has trailing or non-canonical bytes."""
        ref = np.asarray(ref)
        h, w = ref.shape
        refl = ref.astype(np.int64).ravel().tolist()
        freqs, cum = self._lists
        slots = self._slot_symbol
        data = bytes(data)
        nbytes = len(data)
        code, pos = decoder_init(data)
        rng = MASK32
        out = [0] * (h * w)
        changed = [0] * (h * w)
        i = 0
        for y in range(h):
            for x in range(w):
                n = 0
                if x > 0:
                    n += changed[i - 1]
                if y > 0:
                    n += changed[i - w]
                    if x > 0:
                        n += changed[i - w - 1]
                    if x + 1 < w:
                        n += changed[i - w + 1]
                r0 = refl[i]
                ctx = r0 * 3 + (n if n < 2 else 2)
                r = rng >> PROB_BITS
                q = code // r
                if q >= PROB_TOTAL:
                    raise BitstreamError(f"inter chunk value outside the coded range at symbol {i}", "E_CHUNK")
                s = slots[ctx][q]
                code -= r * cum[ctx][s]
                rng = r * freqs[ctx][s]
                while rng < TOP:
                    code = ((code << 8) | (data[pos] if pos < nbytes else 0)) & MASK32
                    pos += 1
                    rng <<= 8
                out[i] = s
                changed[i] = 1 if s != r0 else 0
                i += 1
        if nbytes > pos:
            raise BitstreamError(f"inter chunk has {nbytes} bytes, its symbols use {pos}", "E_CHUNK")
        if nbytes and data[-1] == 0:
            raise BitstreamError("inter chunk ends with a zero byte (not the canonical termination)", "E_CHUNK")
        return np.array(out, dtype=np.uint8)


def fit_inter_freqs(pairs, bits: int) -> np.ndarray:
    """Frequencies uint16 [3 * 2^bits, 2^bits] fitted on (cur, ref) symbol frame pairs uint8 [h, w, C] (all
    channels pooled; +0.5 smoothing per entry; each row rounded to a total of 2^12 with every entry >= 1).
    Fit on training video only (spec §11.3)."""
    nctx, levels = inter_nctx(bits), 1 << bits
    counts = np.zeros((nctx, levels), np.float64)
    for cur, ref in pairs:
        cur, ref = np.asarray(cur), np.asarray(ref)
        for c in range(cur.shape[2]):
            idx = inter_contexts(cur[:, :, c], ref[:, :, c]) * levels + cur[:, :, c].ravel().astype(np.int64)
            counts += np.bincount(idx, minlength=nctx * levels).reshape(nctx, levels)
    return quantize_freqs(counts + 0.5)


def quantize_freqs(counts: np.ndarray) -> np.ndarray:
    """Rows of positive counts -> uint16 frequencies >= 1 summing to 2^12 (largest-remainder rounding of the
    share above the floor of 1 each)."""
    counts = np.asarray(counts, np.float64)
    levels = counts.shape[1]
    spare = PROB_TOTAL - levels
    out = np.ones(counts.shape, np.int64)
    for i, row in enumerate(counts):
        share = row / row.sum() * spare
        fl = np.floor(share).astype(np.int64)
        rest = spare - int(fl.sum())
        order = np.argsort(-(share - fl), kind="stable")
        fl[order[:rest]] += 1
        out[i] += fl
    return out.astype(np.uint16)
