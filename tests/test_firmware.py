"""The C firmware (firmware/: the line-buffered encoder library and its host front end refcodec_fw): built with
gcc -std=c99 -Wall -Wextra -Werror -pedantic from the exported header, it must write every conformance vector's
layer dumps and stream byte for byte (odd sizes, every channel count, both rounding modes, the extreme model, raw,
Huffman and context-Huffman streams) with the plain-C and the (emulated) DSP kernel, and multi-frame streams equal
to `refcodec encode`'s. The front end leaves no partial output behind and checks its arguments (issue 12 item 11).
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from refcodec.codec import encode_frames
from refcodec.firmware.build import build_firmware, run_firmware
from refcodec.model.modelfile import load_model

ROOT = Path(__file__).resolve().parents[1] / "vectors"
VECTORS = sorted(p.parent.name for p in ROOT.glob("*/vector.json"))
TENSORS = ("input", "conv1", "conv2", "latent", "symbols")

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not available")


KERNELS = {"plain": (), "dsp-emulated": ("RC_EMULATE_DSP",)}
"""The plain-C kernel and the DSP (SMLAD) kernel's code path with portable intrinsics (firmware/src/rc_dsp.h)."""


@pytest.fixture(scope="module")
def firmware(tmp_path_factory):
    """(model name, kernel) -> compiled refcodec_fw for that model's header (built once per module)."""
    out = tmp_path_factory.mktemp("fw")
    cache: dict[tuple[str, str], Path] = {}

    def get(model_name: str, kernel: str = "plain") -> Path:
        if (model_name, kernel) not in cache:
            model = load_model(ROOT / "models" / f"{model_name}.npz")
            cache[model_name, kernel] = build_firmware(model, out, KERNELS[kernel], name=f"fw_{model_name}_{kernel}")
        return cache[model_name, kernel]

    return get


