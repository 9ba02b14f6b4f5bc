"""Spec 2.1 clarifications (issue 12 item 3): each unclear point of the spec is decided in its text and the code
and the independent description (bitstream_spec/, via spec_check) agree with the decision."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from click.testing import CliRunner
from spec_check import spec_rejects, spec_valid

from refcodec.bitstream import Chunk, FramePacket, StreamHeader, parse_stream
from refcodec.cli.main import cli
from refcodec.codec import decode_symbols
from refcodec.errors import BitstreamError
from refcodec.model.modelfile import load_model

ROOT = Path(__file__).resolve().parents[1]


def _code(data, **kw):
    with pytest.raises(BitstreamError) as info:
        decode_symbols(data, **kw)
    return info.value.code


@pytest.mark.parametrize("n", [0, 1, 2, 3])
def test_cut_inside_the_magic_is_e_magic(n):
    """§8.1 step 1 / §8.2: fewer than 4 bytes, even a prefix of "MCUC", is E_MAGIC (not E_TRUNCATED)."""
    data = b"MCUC"[:n]
    assert _code(data) == "E_MAGIC"
    assert spec_rejects(data)


def test_cut_at_4_and_5_bytes_is_e_truncated():
    assert _code(b"MCUC") == "E_TRUNCATED" and _code(b"MCUC\x02") == "E_TRUNCATED"


HEADER = StreamHeader(bytes(8), 8, 8, 12, 4, 0).pack()


@pytest.mark.parametrize("tail, code", [
    (b"MF\x00\x01\xff\xff\xff\xff\xff", "E_PACKET"),    # 5th byte with bit 7 set, stream ends right after it
    (b"MF\x00\x01\xff\xff\xff\xff\xff\x01", "E_PACKET"),  # ... or not: the same class either way
    (b"MF\x00\x01\xff\xff\xff\xff", "E_TRUNCATED"),     # ends after 4 continuation bytes: a 5th could be legal
    (b"MF\xff\xff\xff\xff\xff\x00", "E_PACKET"),        # frame_index: 5th byte with bit 7 set
])
def test_five_byte_varint_with_continuation_bit(tail, code):
    """§7 varints: a 5th byte with bit 7 set is E_PACKET whether or not the stream ends after it."""
    data = HEADER + tail
    assert _code(data) == code
    assert spec_rejects(data)


def test_stream_without_packets_is_valid_and_decode_writes_nothing(tmp_path):
    """§7.1: a header without frame_count and no packet is a valid stream of zero frames."""
    model = load_model(ROOT / "vectors" / "models" / "rand-double.npz")
    data = spec_valid(StreamHeader(model.model_id_bytes, 16, 16, 12, model.latent_quantizer.bits, 1).pack())
    assert parse_stream(data).packets == [] and decode_symbols(data, model).symbols == []
    src = tmp_path / "empty.mcuc"
    src.write_bytes(data)
    r = CliRunner().invoke(cli, ["info", str(src), "--json"])
    assert r.exit_code == 0 and '"frames_present": 0' in r.stdout
    for out in ("out.png", "folder", "out.y4m"):
        r = CliRunner().invoke(cli, ["decode", str(src), "-o", str(tmp_path / out), "--model",
                                     str(ROOT / "vectors" / "models" / "rand-double.npz")])
        assert r.exit_code == 2 and "holds no frame" in r.stderr, (out, r.exit_code, r.stderr)
        assert not (tmp_path / out).exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.mcuc"]


def test_context_stream_with_a_model_without_context_tables():
    """§6.4: such a model acts as all-zero context tables: raw chunks decode, a context chunk is E_CHUNK (and
    keep-going skips that frame)."""
    model = load_model(ROOT / "vectors" / "models" / "rand-double.npz")  # Huffman tables, no context tables
    assert not model.has_context_tables
    bits = model.latent_quantizer.bits
    head = StreamHeader(model.model_id_bytes, 8, 8, 12, bits, 2, frame_count=2).pack()
    raw = FramePacket(0, (Chunk(0, bytes([0x30])),)).pack()
    ctx = FramePacket(1, (Chunk(2, b"\x00"),)).pack()
    ds = decode_symbols(head + raw + FramePacket(1, ()).pack(), model)
    assert ds.symbols[0][0, 0, 0] == 0x30 >> (8 - bits)
    assert _code(head + raw + ctx, model=model) == "E_CHUNK"
    kg = decode_symbols(head + raw + ctx, model, keep_going=True)
    assert kg.frame_indices == [0] and kg.lost == [[1, 1]]


def test_version1_chunk_table_needs_4k_plus_4_bytes_after_the_packet_head():
    """§7.6: after the 10-byte packet head, k table words and the CRC: 4k + 4 bytes, else E_TRUNCATED."""
    head = StreamHeader(bytes(32), 8, 8, 12, 4, 0, version=1).pack()
    pkt = struct.pack("<4sIBB", b"MCFP", 0, 3, 0)
    assert _code(head + pkt + bytes(4 * 3 + 3)) == "E_TRUNCATED"
    assert _code(head + pkt + bytes(4 * 3 + 4)) != "E_TRUNCATED"  # table words now read: raw length 0 is E_PACKET
    assert spec_rejects(head + pkt + bytes(4 * 3 + 3))
