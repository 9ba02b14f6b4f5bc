"""`refcodec verify`: PASS on the good firmware build, FAIL with the right diagnosis on deliberately broken builds
(-DBROKEN_SINGLE_ROUNDING, -DBROKEN_PADDING, -DBROKEN_WEIGHT, -DBROKEN_CRC) and on hand-made faults; JSON output,
exit codes, one-line errors on bad input."""

from __future__ import annotations

import json
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from refcodec.cli.main import cli
from refcodec.firmware.build import build_firmware, run_firmware
from refcodec.model.modelfile import load_model
from refcodec.verify import verify

ROOT = Path(__file__).resolve().parents[1] / "vectors"
MODEL = ROOT / "models" / "rand-double.npz"
VECTOR = ROOT / "kodim01_crop64"
needs_gcc = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not available")


def _png(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    return np.asarray(iio.imread(path))[..., :3]


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """variant -> (stream path, dump dir) of the firmware built good or broken, run on VECTOR's input."""
    if shutil.which("gcc") is None:
        pytest.skip("gcc not available")
    out = tmp_path_factory.mktemp("verify_fw")
    model = load_model(MODEL)
    frame = _png(VECTOR / "input.png")
    result = {}
    for variant in ("GOOD", "BROKEN_SINGLE_ROUNDING", "BROKEN_PADDING", "BROKEN_WEIGHT", "BROKEN_CRC"):
        exe = build_firmware(model, out, () if variant == "GOOD" else (variant,), name=f"fw_{variant}")
        dump = out / f"dump_{variant}"
        stream = out / f"{variant}.mcuc"
        run_firmware(exe, [frame], stream, dump, fps=(1, 1))
        result[variant] = (stream, dump)
    return result


def _cli(*args):
    res = CliRunner().invoke(cli, ["verify", "--model", str(MODEL), *map(str, args), "--json"])
    assert res.exit_code in (0, 7), res.output
    return res.exit_code, json.loads(res.stdout)


@needs_gcc
def test_good_build_passes(runs):
    stream, dump = runs["GOOD"]
    code, rep = _cli(VECTOR / "input.png", stream, "--layers", dump)
    assert code == 0 and rep["result"] == "PASS"
    assert rep["stream"]["mismatching_bytes"] == 0 and rep["diagnoses"] == []
    assert set(rep["layers"]) == {"input", "conv1", "conv2", "latent", "symbols"}
    assert all(v["mismatches"] == 0 and v["compared"] > 0 for v in rep["layers"].values())


def test_vector_folder_is_a_passing_dump_folder():
    code, rep = _cli(VECTOR / "input.png", VECTOR / "stream.mcuc", "--layers", VECTOR)
    assert code == 0 and rep["result"] == "PASS"


@needs_gcc
def test_single_rounding_build_is_diagnosed_as_rounding(runs):
    stream, dump = runs["BROKEN_SINGLE_ROUNDING"]
    code, rep = _cli(VECTOR / "input.png", stream, "--layers", dump)
    assert code == 7 and rep["result"] == "FAIL"
    assert rep["layers"]["input"]["mismatches"] == 0 and rep["layers"]["conv1"]["mismatches"] > 0
    first = rep["first_mismatch"]
    assert first["frame"] == 0 and first["layer"] == "conv1" and abs(first["expected"] - first["got"]) == 1
    assert rep["diagnoses"][0]["area"] == "rounding" and rep["diagnoses"][0]["layer"] == "conv1"
    assert "single rounding" in rep["diagnoses"][0]["message"]


@needs_gcc
def test_padding_build_is_diagnosed_from_dumps_and_from_the_stream_alone(runs):
    stream, dump = runs["BROKEN_PADDING"]
    code, rep = _cli(VECTOR / "input.png", stream, "--layers", dump)
    assert code == 7
    assert rep["first_mismatch"]["layer"] == "conv1"
    assert (rep["diagnoses"][0]["area"], rep["diagnoses"][0]["layer"]) == ("padding", "conv1")
    assert "top/left" in rep["diagnoses"][0]["message"]
    code, rep = _cli(VECTOR / "input.png", stream)
    assert code == 7 and rep["stream"]["mismatching_bytes"] > 0
    assert [d["area"] for d in rep["diagnoses"]] == ["padding"]


@needs_gcc
def test_flipped_weight_build_is_diagnosed_as_one_channel(runs):
    stream, dump = runs["BROKEN_WEIGHT"]
    code, rep = _cli(VECTOR / "input.png", stream, "--layers", dump)
    assert code == 7
    assert rep["layers"]["conv1"]["mismatches"] == 0 and rep["layers"]["conv2"]["mismatches"] > 0
    d = rep["diagnoses"][0]
    assert (d["area"], d["layer"]) == ("channel", "conv2") and "channel 5" in d["message"]
    assert rep["first_mismatch"]["channel"] == 5


@needs_gcc
def test_crc_build_is_diagnosed_as_crc_with_its_variant(runs):
    stream, dump = runs["BROKEN_CRC"]
    code, rep = _cli(VECTOR / "input.png", stream, "--layers", dump)
    assert code == 7
    assert all(v["mismatches"] == 0 for v in rep["layers"].values())
    areas = [d["area"] for d in rep["diagnoses"]]
    assert areas == ["crc", "crc"]  # header CRC and packet CRC
    assert all("without the final XOR" in d["message"] for d in rep["diagnoses"])
    assert rep["stream"]["mismatching_bytes"] == 8


def test_text_output_and_exit_code_on_fail(tmp_path):
    bad = bytearray((VECTOR / "stream.mcuc").read_bytes())
    struct.pack_into("<H", bad, 14, 65)  # width field (container version 2)
    path = tmp_path / "bad.mcuc"
    path.write_bytes(bytes(bad))
    res = CliRunner().invoke(cli, ["verify", "--model", str(MODEL), str(VECTOR / "input.png"), str(path)])
    assert res.exit_code == 7
    lines = res.stdout.splitlines()
    assert lines[0] == "FAIL"
    assert any(l.startswith("diagnosis [container]") and "width is 65, expected 64" in l for l in lines)


def _copy_dump(tmp_path: Path) -> Path:
    d = tmp_path / "dump"
    d.mkdir()
    for name in ("input", "conv1", "conv2", "latent", "symbols"):
        shutil.copy(VECTOR / f"{name}.bin", d / f"{name}.bin")
    return d


def _frames():
    return [_png(VECTOR / "input.png")]


def test_bgr_input_is_diagnosed(tmp_path):
    d = _copy_dump(tmp_path)
    x = np.fromfile(d / "input.bin", np.int8).reshape(64, 64, 3)
    x[..., ::-1].tofile(d / "input.bin")
    rep = verify(load_model(MODEL), _frames(), layers_dir=d)
    assert not rep.passed and rep.diagnoses[0].area == "input" and "BGR" in rep.diagnoses[0].message


def test_latent_quantizer_fault_is_diagnosed(tmp_path):
    d = _copy_dump(tmp_path)
    s = np.fromfile(d / "symbols.bin", np.uint8).reshape(8, 8, 12)
    s[2, 3, 4] = (int(s[2, 3, 4]) + 1) % 32
    s.tofile(d / "symbols.bin")
    rep = verify(load_model(MODEL), _frames(), layers_dir=d)
    assert rep.layers["symbols"]["mismatches"] == 1
    m = rep.first_mismatch
    assert (m.layer, m.channel, m.y, m.x) == ("symbols", 4, 2, 3)
    assert rep.diagnoses[0].area == "latent_quantizer" and "[4]" in rep.diagnoses[0].message


def test_wrong_dump_size_is_reported(tmp_path):
    d = _copy_dump(tmp_path)
    (d / "conv2.bin").write_bytes((d / "conv2.bin").read_bytes()[:-16])
    rep = verify(load_model(MODEL), _frames(), layers_dir=d)
    assert rep.diagnoses[0].area == "shape" and "8x8x16" in rep.diagnoses[0].message


def test_chunk_mode_change_is_an_entropy_diagnosis(tmp_path):
    """Raw-coding a chunk the rule codes with Huffman keeps the symbols right: entropy, not layers."""
    from refcodec.bitstream import parse_stream, serialize_stream
    from refcodec.bitstream.container import Chunk, FramePacket
    from refcodec.entropy.raw import raw_pack

    data = (VECTOR / "stream.mcuc").read_bytes()
    parsed = parse_stream(data)
    pkt = parsed.packets[0]
    symbols = np.fromfile(VECTOR / "symbols.bin", np.uint8).reshape(8, 8, 12)
    c = next(i for i, ch in enumerate(pkt.chunks) if ch.mode == 1)
    chunks = list(pkt.chunks)
    chunks[c] = Chunk(0, raw_pack(symbols[..., c].ravel(), 5))
    bad = serialize_stream(parsed.header, [FramePacket(0, tuple(chunks))])
    rep = verify(load_model(MODEL), _frames(), stream=bad)
    assert [d.area for d in rep.diagnoses] == ["entropy"] and f"channel {c}" in rep.diagnoses[0].message


def test_ctx_vector_passes_and_a_ctx_chunk_fault_is_an_entropy_diagnosis():
    """Context-Huffman streams (spec 6.6): the vector passes; a context chunk replaced by its raw form (the
    symbols stay right) is diagnosed as entropy coding of that channel."""
    from refcodec.bitstream import parse_stream, serialize_stream
    from refcodec.bitstream.container import Chunk, FramePacket
    from refcodec.entropy.raw import raw_pack

    vec = ROOT / "ctx_kodim01_crop64"
    model = load_model(ROOT / "models" / "rand-ctx.npz")
    frames = [_png(vec / "input.png")]
    data = (vec / "stream.mcuc").read_bytes()
    rep = verify(model, frames, stream=data, layers_dir=vec)
    assert rep.passed and not rep.diagnoses
    parsed = parse_stream(data)
    symbols = np.fromfile(vec / "symbols.bin", np.uint8).reshape(8, 8, 12)
    chunks = list(parsed.packets[0].chunks)
    assert chunks[2].mode == 2
    chunks[2] = Chunk(0, raw_pack(symbols[..., 2].ravel(), 5))
    bad = serialize_stream(parsed.header, [FramePacket(0, tuple(chunks))])
    rep = verify(model, frames, stream=bad)
    assert [d.area for d in rep.diagnoses] == ["entropy"] and "channel 2" in rep.diagnoses[0].message
    # --entropy ctx demanded of a huffman stream: the header's entropy_mode is the first diagnosis
    rep = verify(model, frames, stream=(ROOT / "ctx_model_huffman_kodim01" / "stream.mcuc").read_bytes(),
                 entropy="ctx")
    assert not rep.passed and rep.diagnoses[0].area == "container"
    assert "entropy_mode is 1, expected 2" in rep.diagnoses[0].message


def test_bad_inputs_give_one_line_errors(tmp_path):
    runner = CliRunner()
    res = runner.invoke(cli, ["verify", str(tmp_path / "missing.png"), str(VECTOR / "stream.mcuc")])
    assert res.exit_code == 3 and "missing.png" in res.output and "Traceback" not in res.output
    res = runner.invoke(cli, ["verify", "--model", str(MODEL), str(VECTOR / "input.png")])
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1
    res = runner.invoke(cli, ["verify", "--model", str(MODEL), str(VECTOR / "input.png"), "--layers",
                              str(tmp_path)])
    assert res.exit_code == 3 and "frame_NNNN" in res.output
    raw = tmp_path / "x.rgb"
    raw.write_bytes(bytes(10))
    res = runner.invoke(cli, ["verify", "--model", str(MODEL), str(raw), "--size", "4x4", str(VECTOR / "stream.mcuc")])
    assert res.exit_code == 3 and "48" in res.output


def test_raw_rgb_input_and_multi_frame_dumps(tmp_path):
    """frame_NNNN folders and a raw .rgb input with --size."""
    frame = _png(VECTOR / "input.png")
    raw = tmp_path / "two.rgb"
    raw.write_bytes(frame.tobytes() * 2)
    d = tmp_path / "dumps"
    for f in range(2):
        shutil.copytree(VECTOR, d / f"frame_{f:04d}", ignore=shutil.ignore_patterns("*.png", "*.json", "*.mcuc"))
    x = np.fromfile(d / "frame_0001" / "latent.bin", np.int8)
    x[100] ^= 0x40
    x.tofile(d / "frame_0001" / "latent.bin")
    res = CliRunner().invoke(cli, ["verify", "--model", str(MODEL), str(raw), "--size", "64x64", "--layers", str(d),
                                   "--json"])
    assert res.exit_code == 7, res.output
    rep = json.loads(res.stdout)
    assert rep["frames"] == 2 and rep["layers"]["latent"] == {"compared": 1536, "mismatches": 1}
    assert rep["first_mismatch"]["frame"] == 1 and rep["first_mismatch"]["layer"] == "latent"


def test_hostile_firmware_streams_never_crash_verify():
    """Truncations at many offsets and random byte corruptions: always a FAIL report, never an exception."""
    model = load_model(MODEL)
    frames = _frames()
    data = (VECTOR / "stream.mcuc").read_bytes()
    rng = np.random.default_rng(9)
    candidates = [data[:n] for n in range(0, len(data), 23)]
    for _ in range(40):
        b = bytearray(data)
        for pos in rng.integers(0, len(b), size=int(rng.integers(1, 4))):
            b[pos] = int(rng.integers(0, 256))
        candidates.append(bytes(b))
    candidates.append(data + b"MF" + bytes(60))
    candidates.append(data[:25] + b"MF" + b"\xff" * 40)  # a frame_index varint that never ends
    candidates.append(data[:5] + b"\x03" + data[6:])  # flags announce timing and frame_count it does not have
    for bad in candidates:
        if bad == data:
            continue
        rep = verify(model, frames, stream=bad)
        assert not rep.passed and rep.diagnoses, len(bad)
