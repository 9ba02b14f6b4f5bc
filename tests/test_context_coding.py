"""Context-adaptive static Huffman coding (spec §6.6, entropy_mode 2, CHUNK_CTX_HUFFMAN = 2).

Proof of bit-exactness against things that are not refcodec's coder: the hand-computed example of SPEC §6.6,
the plain-Python reference decoder written from the spec (bitstream_spec/mcuc_chunks.py, used through
check_stream.decode_symbols), §6.2's canonical-code loop (refcodec.entropy.huffman.canonical_codes) for every
context row, and the C firmware (tests/test_firmware.py runs the ctx vectors and a multi-frame ctx stream).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from spec_check import check_stream_module, spec_valid
from datasets import VIDEO, needs, needs_train

from refcodec.bitstream import parse_stream
from refcodec.bitstream.container import Chunk
from refcodec.bitstream.format import CHUNK_CTX_HUFFMAN, CHUNK_RAW, STREAM_ENTROPY_CTX, STREAM_ENTROPY_HUFFMAN
from refcodec.codec import decode_symbols, encode_frames, frame_symbols, truncate_stream
from refcodec.entropy.chunk import decode_channel, encode_channel
from refcodec.entropy.context import ContextCoder, context_indices, context_params
from refcodec.entropy.huffman import build_code_lengths, canonical_codes
from refcodec.entropy.raw import raw_pack
from refcodec.entropy.tables import context_counts, fit_context_lengths, fit_entropy_tables
from refcodec.errors import BitstreamError, InvalidArgumentError, ModelFileError
from refcodec.model.modelfile import EntropyTables, load_model, save_model

ROOT = Path(__file__).resolve().parents[1]
VECTORS = ROOT / "vectors"
ENTROPY_MODE_AT = 20  # offset of entropy_mode in a container version 2 header (spec §7.1)
mcuc_chunks = check_stream_module.mcuc_chunks


def _hand_tables() -> np.ndarray:
    """SPEC §6.6 example tables at b = 2 (NB = 4, none = 4, 25 contexts): p = L if L < 4, else T if T < 4,
    else 0; symbol p gets length 1, the other three 2, 3, 3 in increasing symbol order."""
    rows = []
    for ctx in range(25):
        left, top = divmod(ctx, 5)
        p = left if left < 4 else (top if top < 4 else 0)
        lengths = [0] * 4
        lengths[p] = 1
        for length, s in zip((2, 3, 3), [s for s in range(4) if s != p]):
            lengths[s] = length
        rows.append(lengths)
    return np.array(rows, np.uint8)


HAND_GRID = np.array([[1, 1, 1], [1, 3, 3], [0, 0, 2]], np.uint8)


def test_spec_example_b2_hand_computed():
    """SPEC §6.6 example, worked by hand:
    contexts (L, T): (4,4) (1,4) (1,4) / (4,1) (1,1) (3,1) / (4,1) (0,3) (0,3) -> ctx = 5L + T:
    24 9 9 / 21 6 16 / 21 3 3; predictions p = 0 1 1 / 1 1 3 / 1 0 0; the symbol equal to p is `0`, the others
    `10`, `110`, `111` in increasing order. Symbols 1 1 1 / 1 3 3 / 0 0 2 -> 10 0 0 / 0 111 0 / 10 0 110
    = 15 bits 100001110100110 + one zero pad bit = 10000111 01001100 = 0x87 0x4C. Raw would be 3 bytes, so the
    chunk is CHUNK_CTX_HUFFMAN."""
    assert context_params(2) == (0, 4, 25)
    assert context_indices(HAND_GRID, 2).tolist() == [24, 9, 9, 21, 6, 16, 21, 3, 3]
    coder = ContextCoder(_hand_tables(), 2)
    assert coder.codes[24].tolist() == [0b0, 0b10, 0b110, 0b111]   # p = 0
    assert coder.codes[16].tolist() == [0b10, 0b110, 0b111, 0b0]   # p = 3
    chunk = encode_channel(HAND_GRID, 2, None, coder)
    assert chunk == Chunk(CHUNK_CTX_HUFFMAN, bytes([0x87, 0x4C]))
    assert coder.decode(chunk.data, 3, 3).tolist() == HAND_GRID.ravel().tolist()
    assert decode_channel(chunk, 2, 9, None, coder, 3).tolist() == HAND_GRID.ravel().tolist()
    # the spec-only plain-Python decoder
    assert mcuc_chunks.decode_chunk(2, chunk.data, 2, 3, 3, None, _hand_tables().tolist()) == HAND_GRID.ravel().tolist()


def test_spec_rule_raw_when_not_fewer_bytes():
    """Symbols 1 1 2 / 1 3 3 / 0 3 2 cost 10 0 110 / 0 111 0 / 10 111 111 = 19 bits = 3 bytes, not fewer than
    raw's ceil(9 * 2 / 8) = 3: the §6.4 rule makes the chunk raw (2-bit symbols packed: 0x59 0xF3 0x80)."""
    grid = np.array([[1, 1, 2], [1, 3, 3], [0, 3, 2]], np.uint8)
    coder = ContextCoder(_hand_tables(), 2)
    assert coder.coded_bits(grid) == 19
    chunk = encode_channel(grid, 2, None, coder)
    # 01 01 10 01 | 11 11 00 11 | 10 (pad 000000)
    assert chunk == Chunk(CHUNK_RAW, bytes([0b01011001, 0b11110011, 0b10000000]))
    assert chunk.data == raw_pack(grid.ravel(), 2)


