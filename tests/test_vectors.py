"""Conformance vectors (vectors/): byte-for-byte regeneration, integrity, and every layer checked against
independent implementations: TFLite Micro's interpreter for the double-rounding vectors, hand-computed
single-rounding requantization (plain Python integers, the spec's formula) for the single-rounding ones."""

from __future__ import annotations

import hashlib
import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

from refcodec.bitstream.container import StreamHeader
from refcodec.codec import check_model, decode_symbols
from refcodec.errors import BitstreamError, ModelMismatchError
from refcodec.model.modelfile import load_model
from refcodec.vectors.generate import VECTOR_SPECS, check_vectors

ROOT = Path(__file__).resolve().parents[1] / "vectors"
VECTORS = sorted(p.parent.name for p in ROOT.glob("*/vector.json"))
TENSORS = ("input", "conv1", "conv2", "latent", "symbols")
HEADER_STAGE = {"E_MAGIC", "E_VERSION", "E_HEADER", "E_MODEL"}
# sha256 of these vectors' stream.mcuc as committed in container version 1 (by refcodec 0.1, and by the context
# coding work before version 2 existed): the regenerated stream_v1.mcuc must be those very bytes, and must still
# decode.
V1_STREAM_SHA256 = {
    "kodim23_224": "3e3557b58e82184c3c68eb629281e8494e7fddd07b1323c9eaca6768ffe54646",
    "kodim03_raw_entropy": "9993554dadbeaa2565ecf703258906a7c1f44132b073884f81584077aa82bde3",
    # a context-Huffman (entropy_mode 2) stream as the ctx branch committed it, in container version 1
    "ctx_kodim01_crop64": "37600bc76424f75fc49d3084c5deb2ebbc05a2cca69e9befaf657222eb859935",
}


def _record(name: str) -> dict:
    return json.loads((ROOT / name / "vector.json").read_text())


def _model(name: str):
    return load_model(ROOT / "models" / f"{_record(name)['model']['name']}.npz")


def _tensor(name: str, tensor: str, frame: int = 0) -> np.ndarray:
    rec = _record(name)
    dtype = {"symbols": np.uint8, "dequantized": np.dtype("<f4")}.get(tensor, np.int8)
    folder = ROOT / name / rec["tensor_dirs"][frame]
    return np.fromfile(folder / f"{tensor}.bin", dtype=dtype).reshape(rec["shapes"][tensor])[0]


def _png(name: str, frame: int = 0) -> np.ndarray:
    import imageio.v3 as iio

    return np.asarray(iio.imread(ROOT / name / _record(name)["inputs"][frame]))[..., :3]


@pytest.mark.parametrize("name", sorted(V1_STREAM_SHA256))
def test_version_1_streams_still_decode(name):
    """Backward compatibility (spec §7.6): the version 1 stream of a vector is the one refcodec 0.1 committed,
    decodes to the vector's symbols, and carries the same chunks as its version 2 stream."""
    v1 = (ROOT / name / "stream_v1.mcuc").read_bytes()
    v2 = (ROOT / name / "stream.mcuc").read_bytes()
    assert hashlib.sha256(v1).hexdigest() == V1_STREAM_SHA256[name]
    model = _model(name)
    d1, d2 = decode_symbols(v1, model), decode_symbols(v2, model)
    assert (d1.header.version, d2.header.version) == (1, 2)
    assert np.array_equal(d1.symbols[0], _tensor(name, "symbols")) and np.array_equal(d2.symbols[0], d1.symbols[0])
    from refcodec.bitstream import parse_stream

    assert parse_stream(v1).packets[0].chunks == parse_stream(v2).packets[0].chunks
    assert len(v1) - len(v2) > 60  # the lean container saves the header and table bytes


def test_every_spec_has_a_committed_vector():
    assert VECTORS == sorted(s.name for s in VECTOR_SPECS)
    assert len(VECTORS) >= 30


