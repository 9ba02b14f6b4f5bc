"""EntropyTables: the static entropy tables a model file carries (spec §4.1, §6.2, §6.6).

Part of the entropy package so that the dependency runs one way: refcodec.model (the model file) uses
refcodec.entropy, and nothing in refcodec.entropy's coding modules imports refcodec.model.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

from refcodec.bitstream.format import MAX_CODE_LENGTH
from refcodec.entropy.context import check_context_lengths, context_coders
from refcodec.entropy.inter import InterCoder, check_inter_freqs
from refcodec.errors import InvalidArgumentError


@dataclass(frozen=True)
class EntropyTables:
    """Static canonical Huffman code lengths per channel: uint8 [C, 2^bits], 0 = symbol never coded; and
    optionally the context tables (spec §6.6) uint8 [C, NCTX, 2^bits], NCTX = (min(2^bits, 16) + 1)^2."""

    code_lengths: np.ndarray
    context_lengths: np.ndarray | None = None
    inter_freqs: np.ndarray | None = None

    def __post_init__(self) -> None:
        cl = np.asarray(self.code_lengths)
        if cl.dtype != np.uint8 or cl.ndim != 2:
            raise InvalidArgumentError(f"code_lengths must be a 2-D uint8 array, got {cl.dtype}{cl.shape}")
        if self.context_lengths is not None:
            ctx = np.asarray(self.context_lengths)
            bits = int(cl.shape[1]).bit_length() - 1
            if cl.shape[1] != 1 << bits or not 1 <= bits <= 8:
                raise InvalidArgumentError(f"code_lengths has {cl.shape[1]} symbols, not 2^bits for bits in [1, 8]")
            if ctx.dtype != np.uint8 or ctx.ndim != 3 or ctx.shape[0] != cl.shape[0]:
                raise InvalidArgumentError(
                    f"context code lengths must be a 3-D uint8 array [{cl.shape[0]}, NCTX, {cl.shape[1]}], "
                    f"got {ctx.dtype}{ctx.shape}")
            check_context_lengths(ctx, bits)
        if self.inter_freqs is not None:
            f = np.asarray(self.inter_freqs)
            if self.context_lengths is None:
                raise InvalidArgumentError("inter tables need context tables (entropy_mode 4 = context + inter)")
            if f.dtype != np.uint16:
                raise InvalidArgumentError(f"inter frequencies must be uint16, got {f.dtype}")
            check_inter_freqs(f, int(cl.shape[1]).bit_length() - 1)
        if cl.size and int(cl.max()) > MAX_CODE_LENGTH:
            raise InvalidArgumentError(f"code length {int(cl.max())} exceeds {MAX_CODE_LENGTH}")
        for c, row in enumerate(cl):
            used = row[row > 0].astype(np.int64)
            kraft = int(np.sum(np.left_shift(1, MAX_CODE_LENGTH - used)))
            if used.size and kraft > (1 << MAX_CODE_LENGTH):
                raise InvalidArgumentError(
                    f"channel {c} code lengths violate the Kraft inequality ({kraft} > 2^{MAX_CODE_LENGTH})")

    @cached_property
    def context_coders(self):
        """One refcodec.entropy.context.ContextCoder per channel (built once per model), or None."""
        if self.context_lengths is None:
            return None
        return context_coders(self.context_lengths, int(self.code_lengths.shape[1]).bit_length() - 1)

    @cached_property
    def inter_coder(self):
        """The refcodec.entropy.inter.InterCoder of the model (spec §6.7), or None."""
        if self.inter_freqs is None:
            return None
        return InterCoder(self.inter_freqs, int(self.code_lengths.shape[1]).bit_length() - 1)