def _png(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    return np.asarray(iio.imread(path))[..., :3]


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("name", VECTORS)
def test_firmware_reproduces_vector(name, kernel, firmware, tmp_path):
    """Every vector, the multi-frame ones included, with both kernels: each frame's layer dumps and the whole
    stream. A vector whose k changes between frames (per-frame k, or a truncated stream, which is the same bytes)
    needs the front end's `-k K0,K1,...` (frame i uses K_i). (Single-frame vectors of the earlier schema have
    input.png, channels_sent and their tensors at the top level.)"""
    rec = json.loads((ROOT / name / "vector.json").read_text())
    exe = firmware(rec["model"]["name"], kernel)
    dump = tmp_path / "dump"
    inputs = rec.get("inputs", ["input.png"])
    ks = rec.get("channels_per_frame", [rec.get("channels_sent")])
    stream = run_firmware(exe, [_png(ROOT / name / f) for f in inputs], tmp_path / "out.mcuc", dump,
                          channels=ks[0] if len(set(ks)) == 1 else ks, entropy=rec["entropy"],
                          fps=tuple(rec["fps"]) if rec["fps"] else None,
                          keyframe_interval=rec.get("keyframe_interval"))  # inter vectors (spec 6.7) only
    for f, folder in enumerate(rec.get("tensor_dirs", ["."])):
        for tensor in TENSORS:
            got = (dump / f"frame_{f:04d}" / f"{tensor}.bin").read_bytes()
            want = (ROOT / name / folder / f"{tensor}.bin").read_bytes()
            assert len(got) == len(want), tensor
            diff = int(np.count_nonzero(np.frombuffer(got, np.uint8) != np.frombuffer(want, np.uint8)))
            assert diff == 0, f"{name}: firmware frame {f} {tensor} differs in {diff} bytes"
    assert stream == (ROOT / name / "stream.mcuc").read_bytes()
    if "truncate" in rec:  # the stream before truncation: all 12 channels of every frame
        full = run_firmware(exe, [_png(ROOT / name / f) for f in inputs], tmp_path / "full.mcuc",
                            channels=12, entropy=rec["entropy"], fps=tuple(rec["fps"]))
        assert full == (ROOT / name / rec["truncate"]["from"]).read_bytes()


def test_firmware_multi_frame_stream_equals_refcodec_encode(firmware, tmp_path):
    model = load_model(ROOT / "models" / "rand-double.npz")
    rng = np.random.default_rng(3)
    base = _png(ROOT / "kodim15_odd61x75" / "input.png")
    frames = [base, np.ascontiguousarray(base[::-1]), rng.integers(0, 256, base.shape, dtype=np.uint8)]
    got = run_firmware(firmware("rand-double"), frames, tmp_path / "s.mcuc", channels=7, fps=(30000, 1001))
    assert got == encode_frames(frames, model, channels=7, fps=(30000, 1001), entropy="huffman")


def test_firmware_long_stream_two_byte_frame_index(firmware, tmp_path):
    """130 frames: frame_index 128 and 129 take two varint bytes (80 01, 81 01), and the header carries
    frame_count (more than one frame) but no timing (no -f): the firmware writes what refcodec encode writes."""
    model = load_model(ROOT / "models" / "rand-double.npz")
    rng = np.random.default_rng(8)
    frames = [rng.integers(0, 256, (8, 16, 3), dtype=np.uint8) for _ in range(130)]
    got = run_firmware(firmware("rand-double"), frames, tmp_path / "long.mcuc", channels=3)
    assert got == encode_frames(frames, model, channels=3, entropy="huffman")
    assert got[4:6] == bytes([2, 0x02]) and got[21:25] == (130).to_bytes(4, "little")
    from refcodec.bitstream import parse_stream

    parsed = parse_stream(got)
    last = parsed.packet_offsets[-1]
    assert got[last:last + 4] == b"MF\x81\x01" and parsed.packets[-1].frame_index == 129


def test_firmware_multi_frame_ctx_stream_equals_refcodec_encode(firmware, tmp_path):
    """Context Huffman (spec 6.6) over several frames and k values; the firmware's default mode for a model with
    context tables is ctx, like `refcodec encode`'s auto."""
    model = load_model(ROOT / "models" / "rand-ctx.npz")
    rng = np.random.default_rng(4)
    base = _png(ROOT / "kodim15_odd61x75" / "input.png")
    frames = [base, np.ascontiguousarray(base[:, ::-1]), rng.integers(0, 256, base.shape, dtype=np.uint8)]
    for k in (12, 3):
        got = run_firmware(firmware("rand-ctx"), frames, tmp_path / "s.mcuc", channels=k, fps=(30, 1))
        want = encode_frames(frames, model, channels=k, fps=(30, 1))
        assert want[20] == 2 and got == want  # v2 header: entropy_mode at offset 20
    got = run_firmware(firmware("rand-ctx"), frames, tmp_path / "h.mcuc", entropy="huffman", fps=(30, 1))
    assert got == encode_frames(frames, model, fps=(30, 1), entropy="huffman")


def test_make_firmware_builds_with_the_makefile(tmp_path):
    """`make -C firmware MODEL_H=...` (what the top-level `make firmware` runs) compiles warning-free."""
    if shutil.which("make") is None:
        pytest.skip("make not available")
    from refcodec.firmware.c_header import export_c_header

    model = load_model(ROOT / "models" / "rand-single.npz")
    header = export_c_header(model, tmp_path / "rc_model.h")
    proc = subprocess.run(["make", "-C", str(Path(__file__).resolve().parents[1] / "firmware"),
                           f"MODEL_H={header}", f"BUILD={tmp_path / 'build'}"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "build" / "refcodec_fw").is_file()


def test_firmware_rejects_bad_arguments(firmware, tmp_path):
    exe = firmware("rand-double")
    raw = tmp_path / "x.rgb"
    raw.write_bytes(bytes(8 * 8 * 3))
    for args in (["-w", "0", "-h", "8"], ["-w", "8", "-h", "8", "-k", "13"], ["-w", "8", "-h", "9"]):
        proc = subprocess.run([str(exe), *args, str(raw), str(tmp_path / "o.mcuc")], capture_output=True, text=True)
        assert proc.returncode != 0, args


def _raw(tmp_path, h, w, n, seed=0):
    raw = tmp_path / "x.rgb"
    raw.write_bytes(np.random.default_rng(seed).integers(0, 256, (n, h, w, 3), dtype=np.uint8).tobytes())
    return raw


def test_firmware_per_frame_k_list(firmware, tmp_path):
    """-k K0,K1,...: frame i sends K_i channels, the last value repeats; the packets are refcodec encode's with every
    channel, cut to each k (spec section 9)."""
    from refcodec.bitstream import parse_stream
    from refcodec.bitstream.container import serialize_stream

    model = load_model(ROOT / "models" / "rand-ctx.npz")
    rng = np.random.default_rng(11)
    frames = [rng.integers(0, 256, (19, 27, 3), dtype=np.uint8) for _ in range(5)]
    got = run_firmware(firmware("rand-ctx"), frames, tmp_path / "k.mcuc", channels=[12, 0, 5], fps=(25, 1))
    full = parse_stream(encode_frames(frames, model, channels=12, fps=(25, 1)))
    ks = [12, 0, 5, 5, 5]
    assert got == serialize_stream(full.header, [p.prefix(k) for p, k in zip(full.packets, ks)])
    assert [p.k for p in parse_stream(got).packets] == ks


def test_firmware_short_input_leaves_no_output(firmware, tmp_path):
    """Issue 12 item 11: fewer bytes than -n frames -> exit 1, no OUT.mcuc, no temporary file; an existing OUT is
    left as it was."""
    exe = firmware("rand-double")
    raw = _raw(tmp_path, 8, 8, 1)
    raw.write_bytes(raw.read_bytes()[:-1])  # one byte short of one frame
    out = tmp_path / "o.mcuc"
    proc = subprocess.run([str(exe), "-w", "8", "-h", "8", str(raw), str(out)], capture_output=True, text=True)
    assert proc.returncode == 1 and "fewer than" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.rgb"]
    out.write_bytes(b"previous")
    proc = subprocess.run([str(exe), "-w", "8", "-h", "8", "-n", "2", str(_raw(tmp_path, 8, 8, 1)), str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and out.read_bytes() == b"previous"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["o.mcuc", "x.rgb"]


def test_firmware_uncreatable_dump_folder_leaves_nothing(firmware, tmp_path):
    exe = firmware("rand-double")
    raw = _raw(tmp_path, 8, 8, 1)
    (tmp_path / "file").write_bytes(b"")
    out = tmp_path / "o.mcuc"
    proc = subprocess.run([str(exe), "-w", "8", "-h", "8", "-d", str(tmp_path / "file" / "dump"), str(raw), str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 1 and "cannot create" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file", "x.rgb"]


@pytest.mark.parametrize("fps", ["1/4294967296", "4294967296/1", "-1/1", "garbage", "0/1", "1/0", "1/", "/1", "1/1/1",
                                 "1/1x", " 1/1", "+1/1", "18446744073709551617/1", ""])
def test_firmware_rejects_bad_frame_rate(firmware, tmp_path, fps):
    """Issue 12 item 11: -f NUM/DEN with both in 1..2^32-1, digits only; anything else is a one-line error (exit 2)
    and no output."""
    raw = _raw(tmp_path, 8, 8, 1)
    out = tmp_path / "o.mcuc"
    proc = subprocess.run([str(firmware("rand-double")), "-w", "8", "-h", "8", "-f", fps, str(raw), str(out)],
                          capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert len(proc.stderr.strip().splitlines()) == 1 and "frame rate" in proc.stderr
    assert not out.exists()


def test_firmware_frame_rate_extremes(firmware, tmp_path):
    """4294967295/4294967295 is the largest legal timing field (spec section 7.1)."""
    model = load_model(ROOT / "models" / "rand-double.npz")
    frame = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
    got = run_firmware(firmware("rand-double"), [frame], tmp_path / "o.mcuc", fps=(2**32 - 1, 2**32 - 1))
    assert got == encode_frames([frame], model, fps=(2**32 - 1, 2**32 - 1), entropy="huffman")


@pytest.mark.parametrize("args", [["-k", "13"], ["-k", "1,,2"], ["-k", "1,"], ["-k", "a"], ["-k", "-1"],
                                  ["-n", "0"], ["-n", "2x"], ["-w", "8x"], ["-e", "zip"]])
def test_firmware_rejects_bad_options(firmware, tmp_path, args):
    raw = _raw(tmp_path, 8, 8, 1)
    out = tmp_path / "o.mcuc"
    opts = {"-w": "8", "-h": "8"}
    opts.update(dict(zip(args[::2], args[1::2])))
    proc = subprocess.run([str(firmware("rand-double")), *sum(([k, v] for k, v in opts.items()), []), str(raw),
                           str(out)], capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1, proc.stderr
    assert not out.exists()
