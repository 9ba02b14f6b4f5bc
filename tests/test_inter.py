"""Inter frames (spec 2.2, §6.7): the range coder, references, keyframes, truncation and keep-going."""

from __future__ import annotations

import numpy as np
import pytest

from refcodec.bitstream.container import parse_stream, serialize_stream
from refcodec.bitstream.format import CHUNK_CTX_HUFFMAN, CHUNK_INTER, STREAM_ENTROPY_CTX, STREAM_ENTROPY_INTER
from refcodec.bitstream.header import StreamHeader
from refcodec.cli.info import stream_info
from refcodec.codec import decode_symbols, encode_frames, truncate_stream
from refcodec.entropy.inter import InterCoder, check_inter_freqs, inter_contexts, quantize_freqs
from refcodec.entropy.model_tables import EntropyTables
from refcodec.errors import BITSTREAM_ERROR_CODES, BitstreamError, InvalidArgumentError, ModelFileError
from refcodec.media import read_image
from refcodec.model.registry import default_model
from refcodec.recovery import timeline
from datasets import PHOTO_96x128  # tests/datasets.py

ENTROPY_MODE_AT = 20  # version 2 header offset of entropy_mode (spec §7.1)


def _b1_table() -> np.ndarray:
    """b = 1: contexts ref * 3 + m; ref 0 -> (4095, 1), ref 1 -> (1, 4095) for every neighbour bucket (§6.7.6)."""
    return np.array([[4095, 1]] * 3 + [[1, 4095]] * 3, np.uint16)


def test_spec_example_equal_channel_is_an_empty_chunk():
    coder = InterCoder(_b1_table(), 1)
    ref = np.array([[0, 0, 0]], np.uint8)  # every symbol at cum 0: low stays 0, v = 0
    assert coder.encode(ref, ref) == b""
    assert coder.decode(b"", ref).tolist() == [0, 0, 0]
    ref = np.array([[0, 1, 0]], np.uint8)  # symbol 1 has cum 1 in its row: low = r > 0, one byte
    assert coder.encode(ref, ref) == b"\x01"
    assert coder.decode(b"\x01", ref).tolist() == [0, 1, 0]


def test_hand_derived_chunk():
    """cur (1, 1, 0) against ref (0, 1, 0), worked through spec §6.7.2-§6.7.3 by hand: r = 0xFFFFF; symbol 1 at
    ctx 0 (cum 4095, f 1) makes low 0xFFEFF001, range 0xFFFFF: one normalisation, whose top byte 0xFF waits as
    pending, low 0xEFF00100, range 0xFFFFF00; the second symbol (ctx 4: its left neighbour changed; cum 1) adds
    r = 0xFFFF (low 0xEFF100FF), the third (ctx 0, cum 0) adds nothing; the final interval ends at 0xFFEEF110,
    so termination picks v = 0xF0000000; output 00 FF F0 00 00 00, first byte and trailing zeros dropped."""
    coder = InterCoder(_b1_table(), 1)
    ref = np.array([[0, 1, 0]], np.uint8)
    cur = np.array([[1, 1, 0]], np.uint8)
    assert inter_contexts(cur, ref).tolist() == [0, 4, 0]
    assert coder.encode(cur, ref) == b"\xff\xf0"
    assert coder.decode(b"\xff\xf0", ref).tolist() == [1, 1, 0]


def test_decode_channel_decodes_inter_chunks_against_the_given_reference():
    """entropy.chunk.decode_channel is the one place that turns a chunk of any mode into symbols; an inter
    chunk needs the reference channel (E_REFERENCE without it) and the model's inter tables (E_CHUNK)."""
    from refcodec.bitstream.container import Chunk
    from refcodec.entropy.chunk import decode_channel

    coder = InterCoder(_b1_table(), 1)
    ref = np.array([[0, 1, 0]], np.uint8)
    chunk = Chunk(CHUNK_INTER, b"\xff\xf0")  # test_hand_derived_chunk: (1, 1, 0)
    assert decode_channel(chunk, 1, 3, None, None, 3, coder, ref).tolist() == [1, 1, 0]
    for inter, reference, code in ((coder, None, "E_REFERENCE"), (None, ref, "E_CHUNK"),
                                   (coder, np.zeros((1, 2), np.uint8), "E_CHUNK")):
        with pytest.raises(BitstreamError) as info:
            decode_channel(chunk, 1, 3, None, None, 3, inter, reference)
        assert info.value.code == code


