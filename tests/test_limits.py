"""Spec §10.2: a decoder's memory and time are bounded by the stream's size and the frames it decodes.

Memory is measured with tracemalloc (peak of Python and NumPy allocations during the call), work as the bytes
run through zlib's CRC and as a CPU-time ratio against a peer run in the same test (a strict parse of a valid
stream of the same size and about the same number of packets), never as wall time.
"""

from __future__ import annotations

import time
import tracemalloc
import zlib

import pytest

from refcodec.bitstream import FramePacket, StreamHeader, parse_stream
from refcodec.bitstream.crc import SpanCrc, crc32_combine
from refcodec.bitstream.lost import format_lost, lost_count
from refcodec.codec import decode_symbols
from refcodec.fuzz import hostile_resync_stream, small_packet_stream

BIG = (8192, 8192)  # IMPL_MAX_DIMENSION: 1024 x 1024 latent, 12 MiB of symbols per frame at C = 12


def _peak(fn):
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_empty_packets_cost_no_memory_per_frame():
    """200 packets with k = 0 at 8192 x 8192 (about 1.7 KB of stream): before, 12 MiB per packet."""
    header = StreamHeader(bytes(8), *BIG, 12, 4, 0)
    data = header.pack() + b"".join(FramePacket(i, ()).pack() for i in range(200))
    ds, peak = _peak(lambda: decode_symbols(data))
    assert len(ds.symbols) == 200 and ds.symbols[7].shape == (1024, 1024, 12) and not ds.symbols[7].any()
    assert peak < 64 * len(data) + (1 << 20), peak


def test_short_coded_chunk_rejected_before_allocating():
    """A 1-byte Huffman chunk for 2^20 symbols cannot decode (every code is >= 1 bit): E_CHUNK before the
    decoder allocates its output."""
    from refcodec.bitstream import Chunk
    from refcodec.entropy.chunk import decode_channel
    from refcodec.errors import BitstreamError
    import numpy as np

    lengths = np.array([1, 1] + [0] * 14, np.uint8)
    tracemalloc.start()
    try:
        with pytest.raises(BitstreamError, match="ends before") as info:
            decode_channel(Chunk(1, b"\x00"), 4, 1 << 20, lengths)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert info.value.code == "E_CHUNK" and peak < 1 << 20, peak


def test_lost_frames_are_ranges():
    """A frame index jump of 2^22 in a 44-byte stream: before, a list of 4 million ints."""
    header = StreamHeader(bytes(8), 8, 8, 12, 4, 0)
    data = header.pack() + FramePacket(0, ()).pack() + FramePacket(1 << 22, ()).pack()
    assert len(data) == 44  # 25-byte header, 8-byte packet 0, 11-byte packet 2^22 (4-byte varint)
    parsed, peak = _peak(lambda: parse_stream(data, keep_going=True))
    assert parsed.lost == [[1, (1 << 22) - 1]] and lost_count(parsed.lost) == (1 << 22) - 1
    assert peak < 1 << 20, peak
    assert format_lost(parsed.lost) == f"[1-{(1 << 22) - 1}] ({(1 << 22) - 1} frames)"
    # missing at the end up to frame_count 2^32 - 1: one range
    counted = StreamHeader(bytes(8), 8, 8, 12, 4, 0, frame_count=0xFFFFFFFF)
    parsed = parse_stream(counted.pack() + FramePacket(0, ()).pack(), keep_going=True)
    assert parsed.lost == [[1, 0xFFFFFFFE]]


def test_keep_going_resync_is_linear(monkeypatch):
    """Keep-going over 1 MiB of hostile packet starts: CRC work linear in the stream size and CPU time within
    a small factor of a strict parse of a valid stream of as many bytes (before: every false start hashed and
    copied the rest of the stream, 14x the time for 4x the size)."""
    size = 1 << 20
    garbage, peer = hostile_resync_stream(size), small_packet_stream(size)
    hashed = [0]
    real_crc32 = zlib.crc32

    def counting_crc32(data, value=0):
        hashed[0] += len(data)
        return real_crc32(data, value)

    monkeypatch.setattr(zlib, "crc32", counting_crc32)
    t0 = time.process_time()
    parsed = parse_stream(garbage, keep_going=True)
    t_keep = time.process_time() - t0
    t0 = time.process_time()
    strict = parse_stream(peer)
    t_strict = time.process_time() - t0
    starts = garbage.count(b"MF")
    assert parsed.packets == [] and starts > 100_000 and len(strict.packets) > 100_000
    # SpanCrc: at most the stream once for checkpoints plus 2 x 256 bytes per candidate (+ the header)
    assert hashed[0] <= 2 * len(garbage) + 512 * starts, hashed[0]
    assert t_keep <= 8 * t_strict + 0.5, (t_keep, t_strict)
    # one error line for the skipped region, not one per false start (memory, spec §10.2)
    assert len(parsed.errors) == 1 and "false packet start(s) skipped" in parsed.errors[0]


def test_span_crc_matches_zlib():
    import random

    rng = random.Random(7)
    data = bytes(rng.randrange(256) for _ in range(50_000))
    spans = SpanCrc(data, step=97)
    for _ in range(500):
        a = rng.randrange(len(data) + 1)
        b = rng.randrange(a, len(data) + 1)
        assert spans.span(a, b) == zlib.crc32(data[a:b]) & 0xFFFFFFFF
        assert crc32_combine(zlib.crc32(data[:a]), zlib.crc32(data[a:b]), b - a) == zlib.crc32(data[:b])
