"""Lenient splitting of a firmware's container version 2 stream into fields (spec §7.1, §7.2) for
`refcodec verify`: no CRC or legality checks, so a wrong stream can be compared field by field with the
reference. Anything that does not fit gives None."""

from __future__ import annotations

import struct

from refcodec.bitstream.format import (
    CHUNK_MODE_BITS_V2,
    HEADER_FLAG_FRAME_COUNT,
    HEADER_FLAG_TIMING,
)
from refcodec.bitstream.header import HEADER_STRUCT_V2, header_size_v2
from refcodec.bitstream.varint import read_uvarint_lenient

HEADER_FIELDS = ("magic", "version", "flags", "model_id", "width", "height", "channels", "bits", "entropy_mode",
                 "fps_num", "fps_den", "frame_count")


def header_fields(data: bytes) -> dict[str, object] | None:
    """The v2 header fields of `data` (fps_num, fps_den, frame_count None when their flag is clear), its
    "size" and "header_crc"; None when `data` is shorter than the header its flags announce."""
    if len(data) < HEADER_STRUCT_V2.size:
        return None
    size = header_size_v2(data[5])
    if len(data) < size:
        return None
    fields: dict[str, object] = dict(zip(HEADER_FIELDS, HEADER_STRUCT_V2.unpack_from(data, 0)))
    pos = HEADER_STRUCT_V2.size
    fields["fps_num"] = fields["fps_den"] = fields["frame_count"] = None
    if data[5] & HEADER_FLAG_TIMING:
        fields["fps_num"], fields["fps_den"] = struct.unpack_from("<II", data, pos)
        pos += 8
    if data[5] & HEADER_FLAG_FRAME_COUNT:
        (fields["frame_count"],) = struct.unpack_from("<I", data, pos)
    fields["size"] = size
    fields["header_crc"] = struct.unpack_from("<I", data, size - 4)[0]
    return fields


def split_packet(data: bytes, pos: int) -> dict | None:
    """The v2 packet at `pos` split into sync, frame_index, k, modes, chunks, crc (no checks)."""
    start = pos
    if len(data) - pos < 4:
        return None
    sync = data[pos:pos + 2]
    got = read_uvarint_lenient(data, pos + 2)
    if got is None or got[1] >= len(data):
        return None
    index, pos = got
    k = data[pos]
    pos += 1
    modes, lengths = [], []
    for _ in range(k):
        got = read_uvarint_lenient(data, pos)
        if got is None:
            return None
        value, pos = got
        modes.append(value & ((1 << CHUNK_MODE_BITS_V2) - 1))
        lengths.append(value >> CHUNK_MODE_BITS_V2)
    end = pos + sum(lengths)
    if end + 4 > len(data):
        return None
    chunks = []
    for n in lengths:
        chunks.append(data[pos:pos + n])
        pos += n
    return {"sync": sync, "frame_index": index, "k": k, "modes": modes, "chunks": chunks,
            "start": start, "crc_at": end, "crc": struct.unpack_from("<I", data, end)[0], "end": end + 4}