def test_vectors_check_regenerates_byte_for_byte():
    """`refcodec vectors check`: regenerate every file and compare (this is the CI run)."""
    assert check_vectors(ROOT) == []


def test_vectors_check_does_not_depend_on_refcodecs_version(monkeypatch):
    """Issue 12 item 4: a release (a new refcodec.__version__) must not change any vector file."""
    import refcodec

    monkeypatch.setattr(refcodec, "__version__", "99.0.0")
    assert check_vectors(ROOT) == []
    assert not any("refcodec_version" in json.loads(p.read_text()) for p in ROOT.glob("*/vector.json"))


def test_verify_cli_takes_one_k_per_frame():
    """`refcodec verify VECTOR_DIR stream --channels K0,K1,...` on a vector whose k changes per frame."""
    from click.testing import CliRunner

    from refcodec.cli.main import cli

    name = "video_bottle_k_per_frame"
    rec = _record(name)
    args = ["verify", str(ROOT / name), str(ROOT / name / "stream.mcuc"), "--layers", str(ROOT / name),
            "--model", str(ROOT / "models" / "rand-double.npz"), "--json"]
    ks = ",".join(map(str, rec["channels_per_frame"]))
    res = CliRunner().invoke(cli, [*args, "--channels", ks])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["frames"] == rec["frames"]
    res = CliRunner().invoke(cli, [*args, "--channels", "12"])
    assert res.exit_code == 7 and "expected b'MF', 1, 12" in res.stdout
    res = CliRunner().invoke(cli, [*args, "--channels", "12,x"])
    assert res.exit_code == 2


def test_vectors_check_reports_a_changed_byte_and_an_extra_file(tmp_path):
    copy = tmp_path / "vectors"
    shutil.copytree(ROOT, copy)
    target = copy / "size_7x9" / "conv2.bin"
    data = bytearray(target.read_bytes())
    data[3] ^= 1
    target.write_bytes(bytes(data))
    (copy / "size_7x9" / "stray.bin").write_bytes(b"x")
    assert check_vectors(copy) == ["differs: size_7x9/conv2.bin", "unexpected file: size_7x9/stray.bin"]


def test_vectors_cli_check_passes():
    from click.testing import CliRunner

    from refcodec.cli.main import cli

    result = CliRunner().invoke(cli, ["vectors", "check", "--dir", str(ROOT)])
    assert result.exit_code == 0, result.output


@pytest.mark.parametrize("name", VECTORS)
def test_vector_record_matches_files(name):
    rec = _record(name)
    folder = ROOT / name
    names = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())
    assert names == sorted(["vector.json", *rec["sha256"]])
    for fname, digest in rec["sha256"].items():
        assert hashlib.sha256((folder / fname).read_bytes()).hexdigest() == digest, fname
    n = rec["frames"]
    assert len(rec["inputs"]) == len(rec["tensor_dirs"]) == len(rec["channels_per_frame"]) == n
    assert rec["inputs"] == (["input.png"] if n == 1 else [f"input_{f:04d}.png" for f in range(n)])
    assert rec["tensor_dirs"] == (["."] if n == 1 else [f"frame_{f:04d}/" for f in range(n)])
    ks = rec["channels_per_frame"]
    assert rec["channels_sent"] == (ks[0] if len(set(ks)) == 1 else ks)
    for f in range(n):
        for tensor in (*TENSORS, "dequantized"):
            shape = rec["shapes"][tensor]
            itemsize = 4 if tensor == "dequantized" else 1
            assert (folder / rec["tensor_dirs"][f] / f"{tensor}.bin").stat().st_size == int(np.prod(shape)) * itemsize
            assert shape[1:3] == ([rec["padded_height"], rec["padded_width"]] if tensor == "input" else shape[1:3])
        assert _png(name, f).shape == (rec["height"], rec["width"], 3)
    model = _model(name)
    assert rec["model"]["id"] == model.model_id and rec["rounding"] == model.rounding
    assert rec["generator_version"] and rec["spec_sections"] and rec["what"]
    assert "refcodec_version" not in rec  # a version bump must not change the vectors
    assert rec["symbols_channels"] == model.channels == rec["shapes"]["symbols"][3]