def test_uncodable_symbol_and_empty_tables_give_raw():
    tables = _hand_tables()
    tables[9] = 0  # context (L=1, T=none): no code; the hand grid uses it at (0, 1)
    chunk = encode_channel(HAND_GRID, 2, None, ContextCoder(tables, 2))
    assert chunk.mode == CHUNK_RAW
    empty = ContextCoder(np.zeros((25, 4), np.uint8), 2)
    assert empty.empty and encode_channel(np.zeros((3, 3), np.uint8), 2, None, empty).mode == CHUNK_RAW
    with pytest.raises(BitstreamError, match="context tables are empty") as info:
        decode_channel(Chunk(CHUNK_CTX_HUFFMAN, b"\x00"), 2, 9, None, empty, 3)
    assert info.value.code == "E_CHUNK"
    # a context chunk that reaches a context without codes: 15 bits read, none is a code (§6.2 decode_symbol)
    with pytest.raises(BitstreamError, match="not a code") as info:
        ContextCoder(tables, 2).decode(bytes([0x87, 0x4C, 0, 0, 0]), 3, 3)
    assert info.value.code == "E_CHUNK"


@pytest.mark.parametrize("data, match", [
    (bytes([0x87]), "ends before"),                  # cut
    (bytes([0x87, 0x4C, 0x00]), "has 3 bytes"),      # trailing byte
    (bytes([0x87, 0x4D]), "padding"),                # padding bit set
])
def test_bad_context_chunks_are_e_chunk(data, match):
    coder = ContextCoder(_hand_tables(), 2)
    with pytest.raises(BitstreamError, match=match) as info:
        decode_channel(Chunk(CHUNK_CTX_HUFFMAN, data), 2, 9, None, coder, 3)
    assert info.value.code == "E_CHUNK"
    with pytest.raises(mcuc_chunks.ChunkError):
        mcuc_chunks.decode_chunk(2, data, 2, 3, 3, None, _hand_tables().tolist())


@pytest.mark.parametrize("bits, expected", [(1, (0, 2, 9)), (2, (0, 4, 25)), (3, (0, 8, 81)), (4, (0, 16, 289)),
                                            (5, (1, 16, 289)), (6, (2, 16, 289)), (8, (4, 16, 289))])
def test_context_params_per_bit_depth(bits, expected):
    assert context_params(bits) == expected


def test_context_indices_bucket_by_hand_at_8_bits():
    """b = 8: shift 4, NB 16, none 16: bucket(0x57) = 5, bucket(0xF0) = 15, bucket(0x0F) = 0."""
    grid = np.array([[0x57, 0xF0], [0x0F, 0x33]], np.uint8)
    # (0,0): (16,16); (0,1): L=5, T=16; (1,0): L=16, T=5; (1,1): L=0, T=15
    assert context_indices(grid, 8).tolist() == [16 * 17 + 16, 5 * 17 + 16, 16 * 17 + 5, 0 * 17 + 15]


