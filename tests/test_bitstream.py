"""The container (spec §7, §8, §9), versions 2 (written) and 1 (still decoded): header and packet layout,
varints, CRC, strict and keep-going parsing, truncation, hostile input. Every stream built here is also checked by
bitstream_spec/ (construct)."""

from __future__ import annotations

import struct
import zlib
from dataclasses import replace

import numpy as np
import pytest
from construct import VarInt
from spec_check import spec_rejects, spec_valid

from refcodec.bitstream import Chunk, FramePacket, StreamHeader, parse_stream, serialize_stream, truncate_stream
from refcodec.bitstream.varint import decode_uvarint, encode_uvarint
from refcodec.entropy import decode_channel, encode_channel, fit_code_lengths
from refcodec.errors import BitstreamError, InvalidArgumentError

MODEL_ID = bytes(range(32))
BITS = 4


def make_stream(n_frames=3, width=20, height=13, channels=5, frame_count=None, seed=0, k=None, version=2):
    """A small Huffman stream with random symbols; returns (bytes, symbols [n, lh, lw, C], tables)."""
    rng = np.random.default_rng(seed)
    lw, lh = (width + 7) // 8, (height + 7) // 8
    sym = np.minimum(rng.geometric(0.4, size=(n_frames, lh, lw, channels)) - 1, (1 << BITS) - 1).astype(np.uint8)
    tables = fit_code_lengths([np.minimum(rng.geometric(0.4, size=(30, 30, channels)) - 1, 15)], BITS)
    header = StreamHeader(MODEL_ID, width, height, channels, BITS, 1, 30000, 1001,
                          n_frames if frame_count is None else frame_count, version=version)
    packets = [
        FramePacket(i, tuple(encode_channel(sym[i, :, :, c], BITS, tables[c])
                             for c in range(channels if k is None else k)), version)
        for i in range(n_frames)
    ]
    return serialize_stream(header, packets), sym, tables


def header_size(data: bytes) -> int:
    return StreamHeader.unpack(data).size


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


def with_header_field(data: bytes, offset: int, fmt: str, value, crc_at: int) -> bytes:
    """Rewrite a header field and fix the header CRC (at crc_at), so only the field's own check can fire."""
    b = bytearray(data)
    struct.pack_into(fmt, b, offset, value)
    struct.pack_into("<I", b, crc_at, zlib.crc32(bytes(b[:crc_at])))
    return bytes(b)