@pytest.mark.parametrize("name", VECTORS)
def test_vector_input_and_symbols_by_the_spec_formulas(name):
    """input.bin = edge-replicated padding then pixel - 128 (spec 3.1, 3.2); symbols.bin = the latent quantizer
    of spec 5 applied in plain Python integers to latent.bin; stream.mcuc decodes to symbols.bin's first k."""
    rec = _record(name)
    model = _model(name)
    lq = model.latent_quantizer
    top = (1 << int(lq.bits)) - 1
    decoded = decode_symbols((ROOT / name / "stream.mcuc").read_bytes(), model)
    ks = rec["channels_per_frame"]
    assert decoded.channels_present == ks and decoded.frame_indices == list(range(rec["frames"]))
    for f, k in enumerate(ks):
        img = _png(name, f).astype(np.int64)
        h, w = img.shape[:2]
        ph, pw = rec["padded_height"], rec["padded_width"]
        ys = np.minimum(np.arange(ph), h - 1)
        xs = np.minimum(np.arange(pw), w - 1)
        expected_input = (img[ys][:, xs] - 128).astype(np.int8)
        assert np.array_equal(_tensor(name, "input", f), expected_input)

        latent = _tensor(name, "latent", f)
        symbols = _tensor(name, "symbols", f)
        for (y, x, c), q in np.ndenumerate(latent):
            d = max(int(q) - int(lq.lo[c]), 0)
            assert symbols[y, x, c] == min((d * int(lq.mult[c]) + (1 << 15)) >> 16, top), (y, x, c)

        assert decoded.header.width == w and decoded.header.height == h
        assert np.array_equal(decoded.symbols[f][..., :k], symbols[..., :k])
        assert not decoded.symbols[f][..., k:].any()


def _f32(x: float) -> float:
    """x rounded to the nearest IEEE-754 binary32 value (ties to even), as a Python float."""
    return struct.unpack("<f", struct.pack("<f", x))[0]


@pytest.mark.parametrize("name", VECTORS)
def test_dequantized_latents_by_the_spec_text(name):
    """dequantized.bin recomputed from the spec text alone (sections 5 and 8.4), without refcodec's decoder: the
    model file read as a plain zip of .npy arrays (`lq.recon`, the JSON header's last layer `output_scale` and
    `output_zero_point`), the arithmetic in Python floats rounded to binary32 after each operation (exact: the
    difference and the product of two binary32 values are exact in binary64), symbols from symbols.bin, 0.0
    for the channels >= k that the stream does not carry."""
    rec = _record(name)
    with np.load(ROOT / "models" / f"{rec['model']['name']}.npz", allow_pickle=False) as z:
        header = json.loads(bytes(z["header"]).decode("utf-8"))
        recon = z["lq.recon"]
    assert recon.dtype == np.float32 and recon.shape[0] == rec["symbols_channels"]
    scale = _f32(header["layers"][-1]["output_scale"])
    zero_point = float(header["layers"][-1]["output_zero_point"])
    for f, k in enumerate(rec["channels_per_frame"]):
        symbols = _tensor(name, "symbols", f)
        got = (ROOT / name / rec["tensor_dirs"][f] / "dequantized.bin").read_bytes()
        lh, lw, C = symbols.shape
        assert len(got) == lh * lw * C * 4
        want = bytearray()
        for y in range(lh):
            for x in range(lw):
                for c in range(C):
                    v = _f32(scale * _f32(float(recon[c, symbols[y, x, c]]) - zero_point)) if c < k else 0.0
                    want += struct.pack("<f", v)
        assert got == bytes(want), f"{name} frame {f}"


DOUBLE = [n for n in VECTORS if _record(n)["rounding"] == "double"]
SINGLE = [n for n in VECTORS if _record(n)["rounding"] == "single"]