def _random_tables(rng, bits: int) -> np.ndarray:
    _, _, nctx = context_params(bits)
    rows = []
    for _ in range(nctx):
        counts = rng.integers(0, 50, size=1 << bits) * (rng.random(1 << bits) < 0.9)
        counts[rng.integers(0, 1 << bits)] += 1  # at least one symbol codable
        rows.append(build_code_lengths(counts.astype(np.int64), 15))
    return np.array(rows, np.uint8)


@pytest.mark.parametrize("bits", [1, 3, 5, 8])
def test_codes_and_round_trip_against_independent_decoder(bits):
    """Random tables (some symbols without code) and symbols: every context row's codes equal §6.2's loop, and
    every coded chunk decodes to the same symbols with the plain-Python decoder and the numba decoder."""
    rng = np.random.default_rng(bits)
    tables = _random_tables(rng, bits)
    coder = ContextCoder(tables, bits)
    for row in range(tables.shape[0]):
        if tables[row].any():
            assert coder.codes[row].tolist() == canonical_codes(tables[row]).tolist()
    coded = 0
    for h, w in [(1, 1), (1, 7), (6, 1), (5, 9), (12, 11)]:
        # walk a codable sequence: draw each symbol among those with a code in its context
        sym = np.zeros((h, w), np.uint8)
        for y in range(h):
            for x in range(w):
                ctx = context_indices(sym, bits).reshape(h, w)[y, x]
                choices = np.flatnonzero(tables[ctx])
                sym[y, x] = rng.choice(choices)
        data = coder.encode(sym)
        assert data is not None and len(data) == (coder.coded_bits(sym) + 7) // 8
        assert mcuc_chunks.decode_chunk(2, data, bits, w, h, None, tables.tolist()) == sym.ravel().tolist()
        assert coder.decode(data, h, w).tolist() == sym.ravel().tolist()
        coded += 1
    assert coded == 5


def test_fit_context_tables_counts_and_smoothing():
    """Two 2x2 frames of one channel at b = 1 (NB 2, none 2, ctx = 3L + T): frame [[0,1],[1,1]] has contexts
    8, 2, 6, 4 (symbols 0, 1, 1, 1); frame [[1,1],[1,1]]: 8, 5, 7, 4 (all 1)."""
    frames = [np.array([[0, 1], [1, 1]], np.uint8)[:, :, None], np.array([[1, 1], [1, 1]], np.uint8)[:, :, None]]
    counts = context_counts(frames, 1)
    expected = np.zeros((1, 9, 2), np.int64)
    for ctx, s in [(8, 0), (2, 1), (6, 1), (4, 1), (8, 1), (5, 1), (7, 1), (4, 1)]:
        expected[0, ctx, s] += 1
    assert np.array_equal(counts, expected)
    lengths = fit_context_lengths(frames, 1)
    assert lengths.shape == (1, 9, 2) and (lengths == 1).all()  # +1 smoothing: every context codes both symbols
    tables = fit_entropy_tables(frames, 1)
    assert np.array_equal(tables.context_lengths, lengths)
    assert fit_entropy_tables(frames, 1, context=False).context_lengths is None


