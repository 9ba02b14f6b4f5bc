"""The container (spec §7, §8, §9): header and packet layout, CRC, strict and keep-going parsing,
truncation, hostile input. Every stream built here is also checked by bitstream_spec/ (construct)."""

from __future__ import annotations

import struct
import zlib

import numpy as np
import pytest
from spec_check import spec_rejects, spec_valid

from refcodec.bitstream import Chunk, FramePacket, StreamHeader, parse_stream, serialize_stream, truncate_stream
from refcodec.bitstream.format import HEADER_SIZE, PACKET_FIXED_SIZE
from refcodec.entropy import decode_channel, encode_channel, fit_code_lengths
from refcodec.errors import BitstreamError, InvalidArgumentError

MODEL_ID = bytes(range(32))
BITS = 4


def make_stream(n_frames=3, width=20, height=13, channels=5, frame_count=None, seed=0, k=None):
    """A small Huffman stream with random symbols; returns (bytes, symbols [n, lh, lw, C], tables)."""
    rng = np.random.default_rng(seed)
    lw, lh = (width + 7) // 8, (height + 7) // 8
    sym = np.minimum(rng.geometric(0.4, size=(n_frames, lh, lw, channels)) - 1, (1 << BITS) - 1).astype(np.uint8)
    tables = fit_code_lengths([np.minimum(rng.geometric(0.4, size=(30, 30, channels)) - 1, 15)], BITS)
    header = StreamHeader(MODEL_ID, width, height, channels, BITS, 1, 30000, 1001,
                          n_frames if frame_count is None else frame_count)
    packets = [
        FramePacket(i, tuple(encode_channel(sym[i, :, :, c], BITS, tables[c]) for c in range(channels if k is None else k)))
        for i in range(n_frames)
    ]
    return serialize_stream(header, packets), sym, tables


def decode_all(data, tables, keep_going=False):
    parsed = parse_stream(data, keep_going=keep_going)
    h = parsed.header
    out = {}
    for p in parsed.packets:
        s = np.zeros((h.latent_height, h.latent_width, h.channels), dtype=np.uint8)
        for c, ch in enumerate(p.chunks):
            s[:, :, c] = decode_channel(ch, h.bits, h.n_symbols, tables[c]).reshape(h.latent_height, h.latent_width)
        out[p.frame_index] = s
    return parsed, out


def with_header_field(data: bytes, offset: int, fmt: str, value) -> bytes:
    """Rewrite a header field and fix the header CRC, so only the field's own check can fire."""
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    struct.pack_into("<I", b, HEADER_SIZE - 4, zlib.crc32(bytes(b[: HEADER_SIZE - 4])))
    return bytes(b)


def test_header_byte_layout_hand_checked():
    h = StreamHeader(MODEL_ID, 1000, 17, 12, 5, 1, 30000, 1001, 7)
    b = h.pack()
    assert len(b) == HEADER_SIZE == 68
    assert b[0:4] == b"MCUC" and b[4] == 1 and b[5] == 0 and b[6:8] == bytes([68, 0])
    assert b[8:40] == MODEL_ID
    assert b[40:42] == bytes([0xE8, 0x03])  # 1000 little-endian
    assert b[42:44] == bytes([17, 0]) and b[44:46] == bytes([125, 0]) and b[46:48] == bytes([3, 0])
    assert list(b[48:52]) == [12, 5, 1, 0]
    assert b[52:56] == (30000).to_bytes(4, "little") and b[56:60] == (1001).to_bytes(4, "little")
    assert b[60:64] == (7).to_bytes(4, "little")
    assert b[64:68] == zlib.crc32(b[:64]).to_bytes(4, "little")
    assert StreamHeader.unpack(b) == h


def test_packet_byte_layout_hand_checked():
    p = FramePacket(258, (Chunk(1, b"\xAA\xBB\xCC"), Chunk(0, b"\x01")))
    b = p.pack()
    assert b[0:4] == b"MCFP" and b[4:8] == bytes([2, 1, 0, 0]) and b[8] == 2 and b[9] == 0
    assert b[10:14] == bytes([1, 3, 0, 0]) and b[14:18] == bytes([0, 1, 0, 0])
    assert b[18:22] == b"\xAA\xBB\xCC\x01"
    assert b[22:26] == zlib.crc32(b[:22]).to_bytes(4, "little")
    assert len(b) == p.size == PACKET_FIXED_SIZE + 2 * 4 + 4


def test_round_trip_symbols_and_spec_description():
    data, sym, tables = make_stream()
    spec_valid(data)
    parsed, out = decode_all(data, tables)
    assert parsed.header.frame_count == 3 and parsed.lost == []
    for i in range(3):
        assert np.array_equal(out[i], sym[i])


