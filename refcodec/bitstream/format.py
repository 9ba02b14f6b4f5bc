"""Constants of the .mcuc container, named as in bitstream_spec/SPEC.md."""

from __future__ import annotations

MAGIC = b"MCUC"                 # spec §7.1 stream header, bytes 0..3
VERSION = 1                     # spec §12 version history
HEADER_SIZE = 68                # bytes, CRC included
PACKET_SYNC = b"MCFP"           # spec §7.2 frame packet, bytes 0..3
PACKET_FIXED_SIZE = 14          # sync 4 + frame_index 4 + k 1 + flags 1 + crc 4 (no chunks)
CHUNK_ENTRY_SIZE = 4            # u8 mode + u24 length
MAX_CHUNK_LENGTH = (1 << 24) - 1

STREAM_ENTROPY_RAW = 0          # every chunk is CHUNK_RAW
STREAM_ENTROPY_HUFFMAN = 1      # chunks are CHUNK_RAW or CHUNK_HUFFMAN
STREAM_ENTROPY_CTX = 2          # chunks are CHUNK_RAW or CHUNK_CTX_HUFFMAN (spec 1.2, §6.6)
ENTROPY_NAMES = {STREAM_ENTROPY_RAW: "raw", STREAM_ENTROPY_HUFFMAN: "huffman", STREAM_ENTROPY_CTX: "ctx"}

CHUNK_RAW = 0
CHUNK_HUFFMAN = 1
CHUNK_CTX_HUFFMAN = 2
CHUNK_MODE_NAMES = {CHUNK_RAW: "raw", CHUNK_HUFFMAN: "huffman", CHUNK_CTX_HUFFMAN: "ctx"}
CODED_CHUNK_MODE = {STREAM_ENTROPY_HUFFMAN: CHUNK_HUFFMAN, STREAM_ENTROPY_CTX: CHUNK_CTX_HUFFMAN}
"""The one entropy-coded chunk mode each stream entropy mode allows besides CHUNK_RAW (spec §6.4)."""

PAD_MULTIPLE = 8                # frame prep: pad width/height to a multiple of 8 (spec §3.1)
MAX_CODE_LENGTH = 15            # Huffman code lengths are in [0, 15] (spec §6.2)
MAX_BITS = 8
CTX_MAX_BUCKETS = 16            # context Huffman: at most 16 neighbour buckets (spec §6.6)

# Implementation limits of refcodec (spec §10.2), checked before anything is allocated.
IMPL_MAX_DIMENSION = 8192       # width and height
IMPL_MAX_CHANNELS = 64


def latent_size(width: int, height: int) -> tuple[int, int]:
    """(latent_width, latent_height) = (ceil(width / 8), ceil(height / 8))."""
    return (width + PAD_MULTIPLE - 1) // PAD_MULTIPLE, (height + PAD_MULTIPLE - 1) // PAD_MULTIPLE


def raw_chunk_length(n_symbols: int, bits: int) -> int:
    """Bytes of a raw chunk: ceil(n_symbols * bits / 8)."""
    return (n_symbols * bits + 7) // 8


def max_huffman_chunk_length(n_symbols: int) -> int:
    """Upper bound of a Huffman chunk: ceil(n_symbols * MAX_CODE_LENGTH / 8)."""
    return (n_symbols * MAX_CODE_LENGTH + 7) // 8