def test_model_file_context_tables_validated_and_hashed(tmp_path):
    from refcodec.model.random_model import make_random_model

    base = make_random_model(0)  # b = 5
    plain = EntropyTables(np.full((12, 32), 5, np.uint8))
    ctx = np.full((12, 289, 32), 5, np.uint8)
    ctx[11] = 0
    with_ctx = base.with_entropy(EntropyTables(plain.code_lengths, ctx))
    without = base.with_entropy(plain)
    assert with_ctx.has_context_tables and not without.has_context_tables
    assert with_ctx.model_id != without.model_id
    assert "context_tables" not in without.header()["entropy"]  # ids of models without context tables unchanged
    path = save_model(with_ctx, tmp_path / "m.npz")
    loaded = load_model(path)
    assert loaded.model_id == with_ctx.model_id
    assert np.array_equal(loaded.entropy.context_lengths, ctx)
    assert loaded.entropy.context_coders[11].empty and not loaded.entropy.context_coders[0].empty
    bad = ctx.copy()
    bad[3, 7, :3] = 1  # three codes of length 1: Kraft violated
    with pytest.raises(InvalidArgumentError, match="Kraft"):
        EntropyTables(plain.code_lengths, bad)
    with pytest.raises(InvalidArgumentError, match=r"\[\.\.\., 289, 32\]"):
        EntropyTables(plain.code_lengths, ctx[:, :10])
    # a model file whose stored context array violates Kraft is refused on load, for the Kraft violation (the
    # content is validated before the id is compared; test_modelfile_spec.py repeats it with a correct id)
    arrays = dict(np.load(path, allow_pickle=False))
    arrays["entropy.context_code_lengths"] = bad
    np.savez(tmp_path / "bad.npz", **arrays)
    with pytest.raises(ModelFileError, match="Kraft"):
        load_model(tmp_path / "bad.npz")


@pytest.fixture(scope="module")
def ctx_model():
    return load_model(VECTORS / "models" / "rand-ctx.npz")


@pytest.fixture(scope="module")
def frames():
    from refcodec.media import open_media

    from datasets import PHOTO_96x128

    img = next(open_media(PHOTO_96x128).frames)[:45, :67]
    return [np.ascontiguousarray(img), np.ascontiguousarray(img[::-1, ::-1])]


def test_encoder_modes_and_round_trip(ctx_model, frames):
    data = spec_valid(encode_frames(frames, ctx_model, channels=12))  # auto: ctx
    assert data[ENTROPY_MODE_AT] == STREAM_ENTROPY_CTX
    assert encode_frames(frames, ctx_model, entropy="ctx") == data
    assert encode_frames(frames, ctx_model, entropy="huffman")[ENTROPY_MODE_AT] == STREAM_ENTROPY_HUFFMAN
    out = decode_symbols(data, ctx_model)
    for f, sym in zip(frames, out.symbols):
        assert np.array_equal(sym, frame_symbols(ctx_model, f))
    # the independent decoder (construct grammar + mcuc_chunks) gives the same symbols
    indep = check_stream_module.decode_symbols(data, ctx_model.entropy.code_lengths.tolist(),
                                               ctx_model.entropy.context_lengths.tolist())
    for sym, chans in zip(out.symbols, indep):
        assert [sym[:, :, c].ravel().tolist() for c in range(12)] == chans
    # truncation (§9) keeps context chunks decodable
    cut = truncate_stream(data, channels=4)
    t = decode_symbols(spec_valid(cut), ctx_model)
    assert np.array_equal(t.symbols[0][:, :, :4], out.symbols[0][:, :, :4]) and not t.symbols[0][:, :, 4:].any()
    plain = load_model(VECTORS / "models" / "rand-double.npz")
    with pytest.raises(ModelFileError, match="no context tables"):
        encode_frames(frames, plain, entropy="ctx")
    assert encode_frames(frames, plain)[ENTROPY_MODE_AT] == STREAM_ENTROPY_HUFFMAN  # auto without context tables
    with pytest.raises(BitstreamError) as info:  # a ctx stream decoded without the tables
        decode_symbols(data, None)
    assert info.value.code == "E_CHUNK"