@pytest.fixture(scope="module")
def tflm():
    from tflm_oracle import require_tflm

    return require_tflm()


@pytest.mark.parametrize("name", DOUBLE)
def test_double_rounding_vector_layers_match_tflm(name, tflm):
    from tflm_oracle import make_interpreter, run_tflm

    from refcodec.tflite import encoder_model_bytes

    rec = _record(name)
    model = _model(name)
    tfl = encoder_model_bytes(model, rec["padded_height"], rec["padded_width"])
    interp = make_interpreter(tfl, arena_size=8 << 20)
    for f in range(rec["frames"]):
        outs = run_tflm(tfl, _tensor(name, "input", f), interpreter=interp)
        for tensor, theirs in zip(("conv1", "conv2", "latent"), outs):
            ours = _tensor(name, tensor, f)
            assert ours.shape == theirs.shape, tensor
            assert int(np.count_nonzero(ours != theirs)) == 0, f"{name} frame {f} {tensor}.bin differs from TFLM"


def _same_pads(in_size: int, k: int, s: int) -> int:
    out = -(-in_size // s)
    return max((out - 1) * s + k - in_size, 0) // 2


def _single_rounding_output(model, index: int, x: np.ndarray, oy: int, ox: int, c: int) -> int:
    """One output value by spec 4.3 with single rounding, in Python integers (no refcodec kernel)."""
    layer = model.layers[index]
    in_zp = model.input_zero_point if index == 0 else model.layers[index - 1].output_zero_point
    k, s = layer.kernel, layer.stride
    top, left = _same_pads(x.shape[0], k, s), _same_pads(x.shape[1], k, s)
    acc = int(layer.bias[c])
    for ky in range(k):
        iy = oy * s - top + ky
        if not 0 <= iy < x.shape[0]:
            continue
        for kx in range(k):
            ix = ox * s - left + kx
            if not 0 <= ix < x.shape[1]:
                continue
            for ci in range(x.shape[2]):
                acc += (int(x[iy, ix, ci]) - in_zp) * int(layer.weights[c, ky, kx, ci])
    m, shift = int(layer.multiplier[c]), int(layer.shift[c])
    total = 31 - shift
    v = (acc * m + (1 << (total - 1))) >> total
    v += layer.output_zero_point
    return min(max(v, layer.act_min), layer.act_max)


@pytest.mark.parametrize("name", SINGLE)
def test_single_rounding_vector_layers_by_hand(name):
    """Every output value of conv3 and a deterministic sample of conv1/conv2, computed by hand; and the vector
    really differs from double rounding (so it tests the mode)."""
    model = _model(name)
    rng = np.random.default_rng(5)
    tensors = ["input", "conv1", "conv2", "latent"]
    from refcodec.model.encoder import run_encoder

    differs = 0
    for f in range(_record(name)["frames"]):
        for index, (src, dst) in enumerate(zip(tensors, tensors[1:])):
            x, y = _tensor(name, src, f), _tensor(name, dst, f)
            positions = list(np.ndindex(*y.shape)) if dst == "latent" else [
                tuple(int(rng.integers(0, n)) for n in y.shape) for _ in range(300)]
            for oy, ox, c in positions:
                assert y[oy, ox, c] == _single_rounding_output(model, index, x, oy, ox, c), (f, dst, oy, ox, c)
        double = run_encoder(model.with_rounding("double"), np.ascontiguousarray(
            (_tensor(name, "input", f).astype(np.int16) + 128).astype(np.uint8)))
        differs += sum(np.count_nonzero(double[t][0] != _tensor(name, t, f)) for t in ("conv1", "conv2", "latent"))
    assert differs, "this single-rounding vector does not differ from double rounding anywhere"


def test_vectors_cover_the_issue_list():
    recs = [_record(n) for n in VECTORS]
    assert {k for r in recs for k in r["channels_per_frame"]} == set(range(13))
    assert {r["channels_sent"] for r in recs if r["frames"] == 1} == set(range(13))
    video = [r for r in recs if r["frames"] > 1]  # issue 9 item 6: multi-frame vectors
    assert len(video) >= 4 and all(r["source"].startswith("video:") and r["fps"] for r in video)
    assert any(len(set(r["channels_per_frame"])) > 1 and "truncate" not in r for r in video)
    assert any("truncate" in r and len(set(r["channels_per_frame"])) > 1 for r in video)
    assert any(r["width"] % 8 and r["height"] % 8 for r in video)
    assert {r["entropy"] for r in video} == {"raw", "huffman", "ctx", "inter"}
    assert {r["rounding"] for r in recs} == {"double", "single"}
    assert {r["entropy"] for r in recs} == {"raw", "huffman", "ctx", "inter"}
    inter = [r for r in recs if r["entropy"] == "inter"]  # spec 2.2: keyframes, a k that changes per frame
    assert any(r["keyframe_interval"] < r["frames"] for r in inter)
    assert any(len(set(r["channels_per_frame"])) > 1 for r in inter)
    assert any(r["width"] % 8 and r["height"] % 8 for r in recs)
    assert any(r["source"].startswith("kodak") for r in recs)
    assert {"black", "white", "noise01"} <= {r["source"].split(":")[0] for r in recs}
    assert any(r["model"]["name"].startswith("extreme") for r in recs)
    extreme = load_model(ROOT / "models" / "extreme-double.npz")
    shifts = np.concatenate([l.shift for l in extreme.layers])
    mults = np.concatenate([l.multiplier for l in extreme.layers])
    assert (mults == 0).any() and shifts.min() == -31 and shifts.max() > 0
    assert {l.output_zero_point for l in extreme.layers} >= {-128, 127}
    assert int(extreme.entropy.code_lengths.max()) == 15
    total = sum(p.stat().st_size for p in ROOT.rglob("*") if p.is_file())
    assert total < 4 << 20, f"vectors/ holds {total} bytes"


def test_readme_lists_every_vector_and_invalid_stream():
    readme = (ROOT / "README.md").read_text()
    assert "| vector | what it tests |" in readme
    for name in VECTORS:
        assert f"| `{name}` |" in readme
    for case in json.loads((ROOT / "invalid" / "invalid.json").read_text())["cases"]:
        assert f"| `{case['file']}` | {case['error']} |" in readme


INVALID = json.loads((ROOT / "invalid" / "invalid.json").read_text())["cases"]


@pytest.mark.parametrize("case", INVALID, ids=[c["file"] for c in INVALID])
def test_invalid_stream_is_rejected_at_the_right_stage(case):
    """Header faults are caught by the header checks alone (spec 8.1 steps 1-2, before any packet);
    packet faults pass the header and make decoding fail; E_MODEL is a ModelMismatchError."""
    data = (ROOT / "invalid" / case["file"]).read_bytes()
    assert hashlib.sha256(data).hexdigest() == case["sha256"]
    model = load_model(ROOT / "models" / f"{case['model']}.npz")
    expected = ModelMismatchError if case["error"] == "E_MODEL" else BitstreamError
    assert (case["stage"] == "header") == (case["error"] in HEADER_STAGE or case["number"] in (2, 3, 34))
    if case["stage"] == "header":
        with pytest.raises(expected):
            check_model(StreamHeader.unpack(data), model)
    else:
        check_model(StreamHeader.unpack(data), model)
        with pytest.raises(expected):
            decode_symbols(data, model)
    if case["error"] != "E_MODEL":
        with pytest.raises(BitstreamError) as info:
            decode_symbols(data, model)
        assert not isinstance(info.value, ModelMismatchError)


VIDEO = [n for n in VECTORS if _record(n)["frames"] > 1]


@pytest.mark.parametrize("name", VIDEO)
def test_video_vector_header_timing_and_frame_count(name):
    """Spec 7.1: a multi-frame stream's header has the timing of the vector (fps) and frame_count = frames
    (flags bits 0 and 1); packets have frame_index 0, 1, ..."""
    rec = _record(name)
    data = (ROOT / name / "stream.mcuc").read_bytes()
    h = StreamHeader.unpack(data)
    assert (h.fps_num, h.fps_den) == tuple(rec["fps"]) and h.frame_count == rec["frames"] > 1
    assert data[5] == 0x03  # flags: timing and frame_count
    from refcodec.bitstream import parse_stream

    assert [p.frame_index for p in parse_stream(data).packets] == list(range(rec["frames"]))


@pytest.mark.parametrize("name", [n for n in VIDEO if len(set(_record(n)["channels_per_frame"])) > 1
                                  and _record(n)["entropy"] != "inter"])  # inter: a packet depends on the k before
def test_per_frame_k_stream_equals_single_k_encodes_packet_by_packet(name):
    """A stream whose k changes per frame: packet i is exactly packet i of `refcodec encode --channels k_i` of the
    same frames (encode_frames, a different code path from the generator's per-frame encoder / truncation)."""
    from refcodec.bitstream import parse_stream
    from refcodec.codec import encode_frames

    rec = _record(name)
    frames = [_png(name, f) for f in range(rec["frames"])]
    got = parse_stream((ROOT / name / "stream.mcuc").read_bytes())
    model = _model(name)
    for i, k in enumerate(rec["channels_per_frame"]):
        ref = parse_stream(encode_frames(frames, model, channels=k, fps=tuple(rec["fps"]), entropy=rec["entropy"]))
        assert got.header == ref.header
        assert got.packets[i] == ref.packets[i], (name, i, k)


def test_truncated_video_vector_is_refcodec_truncate_of_the_full_stream(tmp_path):
    """`refcodec truncate stream_full.mcuc --frame-bytes N` gives stream.mcuc; every kept packet fits N and one
    more chunk would not (spec 9); stream_full.mcuc is `refcodec encode` of the frames with all 12 channels."""
    from click.testing import CliRunner

    from refcodec.bitstream import parse_stream
    from refcodec.cli.main import cli
    from refcodec.codec import encode_frames

    name = "video_person_truncated"
    rec = _record(name)
    n = rec["truncate"]["frame_bytes"]
    full = (ROOT / name / "stream_full.mcuc").read_bytes()
    out = tmp_path / "t.mcuc"
    res = CliRunner().invoke(cli, ["truncate", str(ROOT / name / "stream_full.mcuc"), "-o", str(out),
                                   "--frame-bytes", str(n)])
    assert res.exit_code == 0, res.output
    assert out.read_bytes() == (ROOT / name / "stream.mcuc").read_bytes()
    frames = [_png(name, f) for f in range(rec["frames"])]
    assert full == encode_frames(frames, _model(name), channels=12, fps=tuple(rec["fps"]), entropy=rec["entropy"])
    kept, before = parse_stream(out.read_bytes()).packets, parse_stream(full).packets
    assert [p.k for p in kept] == rec["channels_per_frame"] and len(set(rec["channels_per_frame"])) > 1
    for p, q in zip(kept, before):
        assert p.size <= n
        if p.k < q.k:
            assert q.prefix(p.k + 1).size > n


@pytest.mark.parametrize("name", VIDEO)
def test_video_frames_come_from_the_clip(name):
    """The committed input_NNNN.png are the clip's frames (decoded with imageio-ffmpeg, resized by
    refcodec.media.resize_frame). Needs ../shared/datasets/video; a different ffmpeg build may convert YUV to RGB
    differently, which is why the committed PNGs, not the clip, are the vectors' source."""
    from refcodec.vectors.generate import VECTOR_SPECS, _video_frames, video_dir

    spec = next(s for s in VECTOR_SPECS if s.name == name)
    if not (video_dir() / f"{spec.source.split(':')[1]}.mp4").is_file():
        pytest.skip(f"{video_dir()} not available")
    for f, frame in enumerate(_video_frames(spec.source)):
        assert np.array_equal(frame, _png(name, f)), (name, f)