def test_decoder_rejects_non_canonical_and_trailing_bytes():
    coder = InterCoder(_b1_table(), 1)
    ref = np.array([[0, 1, 0]], np.uint8)
    with pytest.raises(BitstreamError) as info:
        coder.decode(b"\xff\xf0\x00", ref)  # a trailing zero byte: not the canonical termination
    assert info.value.code == "E_CHUNK"
    with pytest.raises(BitstreamError) as info:
        coder.decode(b"\x01" * 9, ref)  # more bytes than the decoder reads
    assert info.value.code == "E_CHUNK"
    with pytest.raises(BitstreamError) as info:
        coder.decode(b"\xff\xff\xff\xff", ref)  # code / r >= 4096: outside the coded total
    assert info.value.code == "E_CHUNK"


@pytest.mark.parametrize("bits", [1, 2, 4])
def test_round_trip_random_channels(bits):
    rng = np.random.default_rng(bits)
    levels = 1 << bits
    for trial in range(60):
        coder = InterCoder(quantize_freqs(rng.random((3 * levels, levels)) ** 4 + 1e-3), bits)
        h, w = (int(v) for v in rng.integers(1, 9, 2))
        ref = rng.integers(0, levels, (h, w)).astype(np.uint8)
        keep = rng.random((h, w)) < rng.random()
        cur = np.where(keep, ref, rng.integers(0, levels, (h, w))).astype(np.uint8)
        data = coder.encode(cur, ref)
        assert not data or data[-1] != 0
        assert len(data) <= (h * w * 12 + 7) // 8 + 4
        assert coder.decode(data, ref).tolist() == cur.ravel().tolist()


def test_frequency_table_checks():
    bad = _b1_table().astype(np.int64)
    bad[2] = (4096, 0)
    with pytest.raises(InvalidArgumentError, match=">= 1"):
        check_inter_freqs(bad, 1)
    bad[2] = (4000, 1)
    with pytest.raises(InvalidArgumentError, match="sum to 4001"):
        check_inter_freqs(bad, 1)
    assert (quantize_freqs(np.array([[1.0, 1e9]])) == [1, 4095]).all()