@pytest.mark.parametrize(
    "offset,fmt,value,match",
    [
        (4, "<B", 2, "version"),
        (5, "<B", 1, "reserved"),
        (6, "<H", 72, "header size"),
        (40, "<H", 0, "width 0"),
        (40, "<H", 60000, "implementation limit"),
        (44, "<H", 9, "latent size"),
        (48, "<B", 0, "channel count 0"),
        (48, "<B", 200, "implementation limit"),
        (49, "<B", 9, "bit depth 9"),
        (50, "<B", 3, "entropy mode 3"),
        (52, "<I", 0, "frame rate"),
    ],
)
def test_hostile_header_fields_rejected(offset, fmt, value, match):
    data, _, _ = make_stream(1)
    bad = with_header_field(data, offset, fmt, value)
    with pytest.raises(BitstreamError, match=match):
        parse_stream(bad)
    assert spec_rejects(bad) or offset in (40, 48)  # impl limits are not format limits


def test_header_crc_and_magic():
    data, _, _ = make_stream(1)
    with pytest.raises(BitstreamError, match="magic"):
        parse_stream(b"RIFF" + data[4:])
    b = bytearray(data)
    b[41] ^= 0x01
    with pytest.raises(BitstreamError, match="header CRC"):
        parse_stream(bytes(b))


def test_truncation_at_every_offset_raises_bitstream_error():
    data, _, _ = make_stream(3)
    for cut in range(len(data)):
        with pytest.raises(BitstreamError):
            parse_stream(data[:cut])
        assert spec_rejects(data[:cut])


def test_open_ended_stream_valid_only_at_packet_boundaries():
    data, _, _ = make_stream(3, frame_count=0)
    spec_valid(data)
    boundaries = {HEADER_SIZE, *[o for o in parse_stream(data).packet_offsets], len(data)}
    for cut in range(HEADER_SIZE, len(data) + 1):
        if cut in boundaries:
            assert len(parse_stream(data[:cut]).packets) == sorted(boundaries).index(cut)
        else:
            with pytest.raises(BitstreamError):
                parse_stream(data[:cut])


def test_every_single_bit_flip_is_detected():
    data, _, _ = make_stream(2, width=9, height=9, channels=3)
    for i in range(len(data)):
        for bit in range(8):
            b = bytearray(data)
            b[i] ^= 1 << bit
            with pytest.raises(BitstreamError):
                parse_stream(bytes(b))


def test_chunk_length_past_end_rejected_before_allocation():
    data, _, _ = make_stream(1)
    b = bytearray(data[:HEADER_SIZE] + FramePacket(0, (Chunk(1, b"\x00"),)).pack())
    b[HEADER_SIZE + 11 : HEADER_SIZE + 14] = b"\xff\xff\xff"  # length 2^24 - 1
    with pytest.raises(BitstreamError, match="huffman chunk length 16777215"):
        parse_stream(bytes(b))
    raw_ok = FramePacket(0, (Chunk(0, bytes(6)),)).pack()  # 3x2 latent at 4 bits: raw length 3, not 6
    with pytest.raises(BitstreamError, match="raw chunk length 6, expected 3"):
        parse_stream(data[:HEADER_SIZE] + raw_ok)


def test_packet_rules():
    data, _, _ = make_stream(2)
    hdr = data[:HEADER_SIZE]
    with pytest.raises(BitstreamError, match="6 channels present"):
        parse_stream(hdr + FramePacket(0, tuple(Chunk(0, bytes(3)) for _ in range(6))).pack())
    with pytest.raises(BitstreamError, match="frame index 1, expected 0"):
        parse_stream(hdr + FramePacket(1, ()).pack())
    raw_hdr = StreamHeader(MODEL_ID, 20, 13, 5, BITS, 0, frame_count=1).pack()
    with pytest.raises(BitstreamError, match="huffman chunk in a raw stream"):
        parse_stream(raw_hdr + FramePacket(0, (Chunk(1, b"\x00"),)).pack())
    with pytest.raises(BitstreamError, match="trailing|frame index"):
        parse_stream(data + FramePacket(2, ()).pack())