def test_varint_hand_checked_and_equal_to_construct():
    for value, raw in ((0, "00"), (1, "01"), (127, "7f"), (128, "8001"), (300, "ac02"), (16383, "ff7f"),
                       (16384, "808001"), (2**32 - 1, "ffffffff0f")):
        assert encode_uvarint(value) == bytes.fromhex(raw)
        assert decode_uvarint(bytes.fromhex(raw) + b"\xee", 0, "x") == (value, len(raw) // 2)
    rng = np.random.default_rng(5)
    for value in [int(v) for v in rng.integers(0, 2**32, 200)] + [2**7 * i for i in range(1, 40)]:
        assert encode_uvarint(value) == VarInt.build(value)  # construct's LEB128: an independent writer
    for raw, code, match in (("8000", "E_PACKET", "overlong"), ("ff00", "E_PACKET", "overlong"),
                             ("ffffffff10", "E_PACKET", "above 2\\^32-1"),
                             ("808080808000", "E_PACKET", "longer than 5"),
                             ("80", "E_TRUNCATED", "ends inside"), ("", "E_TRUNCATED", "ends inside")):
        with pytest.raises(BitstreamError, match=match) as info:
            decode_uvarint(bytes.fromhex(raw), 0, "x")
        assert info.value.code == code
    with pytest.raises(InvalidArgumentError):
        encode_uvarint(2**32)


def test_header_v2_byte_layout_hand_checked():
    h = StreamHeader(MODEL_ID, 1000, 17, 12, 5, 1, 30000, 1001, 7)
    b = h.pack()
    assert len(b) == h.size == 37
    assert b[0:4] == b"MCUC" and b[4] == 2 and b[5] == 0x03
    assert b[6:14] == MODEL_ID[:8]
    assert b[14:16] == bytes([0xE8, 0x03]) and b[16:18] == bytes([17, 0])  # 1000, 17 little-endian
    assert list(b[18:21]) == [12, 5, 1]
    assert b[21:25] == (30000).to_bytes(4, "little") and b[25:29] == (1001).to_bytes(4, "little")
    assert b[29:33] == (7).to_bytes(4, "little")
    assert b[33:37] == zlib.crc32(b[:33]).to_bytes(4, "little")
    assert StreamHeader.unpack(b) == h and (h.latent_width, h.latent_height) == (125, 3)
    still = StreamHeader(MODEL_ID, 224, 224, 12, 4, 1).pack()  # no timing, no frame_count
    assert len(still) == 25 and still[5] == 0 and still[21:25] == zlib.crc32(still[:21]).to_bytes(4, "little")
    timing_only = StreamHeader(MODEL_ID, 8, 8, 12, 4, 1, 25, 1).pack()
    assert len(timing_only) == 33 and timing_only[5] == 0x01 and timing_only[21:29] == bytes([25, 0, 0, 0, 1, 0, 0, 0])
    count_only = StreamHeader(MODEL_ID, 8, 8, 12, 4, 1, frame_count=300).pack()
    assert len(count_only) == 29 and count_only[5] == 0x02 and count_only[21:25] == bytes([44, 1, 0, 0])
    for data in (still, timing_only):  # valid streams of zero packets (count_only needs 300 packets)
        spec_valid(data)
    assert spec_rejects(count_only)


def test_header_v1_byte_layout_hand_checked():
    h = StreamHeader(MODEL_ID, 1000, 17, 12, 5, 1, 30000, 1001, 7, version=1)
    b = h.pack()
    assert len(b) == h.size == 68
    assert b[0:4] == b"MCUC" and b[4] == 1 and b[5] == 0 and b[6:8] == bytes([68, 0])
    assert b[8:40] == MODEL_ID
    assert b[40:42] == bytes([0xE8, 0x03])  # 1000 little-endian
    assert b[42:44] == bytes([17, 0]) and b[44:46] == bytes([125, 0]) and b[46:48] == bytes([3, 0])
    assert list(b[48:52]) == [12, 5, 1, 0]
    assert b[52:56] == (30000).to_bytes(4, "little") and b[56:60] == (1001).to_bytes(4, "little")
    assert b[60:64] == (7).to_bytes(4, "little")
    assert b[64:68] == zlib.crc32(b[:64]).to_bytes(4, "little")
    assert StreamHeader.unpack(b) == h
    # v1 has no "absent" rate: a header without timing is written as 1/1 (what v1 used for a still image)
    assert StreamHeader(MODEL_ID, 8, 8, 12, 5, 1, version=1).pack()[52:60] == bytes([1, 0, 0, 0, 1, 0, 0, 0])


def test_packet_v2_byte_layout_hand_checked():
    p = FramePacket(258, (Chunk(1, b"\xAA\xBB\xCC"), Chunk(0, b"\x01")))
    b = p.pack()
    assert b[0:2] == b"MF" and b[2:4] == bytes([0x82, 0x02]) and b[4] == 2  # 258 = 0b10_0000010
    assert b[5] == (3 << 2 | 1) and b[6] == (1 << 2 | 0)
    assert b[7:11] == b"\xAA\xBB\xCC\x01"
    assert b[11:15] == zlib.crc32(b[:11]).to_bytes(4, "little")
    assert len(b) == p.size == 15
    big = FramePacket(0, (Chunk(1, bytes(300)),)).pack()  # entry 300 << 2 | 1 = 1201 = 0x4b1 -> b1 09
    assert big[2:6] == bytes([0x00, 0x01, 0xB1, 0x09]) and len(big) == 2 + 1 + 1 + 2 + 300 + 4
    assert FramePacket(0, ()).pack()[:4] == b"MF\x00\x00" and FramePacket(0, ()).size == 8


def test_packet_v1_byte_layout_hand_checked():
    p = FramePacket(258, (Chunk(1, b"\xAA\xBB\xCC"), Chunk(0, b"\x01")), version=1)
    b = p.pack()
    assert b[0:4] == b"MCFP" and b[4:8] == bytes([2, 1, 0, 0]) and b[8] == 2 and b[9] == 0
    assert b[10:14] == bytes([1, 3, 0, 0]) and b[14:18] == bytes([0, 1, 0, 0])
    assert b[18:22] == b"\xAA\xBB\xCC\x01"
    assert b[22:26] == zlib.crc32(b[:22]).to_bytes(4, "little")
    assert len(b) == p.size == 14 + 2 * 4 + 4


@pytest.mark.parametrize("version", [2, 1])
def test_round_trip_symbols_and_spec_description(version):
    data, sym, tables = make_stream(version=version)
    spec_valid(data)
    parsed, out = decode_all(data, tables)
    assert parsed.header.frame_count == 3 and parsed.lost == [] and parsed.header.version == version
    assert all(p.version == version for p in parsed.packets)
    for i in range(3):
        assert np.array_equal(out[i], sym[i])


V2_HOSTILE = [  # offsets in a v2 header with timing and frame_count (37 bytes, CRC at 33)
    (4, "<B", 3, "version 3", "E_VERSION"),
    (5, "<B", 0x07, "flags 0x07", "E_HEADER"),
    (14, "<H", 0, "width 0", "E_HEADER"),
    (14, "<H", 60000, "implementation limit", "E_HEADER"),
    (18, "<B", 0, "channel count 0", "E_HEADER"),
    (18, "<B", 200, "implementation limit", "E_HEADER"),
    (19, "<B", 9, "bit depth 9", "E_HEADER"),
    (20, "<B", 3, "entropy mode 3", "E_HEADER"),
    (21, "<I", 0, "frame rate", "E_HEADER"),
    (25, "<I", 0, "frame rate", "E_HEADER"),
    (29, "<I", 0, "frame_count 0", "E_HEADER"),
]
V1_HOSTILE = [
    (4, "<B", 3, "version 3", "E_VERSION"),
    (5, "<B", 1, "reserved", "E_HEADER"),
    (6, "<H", 72, "header size", "E_HEADER"),
    (40, "<H", 0, "width 0", "E_HEADER"),
    (44, "<H", 9, "latent size", "E_HEADER"),
    (49, "<B", 9, "bit depth 9", "E_HEADER"),
    (50, "<B", 3, "entropy mode 3", "E_HEADER"),
    (52, "<I", 0, "frame rate", "E_HEADER"),
]


@pytest.mark.parametrize("version,offset,fmt,value,match,code",
                         [(2, *c) for c in V2_HOSTILE] + [(1, *c) for c in V1_HOSTILE])
def test_hostile_header_fields_rejected(version, offset, fmt, value, match, code):
    data, _, _ = make_stream(1, version=version)
    bad = with_header_field(data, offset, fmt, value, crc_at=header_size(data) - 4)
    with pytest.raises(BitstreamError, match=match) as info:
        parse_stream(bad)
    assert info.value.code == code
    assert spec_rejects(bad) or match == "implementation limit"  # impl limits are not format limits


@pytest.mark.parametrize("version", [2, 1])
def test_header_crc_and_magic(version):
    data, _, _ = make_stream(1, version=version)
    with pytest.raises(BitstreamError, match="magic"):
        parse_stream(b"RIFF" + data[4:])
    b = bytearray(data)
    b[15 if version == 2 else 41] ^= 0x01
    with pytest.raises(BitstreamError, match="header CRC"):
        parse_stream(bytes(b))


@pytest.mark.parametrize("version", [2, 1])
def test_truncation_at_every_offset_raises_bitstream_error(version):
    data, _, _ = make_stream(3, version=version)
    for cut in range(len(data)):
        with pytest.raises(BitstreamError):
            parse_stream(data[:cut])
        assert spec_rejects(data[:cut])


def test_open_ended_stream_valid_only_at_packet_boundaries():
    data, _, _ = make_stream(3, frame_count=0)
    spec_valid(data)
    size = header_size(data)
    assert size == 33  # timing, no frame_count
    boundaries = {size, *[o for o in parse_stream(data).packet_offsets], len(data)}
    for cut in range(size, len(data) + 1):
        if cut in boundaries:
            assert len(parse_stream(data[:cut]).packets) == sorted(boundaries).index(cut)
        else:
            with pytest.raises(BitstreamError):
                parse_stream(data[:cut])


@pytest.mark.parametrize("version", [2, 1])
def test_every_single_bit_flip_is_detected(version):
    data, _, _ = make_stream(2, width=9, height=9, channels=3, version=version)
    for i in range(len(data)):
        for bit in range(8):
            b = bytearray(data)
            b[i] ^= 1 << bit
            with pytest.raises(BitstreamError):
                parse_stream(bytes(b))


def _v2_packet(body: bytes) -> bytes:
    return body + struct.pack("<I", zlib.crc32(body))


def test_chunk_length_past_end_rejected_before_allocation():
    data, _, _ = make_stream(1)
    hdr = data[:header_size(data)]
    huge = _v2_packet(b"MF\x00\x01" + encode_uvarint(((1 << 24) - 1) << 2 | 1) + b"\x00")
    with pytest.raises(BitstreamError, match="huffman chunk length 16777215"):
        parse_stream(hdr + huge)
    raw_ok = FramePacket(0, (Chunk(0, bytes(6)),)).pack()  # 3x2 latent at 4 bits: raw length 3, not 6
    with pytest.raises(BitstreamError, match="raw chunk length 6, expected 3"):
        parse_stream(hdr + raw_ok)
    too_long = _v2_packet(b"MF\x00\x01" + encode_uvarint((1 << 24) << 2 | 1) + b"\x00")  # 4-byte varint, 2^24
    with pytest.raises(BitstreamError, match="chunk length 16777216 above 16777215"):
        parse_stream(hdr + too_long)
    assert spec_rejects(hdr + too_long)
    v1, _, _ = make_stream(1, version=1)
    b = bytearray(v1[:68] + FramePacket(0, (Chunk(1, b"\x00"),), version=1).pack())
    b[68 + 11: 68 + 14] = b"\xff\xff\xff"  # length 2^24 - 1
    with pytest.raises(BitstreamError, match="huffman chunk length 16777215"):
        parse_stream(bytes(b))


def test_packet_rules():
    data, _, _ = make_stream(2)
    hdr = data[:header_size(data)]
    with pytest.raises(BitstreamError, match="6 channels present"):
        parse_stream(hdr + FramePacket(0, tuple(Chunk(0, bytes(3)) for _ in range(6))).pack())
    with pytest.raises(BitstreamError, match="frame index 1, expected 0"):
        parse_stream(hdr + FramePacket(1, ()).pack())
    raw_hdr = StreamHeader(MODEL_ID, 20, 13, 5, BITS, 0, frame_count=1).pack()
    with pytest.raises(BitstreamError, match="huffman chunk in a raw stream"):
        parse_stream(raw_hdr + FramePacket(0, (Chunk(1, b"\x00"),)).pack())
    for version in (2, 1):  # entropy_mode 2 (context Huffman, spec §6.6) in both container versions
        ctx_hdr = StreamHeader(MODEL_ID, 20, 13, 5, BITS, 2, frame_count=1, version=version).pack()
        bad = ctx_hdr + FramePacket(0, (Chunk(1, b"\x00"),), version).pack()
        with pytest.raises(BitstreamError, match="huffman chunk in a ctx stream") as info:
            parse_stream(bad)
        assert info.value.code == "E_PACKET" and spec_rejects(bad)
        ok = ctx_hdr + FramePacket(0, (Chunk(2, b"\x00"),), version).pack()  # a context chunk: container fine
        assert parse_stream(ok).packets[0].chunks[0].mode == 2 and not spec_rejects(ok)
    with pytest.raises(BitstreamError, match="ctx chunk in a raw stream"):
        parse_stream(raw_hdr + FramePacket(0, (Chunk(2, b"\x00"),)).pack())
    with pytest.raises(BitstreamError, match="trailing|frame index"):
        parse_stream(data + FramePacket(2, ()).pack())
    for body, match in ((b"MF\x80\x00\x00", "frame_index: overlong"),
                        (b"MF\x00\x01\x8c\x00" + bytes(3), "chunk table entry 0: overlong"),
                        (b"MF\x00\x01\x0e" + bytes(3), "ctx chunk in a huffman stream"),
                        (b"MF\x00\x01\x0f" + bytes(3), "inter chunk in a huffman stream")):
        with pytest.raises(BitstreamError, match=match) as info:
            parse_stream(hdr + _v2_packet(body))
        assert info.value.code == "E_PACKET"
        assert spec_rejects(hdr + _v2_packet(body))
    with pytest.raises(InvalidArgumentError, match="version 1"):  # a stream holds one version
        serialize_stream(StreamHeader(MODEL_ID, 8, 8, 1, 4, 0), [FramePacket(0, (), version=1)])


def test_keep_going_skips_corrupt_packet_and_reports_it():
    data, sym, tables = make_stream(4)
    offs = parse_stream(data).packet_offsets
    b = bytearray(data)
    b[offs[2] - 5] ^= 0xFF  # last chunk byte of packet 1: CRC mismatch
    with pytest.raises(BitstreamError, match="CRC"):
        parse_stream(bytes(b))
    parsed, out = decode_all(bytes(b), tables, keep_going=True)
    assert parsed.lost == [[1, 1]] and sorted(out) == [0, 2, 3] and len(parsed.errors) == 1
    for i in (0, 2, 3):
        assert np.array_equal(out[i], sym[i])
    # garbage between packets holding a false sync, and a destroyed sync: resync on the next "MF"
    junk = b"xxMFjunk"
    g = bytearray(data[: offs[2]] + junk + data[offs[2] :])
    g[offs[2] + len(junk)] = ord("Z")
    parsed, out = decode_all(bytes(g), tables, keep_going=True)
    assert parsed.lost == [[2, 2]] and sorted(out) == [0, 1, 3]
    # the last packet cut: lost at the end
    parsed = parse_stream(data[:-3], keep_going=True)
    assert parsed.lost == [[3, 3]]


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
    for budget in (8, 20, 60, 100, 10**6):
        out = spec_valid(truncate_stream(data, frame_budget_bytes=budget))
        for p, q in zip(original, parse_stream(out).packets):
            assert q.size <= budget and len(q.pack()) == q.size
            assert q.chunks == p.chunks[: q.k]
            if q.k < p.k:  # one more channel would not fit: its varint entry and its data
                assert q.size + len(encode_uvarint(len(p.chunks[q.k].data) << 2 | p.chunks[q.k].mode)) \
                    + len(p.chunks[q.k].data) > budget
    with pytest.raises(InvalidArgumentError, match="7 bytes"):
        truncate_stream(data, frame_budget_bytes=7)
    with pytest.raises(InvalidArgumentError, match="channels 6"):
        truncate_stream(data, channels=6)
    with pytest.raises(BitstreamError):
        truncate_stream(data[:-1], channels=1)


def test_truncate_keeps_the_container_version():
    """A v1 stream truncates to a v1 stream (§9): same 68 header bytes, v1 packets, v1 budget minimum."""
    data, sym, tables = make_stream(3, version=1)
    out = spec_valid(truncate_stream(data, channels=2))
    assert out[:68] == data[:68]
    parsed, dec = decode_all(out, tables)
    assert parsed.header.version == 1 and [p.k for p in parsed.packets] == [2] * 3
    assert out[68:72] == b"MCFP" and all(q.size == 14 + sum(4 + len(c.data) for c in q.chunks) for q in parsed.packets)
    for i in range(3):
        assert np.array_equal(dec[i][:, :, :2], sym[i][:, :, :2]) and not dec[i][:, :, 2:].any()
    with pytest.raises(InvalidArgumentError, match="13 bytes"):
        truncate_stream(data, frame_budget_bytes=13)
    assert all(p.k == 0 for p in parse_stream(truncate_stream(data, frame_budget_bytes=14)).packets)


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
        stream = data[:header_size(data)] + FramePacket(0, tuple(chunks)).pack()
        try:
            decode_all(stream, tables)
            outcomes.add("decoded")
        except BitstreamError:
            outcomes.add("rejected")
    assert outcomes == {"decoded", "rejected"}


def test_spec_example_stream_bytes():
    """SPEC.md §7.5 (v2) and §7-v1.3 (v1), assembled here with struct + zlib only, must equal what refcodec
    writes."""
    body = b"MCUC" + bytes([2, 0]) + bytes(8) + struct.pack("<2H3B", 8, 8, 12, 5, 0)
    header = body + struct.pack("<I", zlib.crc32(body))
    pkt = b"MF" + bytes([0, 1, 1 << 2 | 0]) + bytes([0x18])
    expected = header + pkt + struct.pack("<I", zlib.crc32(pkt))
    symbol = encode_channel(np.array([[3]], np.uint8), 5, None)
    ours = serialize_stream(StreamHeader(bytes(8), 8, 8, 12, 5, 0), [FramePacket(0, (symbol,))])
    assert ours == expected and len(ours) == 35
    assert expected[21:25] == bytes.fromhex("2f846014") and expected[-4:] == bytes.fromhex("9d2275a3")
    spec_valid(ours)

    body = b"MCUC" + bytes([1, 0, 68, 0]) + bytes(32) + struct.pack("<4H4B3I", 8, 8, 1, 1, 12, 5, 0, 0, 1, 1, 1)
    header = body + struct.pack("<I", zlib.crc32(body))
    pkt = b"MCFP" + struct.pack("<IBB", 0, 1, 0) + bytes([0, 1, 0, 0]) + bytes([0x18])
    expected = header + pkt + struct.pack("<I", zlib.crc32(pkt))
    ours = serialize_stream(StreamHeader(bytes(32), 8, 8, 12, 5, 0, 1, 1, 1, version=1),
                            [FramePacket(0, (symbol,), version=1)])
    assert ours == expected and len(ours) == 87
    assert expected[64:68] == bytes.fromhex("11efe075") and expected[-4:] == bytes.fromhex("41384af0")
    spec_valid(ours)
    assert replace(parse_stream(ours).header, version=2, model_id=bytes(8), fps_num=None, fps_den=None,
                   frame_count=0).pack() == serialize_stream(StreamHeader(bytes(8), 8, 8, 12, 5, 0), [])
