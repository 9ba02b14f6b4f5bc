"""Machine-readable description of the MCUC container, versions 2 and 1 (SPEC.md §7 and §7-v1), as declarative
`construct` (https://construct.readthedocs.io) definitions.

Independent of refcodec's code on purpose: it is written from SPEC.md alone and used to check that
every stream refcodec's tests produce follows the written spec. Entropy-coded chunk contents (§6)
are opaque bytes here; only their lengths are checked (raw: exactly ceil(n*b/8); Huffman and context
Huffman: 1..ceil(n*15/8)); `mcuc_chunks.py` decodes them (check_stream.py --model).

    from mcuc_construct import parse
    parsed = parse(data)      # the version byte (offset 4) picks MCUCStreamV2 or MCUCStreamV1;
                              # raises construct.ConstructError on any violation
"""

from __future__ import annotations

import zlib

from construct import (
    Array,
    Bytes,
    Check,
    Checksum,
    Computed,
    Const,
    ConstructError,
    GreedyRange,
    If,
    Int8ul,
    Int16ul,
    Int24ul,
    Int32ul,
    RawCopy,
    Struct,
    Terminated,
    VarInt,
    this,
)


def _crc32(data: bytes) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


def _hdr(ctx):
    """The stream header's fields, seen from anywhere inside a packet (construct's `_root` context)."""
    return ctx._root.header.body.value


def _entry_ok(ctx) -> bool:
    """Chunk table entry rules of §7.2 (both versions; ctx: the entry, with mode and length)."""
    h = _hdr(ctx)
    n = h.latent_width * h.latent_height
    if ctx.length >= (1 << 24):  # §10.1: a chunk holds at most 2^24 - 1 bytes
        return False
    if ctx.mode == 0:
        return ctx.length == (n * h.bits + 7) // 8
    if ctx.mode == 1:  # CHUNK_HUFFMAN only in a huffman stream
        return h.entropy_mode == 1 and 1 <= ctx.length <= (n * 15 + 7) // 8
    if ctx.mode == 2:  # CHUNK_CTX_HUFFMAN in a ctx or an inter stream (spec 2.2)
        return h.entropy_mode in (2, 4) and 1 <= ctx.length <= (n * 15 + 7) // 8
    # CHUNK_INTER (§6.7, spec 2.2) only in an inter stream, 0 .. ceil(n * 12 / 8) + 4 bytes
    return h.entropy_mode == 4 and ctx.length <= (n * 12 + 7) // 8 + 4


def _common_header_checks():
    return [
        Check(this.width >= 1),
        Check(this.height >= 1),
        Check(this.channels >= 1),
        Check((this.bits >= 1) & (this.bits <= 8)),
        # raw, huffman, ctx; inter (4, spec 2.2) in version 2 only; 3 reserved
        Check((this.entropy_mode <= 2) | ((this.entropy_mode == 4) & (this.version == 2))),
        Check((this.latent_width * this.latent_height * this.bits + 7) // 8 < (1 << 24)),
    ]


# --- version 2 (§7.1, §7.2) -------------------------------------------------------------------------------

# Unsigned LEB128, canonical (the shortest form: what VarInt builds for the value), at most 5 bytes, < 2^32.
CanonicalVarInt = Struct(
    "raw" / RawCopy(VarInt),
    Check(lambda c: len(c.raw.data) <= 5 and c.raw.value < (1 << 32) and VarInt.build(c.raw.value) == c.raw.data),
    "value" / Computed(this.raw.value),
)

HeaderBodyV2 = Struct(
    "magic" / Const(b"MCUC"),
    "version" / Const(2, Int8ul),
    "flags" / Int8ul,                 # bit 0: timing present, bit 1: frame_count present
    Check(lambda c: (c.flags & ~0x03) == 0),
    "model_id" / Bytes(8),
    "width" / Int16ul,
    "height" / Int16ul,
    "channels" / Int8ul,
    "bits" / Int8ul,
    "entropy_mode" / Int8ul,
    "fps_num" / If(lambda c: c.flags & 0x01, Int32ul),
    "fps_den" / If(lambda c: c.flags & 0x01, Int32ul),
    "frame_count" / If(lambda c: c.flags & 0x02, Int32ul),
    Check(lambda c: not c.flags & 0x01 or (c.fps_num >= 1 and c.fps_den >= 1)),
    Check(lambda c: not c.flags & 0x02 or c.frame_count >= 1),
    "latent_width" / Computed((this.width + 7) // 8),
    "latent_height" / Computed((this.height + 7) // 8),
    *_common_header_checks(),
)

ChunkEntryV2 = Struct(
    "entry" / CanonicalVarInt,        # length << 2 | mode
    "mode" / Computed(this.entry.value & 3),  # 0 raw, 1 huffman, 2 context huffman, 3 inter (spec 2.2)
    "length" / Computed(this.entry.value >> 2),
    Check(_entry_ok),
)

PacketBodyV2 = Struct(
    "sync" / Const(b"MF"),
    "index" / CanonicalVarInt,
    "frame_index" / Computed(this.index.value),
    "k" / Int8ul,
    Check(lambda ctx: ctx.k <= _hdr(ctx).channels),
    "table" / Array(this.k, ChunkEntryV2),
    "chunks" / Array(this.k, Bytes(lambda ctx: ctx.table[ctx._index].length)),
)

MCUCStreamV2 = Struct(
    "header" / Struct("body" / RawCopy(HeaderBodyV2), "header_crc" / Checksum(Int32ul, _crc32, this.body.data)),
    "packets" / GreedyRange(Struct("body" / RawCopy(PacketBodyV2), "crc" / Checksum(Int32ul, _crc32, this.body.data))),
    Terminated,  # bytes left that are not a whole valid packet: a cut or corrupt stream
)


# --- version 1 (§7-v1) ------------------------------------------------------------------------------------

HeaderBodyV1 = Struct(
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
    Check(this.latent_width == (this.width + 7) // 8),
    Check(this.latent_height == (this.height + 7) // 8),
    Check(this.fps_num >= 1),
    Check(this.fps_den >= 1),
    *_common_header_checks(),
)

ChunkEntryV1 = Struct(
    "mode" / Int8ul,      # 0 = CHUNK_RAW, 1 = CHUNK_HUFFMAN, 2 = CHUNK_CTX_HUFFMAN
    "length" / Int24ul,   # bytes
    Check(_entry_ok),
)

PacketBodyV1 = Struct(
    "sync" / Const(b"MCFP"),
    "frame_index" / Int32ul,
    "k" / Int8ul,
    "flags" / Const(0, Int8ul),
    Check(lambda ctx: ctx.k <= _hdr(ctx).channels),
    "table" / Array(this.k, ChunkEntryV1),
    "chunks" / Array(this.k, Bytes(lambda ctx: ctx.table[ctx._index].length)),
)

MCUCStreamV1 = Struct(
    "header" / Struct("body" / RawCopy(HeaderBodyV1), "header_crc" / Checksum(Int32ul, _crc32, this.body.data)),
    "packets" / GreedyRange(Struct("body" / RawCopy(PacketBodyV1), "crc" / Checksum(Int32ul, _crc32, this.body.data))),
    Terminated,
)


def parse(data: bytes):
    """Parse a whole stream; the version byte at offset 4 selects the layout (§7.1)."""
    if len(data) < 5:
        raise ConstructError(f"{len(data)} bytes: too short for magic and version")
    grammar = {1: MCUCStreamV1, 2: MCUCStreamV2}.get(data[4])
    if grammar is None:
        raise ConstructError(f"unknown version {data[4]}")
    return grammar.parse(data)
