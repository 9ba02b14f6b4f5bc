"""Coding one channel of one frame into a chunk (spec §6), and back.

Reference encoder rule (spec §6.4), which conformance vectors follow: a chunk is entropy-coded (Huffman
in a huffman stream, context Huffman in a ctx stream) when every symbol has a non-zero code length (in
its context) and the coded bytes are strictly fewer than the raw bytes; otherwise it is raw.
"""

from __future__ import annotations

import numpy as np

from refcodec.bitstream.container import Chunk
from refcodec.bitstream.format import (CHUNK_CTX_HUFFMAN, CHUNK_HUFFMAN, CHUNK_INTER, CHUNK_MODE_NAMES, CHUNK_RAW,
                                       raw_chunk_length)
from refcodec.entropy.context import ContextCoder
from refcodec.entropy.huffman import huffman_coded_bits, huffman_decode, huffman_encode
from refcodec.entropy.inter import InterCoder
from refcodec.entropy.raw import raw_pack, raw_unpack
from refcodec.errors import BitstreamError


def encode_channel(symbols: np.ndarray, bits: int, code_lengths: np.ndarray | None,
                   context: ContextCoder | None = None) -> Chunk:
    """symbols uint8 [h, w] (raster order) of one channel -> Chunk. context: the channel's ContextCoder
    for a ctx stream (entropy_mode 2); else code_lengths uint8 [2^bits] for a huffman stream; both None
    for a raw stream."""
    sym = np.asarray(symbols)
    raw_len = raw_chunk_length(sym.size, bits)
    if context is not None:
        if not context.empty:  # all-zero tables: raw (spec §6.4)
            nbits = context.coded_bits(sym)
            if nbits is not None and (nbits + 7) // 8 < raw_len:
                data = context.encode(sym)
                assert data is not None and len(data) == (nbits + 7) // 8
                return Chunk(CHUNK_CTX_HUFFMAN, data)
    elif code_lengths is not None and np.any(np.asarray(code_lengths)):  # all-zero table: raw (spec §6.4)
        nbits = huffman_coded_bits(sym, code_lengths)
        if nbits is not None and (nbits + 7) // 8 < raw_len:
            data = huffman_encode(sym, code_lengths)
            assert data is not None and len(data) == (nbits + 7) // 8
            return Chunk(CHUNK_HUFFMAN, data)
    return Chunk(CHUNK_RAW, raw_pack(sym.ravel(), bits))


def decode_channel(chunk: Chunk, bits: int, n: int, code_lengths: np.ndarray | None,
                   context: ContextCoder | None = None, width: int | None = None, inter: InterCoder | None = None,
                   reference: np.ndarray | None = None) -> np.ndarray:
    """Chunk -> symbols uint8 [n] in raster order (BitstreamError on any inconsistency). A context chunk
    needs the channel's ContextCoder and the latent `width` (n = width * height); an inter chunk the model's
    InterCoder and `reference`, the same channel's symbols [h, w] in the previous frame (E_REFERENCE without
    it: which frame that is, and whether it carried the channel, the caller decides, spec §6.7.5)."""
    if chunk.mode == CHUNK_RAW:
        return raw_unpack(chunk.data, bits, n)
    if chunk.mode == CHUNK_HUFFMAN:
        if code_lengths is None:
            raise BitstreamError("huffman chunk but no entropy tables (the model has none)", "E_CHUNK")
        if not np.any(np.asarray(code_lengths)):
            raise BitstreamError("huffman chunk for a channel whose code table is empty", "E_CHUNK")
        _check_min_length(chunk, n)
        sym = huffman_decode(chunk.data, code_lengths, n)
        if sym.size and int(sym.max()) >= (1 << bits):
            raise BitstreamError(f"decoded symbol {int(sym.max())} does not fit in {bits} bits", "E_CHUNK")
        return sym
    if chunk.mode == CHUNK_CTX_HUFFMAN:
        if context is None:
            raise BitstreamError("context chunk but no context tables (the model has none)", "E_CHUNK")
        if context.empty:
            raise BitstreamError("context chunk for a channel whose context tables are empty", "E_CHUNK")
        if width is None or width < 1 or n % width:
            raise BitstreamError(f"context chunk needs the latent width (n = {n}, width {width})", "E_CHUNK")
        _check_min_length(chunk, n)
        return context.decode(chunk.data, n // width, width)
    if chunk.mode == CHUNK_INTER:
        if reference is None:
            raise BitstreamError("inter chunk without its reference (the previous frame's channel)", "E_REFERENCE")
        if inter is None:
            raise BitstreamError("inter chunk but no inter tables (the model has none)", "E_CHUNK")
        if reference.size != n:
            raise BitstreamError(f"inter chunk: reference of {reference.size} symbols for {n}", "E_CHUNK")
        return inter.decode(chunk.data, reference)
    raise BitstreamError(f"unknown chunk mode {chunk.mode}", "E_PACKET")


def _check_min_length(chunk: Chunk, n: int) -> None:
    """Every code is at least 1 bit: a coded chunk of fewer than n bits runs past its end (E_CHUNK, spec §6.2).
    Checked before the decoder allocates its n-symbol output, so that memory is bounded by the chunk's bytes
    (spec §10.2)."""
    if len(chunk.data) * 8 < n:
        raise BitstreamError(f"{CHUNK_MODE_NAMES[chunk.mode]} chunk of {len(chunk.data)} bytes ends before all "
                             f"{n} symbols are decoded (every code is at least 1 bit)", "E_CHUNK")
