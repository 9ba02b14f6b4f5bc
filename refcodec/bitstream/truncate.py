"""Progressive truncation (spec §9): keep a prefix of each frame's channels without re-encoding.

This is what an MCU's bitrate gate does: chunks are in importance order, so dropping trailing
chunks and recomputing the packet's k and CRC gives a valid stream. The stream header is unchanged.
"""

from __future__ import annotations

from refcodec.bitstream.container import FramePacket, parse_stream, serialize_stream
from refcodec.bitstream.format import CHUNK_ENTRY_SIZE, PACKET_FIXED_SIZE
from refcodec.errors import InvalidArgumentError


def prefix_fitting_budget(packet: FramePacket, budget_bytes: int) -> int:
    """Largest k' <= packet.k whose packet (14 + 4k' + chunk bytes) fits in `budget_bytes`."""
    size = PACKET_FIXED_SIZE
    kept = 0
    for c in packet.chunks:
        size += CHUNK_ENTRY_SIZE + len(c.data)
        if size > budget_bytes:
            break
        kept += 1
    return kept


def truncate_stream(data: bytes, channels: int | None = None, frame_budget_bytes: int | None = None) -> bytes:
    """Drop trailing channels of every frame packet.

    channels: keep at most this many channels per frame (0..C).
    frame_budget_bytes: keep the largest channel prefix whose whole packet fits this many bytes
    (>= 14, the size of a packet with no channel). Both may be given; the smaller prefix wins.
    The input must be a valid stream (parsed strictly); raises BitstreamError otherwise.
    """
    if channels is None and frame_budget_bytes is None:
        raise InvalidArgumentError("truncate needs channels or frame_budget_bytes")
    parsed = parse_stream(data)
    if channels is not None and not 0 <= channels <= parsed.header.channels:
        raise InvalidArgumentError(f"channels {channels} outside [0, {parsed.header.channels}]")
    if frame_budget_bytes is not None and frame_budget_bytes < PACKET_FIXED_SIZE:
        raise InvalidArgumentError(
            f"frame budget {frame_budget_bytes} bytes is below the {PACKET_FIXED_SIZE}-byte packet minimum"
        )
    out = []
    for p in parsed.packets:
        k = p.k if channels is None else min(p.k, channels)
        if frame_budget_bytes is not None:
            k = min(k, prefix_fitting_budget(p, frame_budget_bytes))
        out.append(FramePacket(p.frame_index, p.chunks[:k]))
    return serialize_stream(parsed.header, out)