def test_keep_going_skips_corrupt_packet_and_reports_it():
    data, sym, tables = make_stream(4)
    offs = parse_stream(data).packet_offsets
    b = bytearray(data)
    b[offs[2] - 5] ^= 0xFF  # last chunk byte of packet 1: CRC mismatch
    with pytest.raises(BitstreamError, match="CRC"):
        parse_stream(bytes(b))
    parsed, out = decode_all(bytes(b), tables, keep_going=True)
    assert parsed.lost == [1] and sorted(out) == [0, 2, 3] and len(parsed.errors) == 1
    for i in (0, 2, 3):
        assert np.array_equal(out[i], sym[i])
    # garbage between packets and a destroyed sync: resync on the next "MCFP"
    g = bytearray(data[: offs[2]] + b"xxMCFPjunk" + data[offs[2] :])
    g[offs[2] + 10] = ord("Z")
    parsed, out = decode_all(bytes(g), tables, keep_going=True)
    assert parsed.lost == [2] and sorted(out) == [0, 1, 3]
    # the last packet cut: lost at the end
    parsed = parse_stream(data[:-3], keep_going=True)
    assert parsed.lost == [3]


@pytest.mark.parametrize("k", [0, 1, 3, 5])
def test_truncate_channels_equals_zero_filled_original(k):
    data, sym, tables = make_stream(3)
    out = spec_valid(truncate_stream(data, channels=k))
    parsed, dec = decode_all(out, tables)
    assert [p.k for p in parsed.packets] == [k] * 3
    for i in range(3):
        expected = sym[i].copy()
        expected[:, :, k:] = 0
        assert np.array_equal(dec[i], expected)
    assert parsed.header == parse_stream(data).header


def test_truncate_frame_budget_keeps_largest_fitting_prefix():
    data, sym, tables = make_stream(4, width=64, height=40)
    original = parse_stream(data).packets
    for budget in (14, 30, 60, 100, 10**6):
        out = spec_valid(truncate_stream(data, frame_budget_bytes=budget))
        for p, q in zip(original, parse_stream(out).packets):
            assert q.size <= budget
            assert q.chunks == p.chunks[: q.k]
            if q.k < p.k:  # one more channel would not fit
                assert q.size + 4 + len(p.chunks[q.k].data) > budget
    with pytest.raises(InvalidArgumentError, match="13 bytes"):
        truncate_stream(data, frame_budget_bytes=13)
    with pytest.raises(InvalidArgumentError, match="channels 6"):
        truncate_stream(data, channels=6)
    with pytest.raises(BitstreamError):
        truncate_stream(data[:-1], channels=1)


def test_fuzzed_chunks_with_valid_crc_raise_only_bitstream_errors():
    """Mutated chunk bytes with the packet CRC recomputed reach the entropy decoder: it must either
    decode n symbols or raise BitstreamError, never another exception or a hang."""
    data, _, tables = make_stream(1, width=40, height=24, channels=5)
    parsed = parse_stream(data)
    pkt = parsed.packets[0]
    rng = np.random.default_rng(1)
    outcomes = set()
    for trial in range(300):
        chunks = list(pkt.chunks)
        c = int(rng.integers(len(chunks)))
        b = bytearray(chunks[c].data)
        for _ in range(int(rng.integers(1, 4))):
            b[int(rng.integers(len(b)))] = int(rng.integers(256))
        if trial % 3 == 0:
            b = b[: int(rng.integers(1, len(b) + 1))] if chunks[c].mode == 1 else b
        chunks[c] = Chunk(chunks[c].mode, bytes(b))
        stream = data[:HEADER_SIZE] + FramePacket(0, tuple(chunks)).pack()
        try:
            decode_all(stream, tables)
            outcomes.add("decoded")
        except BitstreamError:
            outcomes.add("rejected")
    assert outcomes == {"decoded", "rejected"}


def test_spec_example_stream_bytes():
    """SPEC.md §7.5, assembled here with struct + zlib only, must equal what refcodec writes."""
    body = b"MCUC" + bytes([1, 0, 68, 0]) + bytes(32) + struct.pack("<4H4B3I", 8, 8, 1, 1, 12, 5, 0, 0, 1, 1, 1)
    header = body + struct.pack("<I", zlib.crc32(body))
    pkt = b"MCFP" + struct.pack("<IBB", 0, 1, 0) + bytes([0, 1, 0, 0]) + bytes([0x18])
    expected = header + pkt + struct.pack("<I", zlib.crc32(pkt))
    ours = serialize_stream(StreamHeader(bytes(32), 8, 8, 12, 5, 0, 1, 1, 1),
                            [FramePacket(0, (encode_channel(np.array([[3]], np.uint8), 5, None),))])
    assert ours == expected and len(ours) == 87
    assert expected[64:68] == bytes.fromhex("11efe075") and expected[-4:] == bytes.fromhex("41384af0")
    spec_valid(ours)
