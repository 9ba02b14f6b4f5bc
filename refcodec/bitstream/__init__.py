"""The .mcuc container (bitstream_spec/SPEC.md): header, frame packets, CRC-32, parse, truncate."""

from refcodec.bitstream.container import (
    Chunk,
    FramePacket,
    ParsedStream,
    parse_packet,
    parse_stream,
    serialize_stream,
)
from refcodec.bitstream.crc import crc32
from refcodec.bitstream.header import StreamHeader
from refcodec.bitstream.truncate import truncate_stream

__all__ = [
    "Chunk",
    "FramePacket",
    "ParsedStream",
    "StreamHeader",
    "crc32",
    "parse_packet",
    "parse_stream",
    "serialize_stream",
    "truncate_stream",
]
