"""Machine-readable description of the MCUC container, version 1 (SPEC.md §7), as a declarative
`construct` (https://construct.readthedocs.io) definition.

Independent of refcodec's code on purpose: it is written from SPEC.md alone and used to check that
every stream refcodec's tests produce follows the written spec. Entropy-coded chunk contents (§6)
are opaque bytes here; only their lengths are checked (raw: exactly ceil(n*b/8); Huffman and context
Huffman: 1..ceil(n*15/8)); `mcuc_chunks.py` decodes them (check_stream.py --model).

    from mcuc_construct import MCUCStream
    parsed = MCUCStream.parse(data)      # raises construct.ConstructError on any violation
"""

from __future__ import annotations

import zlib

from construct import (
    Array,
    Bytes,
    Check,
    Checksum,
    Const,
    GreedyRange,
    Int8ul,
    Int16ul,
    Int24ul,
    Int32ul,
    RawCopy,
    Struct,
    Terminated,
    this,
)


def _crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


HeaderBody = Struct(
    "magic" / Const(b"MCUC"),
    "version" / Const(1, Int8ul),
    "flags" / Const(0, Int8ul),
    "header_size" / Const(68, Int16ul),
    "model_id" / Bytes(32),
    "width" / Int16ul,
    "height" / Int16ul,
    "latent_width" / Int16ul,
    "latent_height" / Int16ul,
    "channels" / Int8ul,
    "bits" / Int8ul,
    "entropy_mode" / Int8ul,
    "reserved" / Const(0, Int8ul),
    "fps_num" / Int32ul,
    "fps_den" / Int32ul,
    "frame_count" / Int32ul,
    Check(this.width >= 1),
    Check(this.height >= 1),
    Check(this.latent_width == (this.width + 7) // 8),
    Check(this.latent_height == (this.height + 7) // 8),
    Check(this.channels >= 1),
    Check((this.bits >= 1) & (this.bits <= 8)),
    Check((this.entropy_mode == 0) | (this.entropy_mode == 1) | (this.entropy_mode == 2)),  # raw, huffman, ctx
    Check(this.fps_num >= 1),
    Check(this.fps_den >= 1),
    Check((this.latent_width * this.latent_height * this.bits + 7) // 8 < (1 << 24)),
)

StreamHeader = Struct(
    "body" / RawCopy(HeaderBody),
    "header_crc" / Checksum(Int32ul, _crc32, this.body.data),
)


def _hdr(ctx):
    """The stream header's fields, seen from anywhere inside a packet (construct's `_root` context)."""
    return ctx._root.header.body.value


def _entry_ok(ctx) -> bool:
    """Chunk table entry rules of §7.2 (ctx: the ChunkEntry, ctx._: the packet body)."""
    h = _hdr(ctx)
    n = h.latent_width * h.latent_height
    if ctx.mode == 0:
        return ctx.length == (n * h.bits + 7) // 8
    if ctx.mode in (1, 2):  # CHUNK_HUFFMAN only in a huffman stream, CHUNK_CTX_HUFFMAN only in a ctx stream
        return h.entropy_mode == ctx.mode and 1 <= ctx.length <= (n * 15 + 7) // 8
    return False


ChunkEntry = Struct(
    "mode" / Int8ul,      # 0 = CHUNK_RAW, 1 = CHUNK_HUFFMAN, 2 = CHUNK_CTX_HUFFMAN
    "length" / Int24ul,   # bytes
    Check(_entry_ok),
)

PacketBody = Struct(
    "sync" / Const(b"MCFP"),
    "frame_index" / Int32ul,
    "k" / Int8ul,
    "flags" / Const(0, Int8ul),
    Check(lambda ctx: ctx.k <= _hdr(ctx).channels),
    "table" / Array(this.k, ChunkEntry),
    "chunks" / Array(this.k, Bytes(lambda ctx: ctx.table[ctx._index].length)),
)

FramePacket = Struct(
    "body" / RawCopy(PacketBody),
    "crc" / Checksum(Int32ul, _crc32, this.body.data),
)

MCUCStream = Struct(
    "header" / StreamHeader,
    "packets" / GreedyRange(FramePacket),
    Terminated,  # bytes left that are not a whole valid packet: a cut or corrupt stream
)
