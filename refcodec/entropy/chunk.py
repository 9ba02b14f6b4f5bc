"""Coding one channel of one frame into a chunk (spec §6), and back.

Reference encoder rule (spec §6.4), which conformance vectors follow: a chunk is Huffman-coded
when the stream's entropy mode is huffman, every symbol has a non-zero code length, and the
Huffman bytes are strictly fewer than the raw bytes; otherwise it is raw.
"""

from __future__ import annotations

import numpy as np

from refcodec.bitstream.container import Chunk
from refcodec.bitstream.format import CHUNK_HUFFMAN, CHUNK_RAW, raw_chunk_length
from refcodec.entropy.huffman import huffman_coded_bits, huffman_decode, huffman_encode
from refcodec.entropy.raw import raw_pack, raw_unpack
from refcodec.errors import BitstreamError


def encode_channel(symbols: np.ndarray, bits: int, code_lengths: np.ndarray | None) -> Chunk:
    """symbols uint8 [h, w] (raster order) of one channel -> Chunk. code_lengths uint8 [2^bits]
    for Huffman, None for a raw stream."""
    sym = np.asarray(symbols).ravel()
    raw_len = raw_chunk_length(sym.size, bits)
    if code_lengths is not None and np.any(np.asarray(code_lengths)):  # all-zero table: raw (spec §6.4)
        nbits = huffman_coded_bits(sym, code_lengths)
        if nbits is not None and (nbits + 7) // 8 < raw_len:
            data = huffman_encode(sym, code_lengths)
            assert data is not None and len(data) == (nbits + 7) // 8
            return Chunk(CHUNK_HUFFMAN, data)
    return Chunk(CHUNK_RAW, raw_pack(sym, bits))


def decode_channel(chunk: Chunk, bits: int, n: int, code_lengths: np.ndarray | None) -> np.ndarray:
    """Chunk -> symbols uint8 [n] in raster order (BitstreamError on any inconsistency)."""
    if chunk.mode == CHUNK_RAW:
        return raw_unpack(chunk.data, bits, n)
    if chunk.mode == CHUNK_HUFFMAN:
        if code_lengths is None:
            raise BitstreamError("huffman chunk but no entropy tables (the model has none)", "E_CHUNK")
        if not np.any(np.asarray(code_lengths)):
            raise BitstreamError("huffman chunk for a channel whose code table is empty", "E_CHUNK")
        sym = huffman_decode(chunk.data, code_lengths, n)
        if sym.size and int(sym.max()) >= (1 << bits):
            raise BitstreamError(f"decoded symbol {int(sym.max())} does not fit in {bits} bits", "E_CHUNK")
        return sym
    raise BitstreamError(f"unknown chunk mode {chunk.mode}", "E_PACKET")