def fixed_camera_frames(n: int = 8, h: int = 48, w: int = 64) -> list[np.ndarray]:
    """A still photo with a small patch that moves 3 pixels per frame: what a fixed camera sees."""
    base = read_image(PHOTO_96x128)[:h, :w].copy()
    patch = read_image(PHOTO_96x128)[60:72, 100:112]
    out = []
    for t in range(n):
        f = base.copy()
        x = (3 * t) % (w - 12)
        f[h // 2 - 6:h // 2 + 6, x:x + 12] = patch
        out.append(f)
    return out


@pytest.fixture(scope="module")
def model():
    m = default_model()
    if not m.has_inter_tables:
        pytest.skip("the bundled model has no inter tables")
    return m


@pytest.fixture(scope="module")
def frames():
    return fixed_camera_frames()


def test_inter_stream_is_smaller_and_decodes_to_the_same_symbols(model, frames):
    intra = encode_frames(frames, model, entropy="ctx")
    inter = encode_frames(frames, model, entropy="inter", keyframe_interval=4)
    assert inter[ENTROPY_MODE_AT] == STREAM_ENTROPY_INTER and intra[ENTROPY_MODE_AT] == STREAM_ENTROPY_CTX
    assert len(inter) < 0.8 * len(intra)
    a, b = decode_symbols(intra, model), decode_symbols(inter, model)
    assert len(b.symbols) == len(frames)
    for x, y in zip(a.symbols, b.symbols):
        assert np.array_equal(x, y)
    info = stream_info(inter)
    assert info["entropy"] == "inter" and info["keyframes"] == [0, 4]
    for f in info["frames"]:
        if f["index"] in (0, 4):
            assert "inter" not in f["chunk_modes"]
    assert any("inter" in f["chunk_modes"] for f in info["frames"])


def test_no_inter_chunk_still_an_inter_stream(model, frames):
    """A still image or keyframe interval 1: no chunk comes out inter, yet the header says entropy_mode 4 (it goes
    out before the first frame, spec §6.7.5); the chunks are the context stream's."""
    for data, ctx in ((encode_frames(frames[:1], model, entropy="inter"), encode_frames(frames[:1], model, entropy="ctx")),
                      (encode_frames(frames[:3], model, entropy="inter", keyframe_interval=1),
                       encode_frames(frames[:3], model, entropy="ctx"))):
        assert data[ENTROPY_MODE_AT] == STREAM_ENTROPY_INTER
        assert parse_stream(data).packets == parse_stream(ctx).packets
        assert all(np.array_equal(a, b) for a, b in zip(decode_symbols(data, model).symbols,
                                                        decode_symbols(ctx, model).symbols))


def test_inter_needs_inter_tables(model, frames):
    plain = model.with_entropy(EntropyTables(model.entropy.code_lengths, model.entropy.context_lengths))
    with pytest.raises(ModelFileError, match="no inter tables"):
        encode_frames(frames[:2], plain, entropy="inter")
    with pytest.raises(InvalidArgumentError, match="keyframe interval"):
        encode_frames(frames[:2], model, entropy="inter", keyframe_interval=0)


def _symbols_by_index(d):
    return dict(zip(d.frame_indices, d.symbols))


def test_truncation_keeps_every_reference(model, frames):
    data = encode_frames(frames, model, entropy="inter", keyframe_interval=4)
    full = _symbols_by_index(decode_symbols(data, model))
    for kwargs in ({"channels": 3}, {"channels": 0}, {"frame_budget_bytes": 40}, {"frame_budget_bytes": 90},
                   {"frame_budget_bytes": 400}, {"channels": 7, "frame_budget_bytes": 150}):
        cut = truncate_stream(data, **kwargs)
        d = decode_symbols(cut, model)  # strict: no E_REFERENCE
        assert len(d.symbols) == len(frames)
        for i, sym, k in zip(d.frame_indices, d.symbols, d.channels_present):
            assert np.array_equal(sym[:, :, :k], full[i][:, :, :k])
            assert not sym[:, :, k:].any()
    # the budget rule (spec §9): after a keyframe that kept few channels, inter frames keep no more
    parsed = parse_stream(truncate_stream(data, frame_budget_bytes=90))
    ks = [p.k for p in parsed.packets]
    for n in (1, 2, 3):
        assert ks[n] <= ks[0] or all(c.mode != CHUNK_INTER for c in parsed.packets[n].chunks[ks[n - 1]:])


def _with_packets(data: bytes, packets) -> bytes:
    return serialize_stream(parse_stream(data).header, packets)


def test_missing_reference_is_e_reference(model, frames):
    data = encode_frames(frames[:4], model, entropy="inter", keyframe_interval=4)
    pk = list(parse_stream(data).packets)
    c = next(i for i, ch in enumerate(pk[1].chunks) if ch.mode == CHUNK_INTER)
    bad = _with_packets(data, [pk[0].prefix(c)] + pk[1:])  # frame 0 no longer carries channel c
    with pytest.raises(BitstreamError) as info:
        decode_symbols(bad, model)
    assert info.value.code == "E_REFERENCE" and "E_REFERENCE" in BITSTREAM_ERROR_CODES
    d = decode_symbols(bad, model, keep_going=True)
    assert 1 in d.frame_indices or d.lost[0][0] == 1
    assert d.lost and d.lost[0][0] == 1 and all("[E_REFERENCE]" in e for e in d.errors[:1])
    # frames 2 and 3 reference the lost frame 1 (or a frame before it): lost too, never decoded against frame 0
    assert d.frame_indices == [0]
    tl = timeline(d.frame_indices, d.lost, d.header.frame_count)
    assert len(tl.source) == 4 and tl.repeated == [1, 2, 3]


def _check_keep_going(damaged: bytes, model, full: dict, n_frames: int) -> None:
    try:
        d = decode_symbols(damaged, model, keep_going=True)
    except BitstreamError as exc:  # header faults stay fatal
        assert exc.code in BITSTREAM_ERROR_CODES
        return
    for i, sym in zip(d.frame_indices, d.symbols):  # never a frame decoded against a wrong reference
        assert np.array_equal(sym, full[i]), i
    if d.frame_indices and d.header.frame_count:
        tl = timeline(d.frame_indices, d.lost, d.header.frame_count)
        assert len(tl.source) == n_frames


def test_every_bit_flip_and_every_cut_of_an_inter_stream(model):
    fr = fixed_camera_frames(3, 16, 24)
    frames = [fr[0], fr[0], fr[1], fr[1], fr[1], fr[2]]  # repeated frames: their chunks come out inter
    data = encode_frames(frames, model, channels=3, entropy="inter", keyframe_interval=3)
    assert any(c.mode == CHUNK_INTER for p in parse_stream(data).packets for c in p.chunks)
    assert len(data) < 200
    full = _symbols_by_index(decode_symbols(data, model))
    for bit in range(8 * len(data)):
        bad = bytearray(data)
        bad[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(BitstreamError) as info:
            decode_symbols(bytes(bad), model)
        assert info.value.code in BITSTREAM_ERROR_CODES
        _check_keep_going(bytes(bad), model, full, len(frames))
    for cut in range(len(data)):
        with pytest.raises(BitstreamError) as info:
            decode_symbols(data[:cut], model)
        assert info.value.code in BITSTREAM_ERROR_CODES
        _check_keep_going(data[:cut], model, full, len(frames))


def test_lost_inter_frame_resumes_at_the_next_keyframe(model, frames):
    data = encode_frames(frames, model, entropy="inter", keyframe_interval=4)
    parsed = parse_stream(data)
    off = parsed.packet_offsets[2]
    bad = bytearray(data)
    bad[off + 6] ^= 0x40  # frame 2's packet fails its CRC
    d = decode_symbols(bytes(bad), model, keep_going=True)
    full = _symbols_by_index(decode_symbols(data, model))
    assert d.frame_indices[:2] == [0, 1] and 4 in d.frame_indices
    assert all(i not in d.frame_indices for i in (2, 3) if any(
        c.mode == CHUNK_INTER for c in parsed.packets[i].chunks))
    for i, sym in zip(d.frame_indices, d.symbols):
        assert np.array_equal(sym, full[i])
    tl = timeline(d.frame_indices, d.lost, d.header.frame_count)
    assert len(tl.source) == len(frames) and 2 in tl.repeated


def test_entropy_mode_4_is_version_2_only():
    h = StreamHeader(bytes(32), 8, 8, 12, 4, STREAM_ENTROPY_INTER, version=1)
    with pytest.raises(BitstreamError, match="entropy mode 4"):
        h.pack()
    assert CHUNK_CTX_HUFFMAN == 2 and CHUNK_INTER == 3


def test_independent_spec_decoder_agrees(model, frames):
    """bitstream_spec/mcuc_chunks.py (plain Python, written from §6.7) decodes the hand example and a whole
    inter stream (construct grammar of mcuc_construct.py for the container) to refcodec's symbols."""
    from spec_check import check_stream_module

    chunks = check_stream_module.mcuc_chunks
    table = _b1_table().tolist()
    assert chunks.decode_inter_chunk(b"\xff\xf0", 3, 1, [0, 1, 0], table) == [1, 1, 0]
    assert chunks.decode_inter_chunk(b"", 3, 1, [0, 0, 0], table) == [0, 0, 0]
    with pytest.raises(chunks.ChunkError):
        chunks.decode_inter_chunk(b"\xff\xf0\x00", 3, 1, [0, 1, 0], table)
    data = encode_frames(frames, model, channels=5, entropy="inter", keyframe_interval=4)
    e = model.entropy
    spec = check_stream_module.decode_symbols(data, e.code_lengths.tolist(), e.context_lengths.tolist(),
                                              e.inter_freqs.tolist())
    ours = decode_symbols(data, model)
    lh, lw = ours.symbols[0].shape[:2]
    for sym, chans in zip(ours.symbols, spec):
        assert len(chans) == 5
        for c, ch in enumerate(chans):
            assert ch == sym[:, :, c].ravel().tolist()
    # a frame whose inter chunk lost its reference: the spec decoder says E_REFERENCE as well
    pk = list(parse_stream(data).packets)
    c = next(i for i, ch in enumerate(pk[1].chunks) if ch.mode == CHUNK_INTER)
    bad = _with_packets(data, [pk[0].prefix(c)] + pk[1:])
    with pytest.raises(check_stream_module.StreamCheckError, match="E_REFERENCE"):
        check_stream_module.decode_symbols(bad, e.code_lengths.tolist(), e.context_lengths.tolist(),
                                           e.inter_freqs.tolist())


def test_cli_encode_info_and_keep_going_decode(model, frames, tmp_path):
    """`encode --entropy inter -i 4`, `info` (keyframes), and `decode --keep-going` of a stream whose frame 1 is
    damaged: frames 1-3 (inter, their reference chain broken) are concealed, 4 (a keyframe) decodes again, and
    the output has one frame per timeline slot."""
    import json as _json

    from click.testing import CliRunner
    from PIL import Image

    from refcodec.cli.main import cli

    src = tmp_path / "frames"
    src.mkdir()
    for i, f in enumerate(frames):
        Image.fromarray(f).save(src / f"f{i:02d}.png")
    run = lambda *a: CliRunner().invoke(cli, [str(x) for x in a])  # noqa: E731
    r = run("encode", src, "-o", tmp_path / "v.mcuc", "--entropy", "inter", "-i", 4, "--fps", "10", "--json")
    assert r.exit_code == 0, r.output
    r = run("info", tmp_path / "v.mcuc", "--json")
    info = _json.loads(r.output)
    assert info["entropy"] == "inter" and info["keyframes"] == [0, 4]
    data = bytearray((tmp_path / "v.mcuc").read_bytes())
    data[info["frames"][1]["offset"] + 6] ^= 0x10
    (tmp_path / "bad.mcuc").write_bytes(bytes(data))
    r = run("decode", tmp_path / "bad.mcuc", "-o", tmp_path / "bad.mcuc.mcuc", "--keep-going")
    assert r.exit_code == 2  # an .mcuc decode output is refused
    r = run("decode", tmp_path / "bad.mcuc", "-o", tmp_path / "out", "--keep-going", "--json")
    assert r.exit_code == 0, r.output
    out = _json.loads(r.output[r.output.index("{"):])
    assert out["lost"] == [[1, 3]] and out["repeated"] == [1, 2, 3]
    assert len(list((tmp_path / "out").glob("*.png"))) == len(frames)
    r = run("decode", tmp_path / "bad.mcuc", "-o", tmp_path / "out2")
    assert r.exit_code == 5 and "[E_CRC]" in r.output


def test_model_file_with_a_bad_inter_table_is_rejected(model, tmp_path):
    """Spec §4.1: every inter_freqs row sums to 4096 with entries >= 1; a file that breaks it is a model file error
    when it is loaded (and its id covers the table: a changed table is a new id)."""
    import zipfile

    from refcodec.model.modelfile import load_model, save_model

    good = tmp_path / "m.npz"
    save_model(model, good)
    assert load_model(good).model_id == model.model_id
    bad = tmp_path / "bad.npz"
    with zipfile.ZipFile(good) as zin, zipfile.ZipFile(bad, "w") as zout:
        for item in zin.infolist():
            data = zin.read(item.filename)
            if item.filename == "entropy.inter_freqs.npy":
                arr = np.load(__import__("io").BytesIO(data), allow_pickle=False).copy()
                arr[5, 0] += 1  # row 5 now sums to 4097
                buf = __import__("io").BytesIO()
                np.save(buf, arr)
                data = buf.getvalue()
            zout.writestr(item, data)
    with pytest.raises(ModelFileError, match="sum to 4097"):
        load_model(bad)
