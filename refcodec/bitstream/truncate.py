"""Progressive truncation (spec §9): keep a prefix of each frame's channels without re-encoding.

This is what an MCU's bitrate gate does: chunks are in importance order, so dropping trailing
chunks and rewriting the packet's k, chunk table and CRC gives a valid stream. The stream header is
unchanged, so the output is in the container version of the input (a v1 stream stays v1).
"""

from __future__ import annotations

from refcodec.bitstream.container import FramePacket, parse_stream, serialize_stream
from refcodec.bitstream.format import CHUNK_INTER, min_packet_size
from refcodec.errors import InvalidArgumentError


def prefix_fitting_budget(packet: FramePacket, budget_bytes: int) -> int:
    """Largest k' <= packet.k whose packet (fixed size + per chunk its table entry and data) fits in
    `budget_bytes`; 0 when not even the empty packet fits (a frame always keeps its packet)."""
    size = packet.fixed_size
    kept = 0
    for c in packet.chunks:
        size += c.entry_size(packet.version) + len(c.data)
        if size > budget_bytes:
            break
        kept += 1
    return kept


def truncate_stream(data: bytes, channels: int | None = None, frame_budget_bytes: int | None = None) -> bytes:
    """Drop trailing channels of every frame packet.

    channels: keep at most this many channels per frame (0..C).
    frame_budget_bytes: keep the largest channel prefix whose whole packet fits this many bytes
    (at least the smallest packet of the stream's version: 8 bytes in v2, 14 in v1). Both may be given;
    the smaller prefix wins. In an inter stream (spec §6.7) a frame also keeps no inter chunk whose reference was
    dropped: k'_n = min(budget k, smallest c >= k'_{n-1} whose chunk is inter) (spec §9), so the output stays
    valid without re-encoding. The input must be a valid stream (parsed strictly); raises BitstreamError otherwise.
    """
    if channels is None and frame_budget_bytes is None:
        raise InvalidArgumentError("truncate needs channels or frame_budget_bytes")
    parsed = parse_stream(data)
    if channels is not None and not 0 <= channels <= parsed.header.channels:
        raise InvalidArgumentError(f"channels {channels} outside [0, {parsed.header.channels}]")
    minimum = min_packet_size(parsed.header.version)
    if frame_budget_bytes is not None and frame_budget_bytes < minimum:
        raise InvalidArgumentError(
            f"frame budget {frame_budget_bytes} bytes is below the {minimum}-byte packet minimum "
            f"(container version {parsed.header.version})"
        )
    out = []
    prev_index, prev_k = None, 0
    for p in parsed.packets:
        k = p.k if channels is None else min(p.k, channels)
        if frame_budget_bytes is not None:
            k = min(k, prefix_fitting_budget(p, frame_budget_bytes))
        k = min(k, inter_limit(p, prev_k if prev_index == p.frame_index - 1 else 0))
        out.append(p.prefix(k))
        prev_index, prev_k = p.frame_index, k
    return serialize_stream(parsed.header, out)


def inter_limit(packet: FramePacket, prev_k: int) -> int:
    """Spec §9: the smallest c >= prev_k whose chunk is inter (its reference, channel c of the previous frame, was
    dropped, so it and every later chunk must go), else packet.k. prev_k: channels kept in frame_index - 1
    (0 when that frame is not the packet before)."""
    for c in range(prev_k, packet.k):
        if packet.chunks[c].mode == CHUNK_INTER:
            return c
    return packet.k