@pytest.mark.parametrize("name", sorted(p.parent.name for p in VECTORS.glob("ctx_*/vector.json")))
def test_ctx_vectors_decode_with_the_independent_decoder(name, ctx_model):
    rec = json.loads((VECTORS / name / "vector.json").read_text())
    data = (VECTORS / name / "stream.mcuc").read_bytes()
    h, w = -(-rec["height"] // 8), -(-rec["width"] // 8)
    want = np.frombuffer((VECTORS / name / "symbols.bin").read_bytes(), np.uint8).reshape(h, w, 12)
    streams = [data] + [p.read_bytes() for p in (VECTORS / name).glob("stream_v1.mcuc")]  # v1: entropy_mode 2 too
    for stream in streams:
        chans = check_stream_module.decode_symbols(stream, ctx_model.entropy.code_lengths.tolist(),
                                                   ctx_model.entropy.context_lengths.tolist())[0]
        assert len(chans) == rec["channels_sent"]
        for c, got in enumerate(chans):
            assert got == want[:, :, c].ravel().tolist(), f"channel {c}"
    assert data[ENTROPY_MODE_AT] == (STREAM_ENTROPY_CTX if rec["entropy"] == "ctx" else STREAM_ENTROPY_HUFFMAN)


def test_independent_decoder_rejects_the_invalid_chunk_streams(ctx_model):
    """The E_CHUNK conformance streams (huffman and context chunks cut, with a trailing byte, non-zero padding)
    pass the container grammar but not the spec-only chunk decoder; the other streams of the same base decode."""
    invalid = json.loads((VECTORS / "invalid" / "invalid.json").read_text())
    assert invalid["model"]["name"] == "rand-ctx"
    tables = (ctx_model.entropy.code_lengths.tolist(), ctx_model.entropy.context_lengths.tolist())
    chunk_cases = [c for c in invalid["cases"] if c["error"] == "E_CHUNK"]
    assert {c["number"] for c in chunk_cases} >= {25, 26, 27, 39, 40}
    for case in chunk_cases:
        with pytest.raises(check_stream_module.StreamCheckError, match="channel"):
            check_stream_module.decode_symbols((VECTORS / "invalid" / case["file"]).read_bytes(), *tables)


def test_check_stream_cli_decodes_with_a_model_file():
    import subprocess
    import sys

    script = ROOT / "bitstream_spec" / "check_stream.py"
    good = VECTORS / "ctx_kodim01_crop64" / "stream.mcuc"
    bad = VECTORS / "invalid" / "40-ctx-chunk-trailing-byte.mcuc"
    proc = subprocess.run([sys.executable, str(script), "--model", str(VECTORS / "models" / "rand-ctx.npz"),
                           str(good), str(bad)], capture_output=True, text=True)
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 1 and [line["ok"] for line in lines] == [True, False]
    assert lines[0]["entropy_mode"] == 2 and len(lines[0]["symbols_sha256"]) == 64
    # without --model only the container is checked: the chunk fault is not seen
    proc = subprocess.run([sys.executable, str(script), str(bad)], capture_output=True, text=True)
    assert proc.returncode == 0


def test_cli_encode_entropy_ctx_and_info(tmp_path, frames):
    import imageio.v3 as iio

    from refcodec.cli.main import cli

    iio.imwrite(tmp_path / "a.png", frames[0])
    model = str(VECTORS / "models" / "rand-ctx.npz")
    runner = CliRunner()
    for mode in ("ctx", "huffman", "raw"):
        res = runner.invoke(cli, ["encode", str(tmp_path / "a.png"), "-o", str(tmp_path / f"{mode}.mcuc"),
                                  "--model", model, "--entropy", mode, "--json"])
        assert res.exit_code == 0, res.output
        assert json.loads(res.output)["entropy"] == mode
    res = runner.invoke(cli, ["info", str(tmp_path / "ctx.mcuc"), "--json"])
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["entropy"] == "ctx"
    assert "ctx" in json.dumps(info)  # chunk modes are named
    res = runner.invoke(cli, ["encode", str(tmp_path / "a.png"), "-o", str(tmp_path / "x.mcuc"),
                              "--model", str(VECTORS / "models" / "rand-double.npz"), "--entropy", "ctx"])
    assert res.exit_code != 0 and "no context tables" in res.output and not (tmp_path / "x.mcuc").exists()


def test_measure_reports_both_modes(tmp_path, frames, ctx_model):
    """`python -m refcodec.entropy.measure` (spec 11.1): a huffman and a ctx section whose chunk bytes are what
    the encoder writes (it also checks every chunk decodes back)."""
    import imageio.v3 as iio

    from refcodec.entropy.measure import measure

    for i, f in enumerate(frames):
        iio.imwrite(tmp_path / f"{i}.png", f)
    out = measure(ctx_model, tmp_path, None)
    assert out["images"] == 2 and set(out) >= {"huffman", "ctx", "ctx_saving_vs_huffman_percent"}
    payload = {m: sum(len(c.data) for f in frames
                      for c in parse_stream(encode_frames([f], ctx_model, entropy=m)).packets[0].chunks)
               for m in ("huffman", "ctx")}
    n = out["symbols_per_channel"] * 12
    for m in ("huffman", "ctx"):
        assert out[m]["coded_bits_per_symbol"] == round(payload[m] * 8 / n, 4)


def test_c_header_carries_context_tables(ctx_model):
    from refcodec.firmware.c_header import c_header_text

    text = c_header_text(ctx_model)
    assert "#define RC_HAS_CTX_HUFFMAN 1" in text
    assert "#define RC_CTX_BUCKET_SHIFT 1" in text and "#define RC_CTX_BUCKETS 16" in text
    assert "#define RC_CTX_COUNT 289" in text
    assert "rc_ctx_code_lengths[RC_LATENT_CHANNELS * RC_CTX_COUNT][1 << RC_LQ_BITS]" in text
    assert "#define RC_HAS_CTX_HUFFMAN 0" in c_header_text(load_model(VECTORS / "models" / "rand-double.npz"))


def _bundled_copy(tmp_path: Path):
    """A copy of the bundled assets folder: (folder, its encoder model, its decoder's arrays)."""
    from refcodec.decoder.weights import find_bundled, read_decoder_weights

    assets = tmp_path / "assets"
    assets.mkdir()
    for p in (ROOT / "refcodec" / "assets").glob("*.npz"):
        shutil.copy(p, assets / p.name)
    return assets, load_model(next(assets.glob("encoder-*.npz"))), read_decoder_weights(find_bundled(assets))[0]


@needs_train
def test_refit_tables_command(tmp_path):
    pytest.importorskip("torch")
    from refcodec.decoder.weights import find_bundled, read_decoder_weights
    from refcodec.training.pipeline import main

    assets, old, old_dec = _bundled_copy(tmp_path)
    assert main(["refit-tables", "--assets", str(assets), "--images", "3"]) == 0
    encs = list(assets.glob("encoder-*.npz"))
    assert len(encs) == 1
    new = load_model(encs[0])
    assert new.has_context_tables and new.model_id != old.model_id
    assert encs[0].name == f"encoder-{new.model_id[:8]}.npz"
    assert all(np.array_equal(a.weights, b.weights) for a, b in zip(new.layers, old.layers))
    arrays, meta = read_decoder_weights(find_bundled(assets))
    assert meta["encoder_model_id"] == new.model_id
    assert all(np.array_equal(arrays[k], old_dec[k]) for k in old_dec)


@needs(VIDEO, "the video clips")
def test_fit_inter_command_writes_one_paired_model(tmp_path, capsys):
    """python -m refcodec.training.fit_inter on a copy of the bundled files: one encoder with the new inter table
    (new id), the decoder's weights unchanged and paired with it (refcodec.training.assets.save_pair)."""
    from refcodec.decoder.weights import find_bundled, read_decoder_weights
    from refcodec.training.fit_inter import main

    assets, old, old_dec = _bundled_copy(tmp_path)
    assert main(["--assets", str(assets), "--clips", "car-detection", "--frames", "3", "--size", "64x48",
                 "--video", str(VIDEO)]) == 0
    encs = list(assets.glob("encoder-*.npz"))
    assert len(encs) == 1 and len(list(assets.glob("decoder-*.npz"))) == 1
    new = load_model(encs[0])
    assert new.has_inter_tables and new.model_id != old.model_id  # fitted on 2 frame pairs: another table
    assert np.array_equal(new.entropy.context_lengths, old.entropy.context_lengths)
    arrays, meta = read_decoder_weights(find_bundled(assets))
    assert meta["encoder_model_id"] == new.model_id
    assert all(np.array_equal(arrays[k], old_dec[k]) for k in old_dec)
    assert json.loads(capsys.readouterr().out)["model_id"] == new.model_id
