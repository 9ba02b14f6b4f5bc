"""Constants of the .mcuc container, named as in bitstream_spec/SPEC.md."""

from __future__ import annotations

MAGIC = b"MCUC"                 # spec §7.1 stream header, bytes 0..3 (both versions)
VERSION_1 = 1                   # spec §7 (v1 layout, still decoded)
VERSION_2 = 2                   # spec §7 (lean layout, what the encoder writes)
VERSION = VERSION_2             # the version refcodec writes (spec §12 version history)
VERSIONS = (VERSION_1, VERSION_2)

# version 1 (spec §7.1-§7.2 v1)
HEADER_SIZE_V1 = 68             # bytes, CRC included
PACKET_SYNC_V1 = b"MCFP"
PACKET_FIXED_SIZE_V1 = 14       # sync 4 + frame_index 4 + k 1 + flags 1 + crc 4 (no chunks)
CHUNK_ENTRY_SIZE_V1 = 4         # u8 mode + u24 length

# version 2 (spec §7.1-§7.2)
HEADER_BASE_SIZE_V2 = 25        # magic 4, version, flags, model_id 8, width 2, height 2, channels, bits,
                                # entropy_mode, header_crc 4 (no optional field)
MODEL_ID_SIZE_V2 = 8            # first 8 bytes of the SHA-256 model id
HEADER_FLAG_TIMING = 0x01       # fps_num u32, fps_den u32 follow
HEADER_FLAG_FRAME_COUNT = 0x02  # frame_count u32 follows
HEADER_FLAGS_KNOWN = HEADER_FLAG_TIMING | HEADER_FLAG_FRAME_COUNT
PACKET_SYNC_V2 = b"MF"
PACKET_MIN_SIZE_V2 = 8          # sync 2 + frame_index varint 1 + k 1 + crc 4 (k = 0, index < 128)
CHUNK_MODE_BITS_V2 = 2          # chunk table entry: varint(length << 2 | mode): room for 4 chunk modes
VARINT_MAX_BYTES = 5            # LEB128 of a value < 2^32

MAX_CHUNK_LENGTH = (1 << 24) - 1

STREAM_ENTROPY_RAW = 0          # every chunk is CHUNK_RAW
STREAM_ENTROPY_HUFFMAN = 1      # chunks are CHUNK_RAW or CHUNK_HUFFMAN
STREAM_ENTROPY_CTX = 2          # chunks are CHUNK_RAW or CHUNK_CTX_HUFFMAN (spec 1.2, §6.6)
STREAM_ENTROPY_INTER = 4        # chunks are CHUNK_RAW, CHUNK_CTX_HUFFMAN or CHUNK_INTER (spec 2.2, §6.7); 3 stays
                                # reserved: vectors/invalid/11-entropy-mode-3.mcuc keeps its E_HEADER
ENTROPY_NAMES = {STREAM_ENTROPY_RAW: "raw", STREAM_ENTROPY_HUFFMAN: "huffman", STREAM_ENTROPY_CTX: "ctx",
                 STREAM_ENTROPY_INTER: "inter"}

CHUNK_RAW = 0
CHUNK_HUFFMAN = 1
CHUNK_CTX_HUFFMAN = 2
CHUNK_INTER = 3                 # range coded against the previous frame (spec 2.2, §6.7)
CHUNK_MODE_NAMES = {CHUNK_RAW: "raw", CHUNK_HUFFMAN: "huffman", CHUNK_CTX_HUFFMAN: "ctx", CHUNK_INTER: "inter"}
CODED_CHUNK_MODE = {STREAM_ENTROPY_HUFFMAN: CHUNK_HUFFMAN, STREAM_ENTROPY_CTX: CHUNK_CTX_HUFFMAN,
                    STREAM_ENTROPY_INTER: CHUNK_CTX_HUFFMAN}
"""The intra entropy-coded chunk mode each stream entropy mode allows besides CHUNK_RAW (spec §6.4)."""
ALLOWED_CHUNK_MODES = {STREAM_ENTROPY_RAW: (CHUNK_RAW,), STREAM_ENTROPY_HUFFMAN: (CHUNK_RAW, CHUNK_HUFFMAN),
                       STREAM_ENTROPY_CTX: (CHUNK_RAW, CHUNK_CTX_HUFFMAN),
                       STREAM_ENTROPY_INTER: (CHUNK_RAW, CHUNK_CTX_HUFFMAN, CHUNK_INTER)}
"""Chunk modes a stream of each entropy_mode may hold (spec §7.2); any other is E_PACKET."""

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


def max_inter_chunk_length(n_symbols: int) -> int:
    """Upper bound of an inter chunk (spec §6.7.4): each symbol narrows the range by at most 12 bits, plus the
    4 bytes of the decoder's initial window: ceil(n_symbols * 12 / 8) + 4."""
    return (n_symbols * 12 + 7) // 8 + 4


def packet_sync(version: int) -> bytes:
    """The frame packet sync bytes of a stream version."""
    return PACKET_SYNC_V1 if version == VERSION_1 else PACKET_SYNC_V2


def min_packet_size(version: int) -> int:
    """Bytes of the smallest legal packet (k = 0; v2: frame_index < 128)."""
    return PACKET_FIXED_SIZE_V1 if version == VERSION_1 else PACKET_MIN_SIZE_V2
