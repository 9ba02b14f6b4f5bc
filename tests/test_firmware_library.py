"""The C encoder library (firmware/src, line-buffered, no malloc) driven directly by firmware/test/rc_lib_test.c:
random frame sizes (1x1, odd, tall, wide), many frames, per-frame k, every entropy mode, rows fed in random counts
with a random row stride, into an arena of exactly rc_plan bytes that starts with garbage and is followed by guard
bytes. The reference is refcodec's Python encoder (`encode_frames`, whose packets are cut to each frame's k by
spec §9 truncation, `FramePacket.prefix`): an independent implementation of spec §3-§7. Also: the plain-C kernel
and the DSP (SMLAD) kernel's code path with emulated intrinsics give the same bytes, and `refcodec plan
--schedule line` reports the C `rc_plan` for every size."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from refcodec.bitstream import parse_stream
from refcodec.bitstream.container import serialize_stream
from refcodec.codec import encode_frames
from refcodec.errors import InvalidArgumentError
from refcodec.firmware.build import LIB_TEST_DRIVER, build_firmware
from refcodec.model.modelfile import load_model
from refcodec.model.plan import line_plan

ROOT = Path(__file__).resolve().parents[1] / "vectors"
KERNELS = {"plain": (), "dsp-emulated": ("RC_EMULATE_DSP",)}

pytestmark = pytest.mark.skipif(shutil.which("gcc") is None, reason="gcc not available")


@pytest.fixture(scope="module")
def driver(tmp_path_factory):
    """(model name, kernel) -> compiled rc_lib_test for that model's header."""
    out = tmp_path_factory.mktemp("fwlib")
    cache: dict[tuple[str, str], Path] = {}

    def get(model_name: str, kernel: str = "plain") -> Path:
        if (model_name, kernel) not in cache:
            model = load_model(ROOT / "models" / f"{model_name}.npz")
            cache[model_name, kernel] = build_firmware(model, out, KERNELS[kernel], name=f"t_{model_name}_{kernel}",
                                                       program=LIB_TEST_DRIVER)
        return cache[model_name, kernel]

    return get


def reference_stream(frames, model, ks: list[int], entropy: str) -> bytes:
    """encode_frames with every channel, each packet cut to its frame's k (the last value of ks repeats)."""
    full = parse_stream(encode_frames(frames, model, channels=model.channels, entropy=entropy))
    packets = [p.prefix(ks[min(i, len(ks) - 1)]) for i, p in enumerate(full.packets)]
    return serialize_stream(full.header, packets)


def run_driver(exe, frames, ks, entropy, seed, tmp_path) -> bytes:
    h, w = frames[0].shape[:2]
    raw = tmp_path / "in.rgb"
    raw.write_bytes(b"".join(np.ascontiguousarray(f, np.uint8).tobytes() for f in frames))
    out = tmp_path / "out.mcuc"
    proc = subprocess.run([str(exe), "encode", str(w), str(h), str(len(frames)), ",".join(map(str, ks)), entropy,
                           str(seed), str(raw), str(out)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    return out.read_bytes()


def _frames(rng, h, w, n):
    """Noise, a smooth ramp and a flat frame in turn: all symbol values, long runs, and ctx tables' edge cases."""
    out = []
    for i in range(n):
        if i % 3 == 0:
            out.append(rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
        elif i % 3 == 1:
            y, x = np.mgrid[0:h, 0:w]
            out.append(np.stack([(x * 7) % 256, (y * 5) % 256, (x + y) % 256], -1).astype(np.uint8))
        else:
            out.append(np.full((h, w, 3), int(rng.integers(0, 256)), np.uint8))
    return out


SIZES = [(1, 1), (1, 9), (9, 1), (7, 9), (13, 17), (8, 8), (3, 40), (40, 3), (64, 1), (1, 64), (33, 71), (75, 61)]


@pytest.mark.parametrize("kernel", list(KERNELS))
@pytest.mark.parametrize("model_name,entropy", [("rand-ctx", "ctx"), ("rand-ctx", "huffman"), ("rand-double", "raw"),
                                                ("rand-single", "huffman"), ("extreme-double", "huffman")])
def test_library_random_sizes_and_row_counts_equal_refcodec(driver, model_name, entropy, kernel, tmp_path):
    model = load_model(ROOT / "models" / f"{model_name}.npz")
    exe = driver(model_name, kernel)
    rng = np.random.default_rng(hash((model_name, entropy)) % 2**32)
    for i, (h, w) in enumerate(SIZES):
        n = 1 + i % 3
        ks = [int(v) for v in rng.integers(0, model.channels + 1, size=n)]
        frames = _frames(rng, h, w, n)
        got = run_driver(exe, frames, ks, entropy, seed=i, tmp_path=tmp_path)
        assert got == reference_stream(frames, model, ks, entropy), (h, w, ks)


def test_library_many_frames_changing_k(driver, tmp_path):
    """20 frames of 24x16, k changing every frame, rows fed in random counts: frame state (row counters, symbols,
    ring buffers) is reset between frames."""
    model = load_model(ROOT / "models" / "rand-ctx.npz")
    rng = np.random.default_rng(20)
    frames = _frames(rng, 16, 24, 20)
    ks = [int(v) for v in rng.integers(0, 13, size=20)]
    got = run_driver(driver("rand-ctx", "dsp-emulated"), frames, ks, "ctx", seed=99, tmp_path=tmp_path)
    assert got == reference_stream(frames, model, ks, "ctx")


def test_dsp_emulated_kernel_equals_plain_kernel_at_224(driver, tmp_path):
    """The two kernels at the reference size, where every conv1 channel runs the 4-tap SMLAD loop with a 3-tap
    tail (147 taps) and conv2 / conv3 have none (400, 144 taps): the same bytes, equal to refcodec's."""
    model = load_model(ROOT / "models" / "rand-ctx.npz")
    frames = _frames(np.random.default_rng(224), 224, 224, 2)
    plain = run_driver(driver("rand-ctx", "plain"), frames, [12], "ctx", seed=1, tmp_path=tmp_path)
    dsp = run_driver(driver("rand-ctx", "dsp-emulated"), frames, [12], "ctx", seed=2, tmp_path=tmp_path)
    assert plain == dsp == reference_stream(frames, model, [12], "ctx")


PLAN_SIZES = ["1x1", "2x3", "7x9", "8x8", "9x8", "8x9", "13x17", "61x75", "224x224", "225x223", "640x480", "642x362",
              "1x999", "999x1", "1920x1080", "4000x3000", "8191x8191", "65535x1", "1x65535", "65535x65535"]


@pytest.mark.parametrize("model_name", ["rand-ctx", "extreme-double"])
def test_rc_plan_equals_refcodec_line_plan(driver, model_name):
    """C rc_plan and Python line_plan: the same bytes for every size (odd ones, extremes, random) and k."""
    model = load_model(ROOT / "models" / f"{model_name}.npz")
    bits = int(model.latent_quantizer.bits)
    rng = np.random.default_rng(7)
    sizes = PLAN_SIZES + [f"{w}x{h}" for w, h in rng.integers(1, 3000, size=(40, 2))]
    for k in (0, 1, 5, 12):
        proc = subprocess.run([str(driver(model_name)), "plan", str(k), *sizes], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        got = [int(v) for v in proc.stdout.split()]
        for size, c_bytes in zip(sizes, got, strict=True):
            w, h = (int(v) for v in size.split("x"))
            try:
                want = line_plan(h, w, k, bits).arena_bytes
            except InvalidArgumentError:
                want = 0  # rc_plan's refusal: more than 2^32 symbol bits
            assert c_bytes == want, (size, k)
    # 12 x 8192 x 8192 symbols: 4.03e9 bits at b = 5 (fits in 32-bit bit positions), 6.4e9 at b = 8 (refused)
    assert (got[PLAN_SIZES.index("65535x65535")] == 0) == (bits == 8)
    proc = subprocess.run([str(driver(model_name)), "plan", "12", "0x8", "8x0", "65536x8", "8x65536"],
                          capture_output=True, text=True)
    assert proc.stdout.split() == ["0"] * 4


def test_rc_plan_inter_is_rc_plan_plus_the_previous_symbols(driver):
    """Inter streams (spec §6.7) keep the previous frame's packed symbols: rc_plan_inter = rc_plan + the symbols term,
    which `refcodec plan --schedule line --json` reports as arena_bytes_inter."""
    from refcodec.cli.main import cli

    sizes = ["224x224", "320x240", "61x75", "1x1"]
    bits = int(load_model(ROOT / "models" / "rand-ctx.npz").latent_quantizer.bits)
    for k in (1, 12):
        proc = subprocess.run([str(driver("rand-ctx")), "plan_inter", str(k), *sizes], capture_output=True, text=True)
        for size, c_bytes in zip(sizes, [int(v) for v in proc.stdout.split()], strict=True):
            w, h = (int(v) for v in size.split("x"))
            p = line_plan(h, w, k, bits)
            assert c_bytes == p.arena_bytes_inter, (size, k)
            r = CliRunner().invoke(cli, ["plan", "--model", str(ROOT / "models" / "rand-ctx.npz"), "--size", size,
                                         "--schedule", "line", "--channels", str(k), "--json"])
            assert json.loads(r.output)["arena_bytes_inter"] == c_bytes


def test_plan_cli_line_schedule_reports_rc_plan(driver):
    """`refcodec plan --schedule line --json` prints rc_plan's figure next to the layer-by-layer one."""
    from refcodec.cli.main import cli

    model_path = ROOT / "models" / "rand-ctx.npz"
    for size in ("224x224", "640x480", "61x75"):
        r = CliRunner().invoke(cli, ["plan", "--model", str(model_path), "--size", size, "--schedule", "line",
                                     "--json"])
        assert r.exit_code == 0, r.output
        d = json.loads(r.output)
        proc = subprocess.run([str(driver("rand-ctx")), "plan", "12", size], capture_output=True, text=True)
        assert d["arena_bytes"] == int(proc.stdout) and d["schedule"] == "line"
        assert d["layer_by_layer_peak_arena_bytes"] > d["arena_bytes"]


def test_line_plan_terms_at_224_hand_computed():
    """7 input rows of 224 x 3, 5 conv1 rows of 112 x 16, 3 conv2 rows of 28 x 16, a latent row of 28 x 12, 784 x 12
    symbols at 4 bits and two int16 im2col columns of conv2's 400 taps."""
    p = line_plan(224, 224, 12, 4)
    assert p.ring_bytes == {"conv1": 7 * 224 * 3, "conv2": 5 * 112 * 16, "conv3": 3 * 28 * 16}
    assert (p.latent_row_bytes, p.symbol_bytes, p.scratch_bytes) == (28 * 12, 784 * 12 * 4 // 8, 2 * 400 * 2)
    assert p.arena_bytes == 21_648


def test_library_needs_no_malloc_no_stdio_no_static_ram(tmp_path):
    """The library's objects reference nothing but memset / memcpy (no malloc, no stdio) and hold no .data / .bss
    (all RAM is the caller's arena, state and stack), with and without the DSP kernel and in the broken builds."""
    if shutil.which("nm") is None:
        pytest.skip("nm not available")
    from refcodec.firmware.build import CFLAGS, FIRMWARE_DIR, LIBRARY_SOURCES
    from refcodec.firmware.c_header import export_c_header

    export_c_header(load_model(ROOT / "models" / "rand-ctx.npz"), tmp_path / "rc_model.h")
    for defines in ((), ("-DRC_EMULATE_DSP",), ("-DBROKEN_WEIGHT",), ("-DBROKEN_CRC", "-DBROKEN_PADDING")):
        objs = []
        for src in LIBRARY_SOURCES:
            obj = tmp_path / f"{Path(src).stem}.o"
            subprocess.run(["gcc", *CFLAGS, "-fno-pic", *defines, f"-I{FIRMWARE_DIR / 'src'}", f"-I{tmp_path}", "-c",
                            str(FIRMWARE_DIR / "src" / src), "-o", str(obj)], check=True)
            objs.append(str(obj))
        syms = subprocess.run(["nm", *objs], capture_output=True, text=True, check=True).stdout.split("\n")
        undefined = {line.split()[-1] for line in syms if line.strip().startswith("U ")}
        defined = {line.split()[-1] for line in syms if len(line.split()) == 3}
        assert undefined - defined <= {"memset", "memcpy"}, (defines, undefined - defined)
        ram = [line for line in syms if len(line.split()) == 3 and line.split()[1] in "dDbBcC"]
        assert ram == [], (defines, ram)


def test_library_compiles_for_cortex_m_with_the_dsp_kernel(tmp_path):
    """`make -C firmware arm-check`: the library for a Cortex-M4 (its inner loop uses SMLAD and SXTB16) and a
    Cortex-M0+ (plain C), -Werror."""
    if shutil.which("arm-none-eabi-gcc") is None or shutil.which("make") is None:
        pytest.skip("arm-none-eabi-gcc not available")
    from refcodec.firmware.build import FIRMWARE_DIR
    from refcodec.firmware.c_header import export_c_header

    header = export_c_header(load_model(ROOT / "models" / "rand-double.npz"), tmp_path / "rc_model.h")
    proc = subprocess.run(["make", "-C", str(FIRMWARE_DIR), "arm-check", f"MODEL_H={header}",
                           f"BUILD={tmp_path / 'build'}"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    dis = subprocess.run(["arm-none-eabi-objdump", "-d", str(tmp_path / "build" / "arm-check" / "m4_rc_conv_row.o")],
                         capture_output=True, text=True, check=True).stdout
    assert "smlad" in dis and "sxtb16" in dis and "ror #8" in dis
    dis0 = subprocess.run(["arm-none-eabi-objdump", "-d", str(tmp_path / "build" / "arm-check" / "m0_rc_conv_row.o")],
                          capture_output=True, text=True, check=True).stdout
    assert "smlad" not in dis0


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_library_at_642x362_equals_refcodec(driver, kernel, tmp_path):
    """The odd size of issue 9 (padded 648x368: a 46 x 81 latent, 44,712 symbols of 12 channels per frame), context
    Huffman, two frames with k 12 then 7."""
    model = load_model(ROOT / "models" / "rand-ctx.npz")
    frames = _frames(np.random.default_rng(642), 362, 642, 2)
    got = run_driver(driver("rand-ctx", kernel), frames, [12, 7], "ctx", seed=5, tmp_path=tmp_path)
    assert got == reference_stream(frames, model, [12, 7], "ctx")


@pytest.mark.parametrize("kernel", list(KERNELS))
def test_library_stack_peak_on_this_host_is_small(driver, kernel):
    """Stack painting on the host (rc_lib_test stack: a POSIX thread with a painted stack, an idle thread's use
    subtracted): the whole encoder, entropy coding included, stays within 2 KiB on x86-64 (the library has no
    recursion and no large locals; its state, 248 bytes here, is in the measured frame)."""
    import sys

    if not sys.platform.startswith("linux"):
        pytest.skip("pthread_attr_setstack measurement written for Linux")
    exe = driver("rand-ctx", kernel)
    for size, entropy in ((("224", "224"), "ctx"), (("61", "75"), "huffman"), (("1", "1"), "raw"),
                          (("640", "480"), "ctx")):
        proc = subprocess.run([str(exe), "stack", *size, entropy], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr
        assert 0 < int(proc.stdout) <= 2048, (size, entropy, proc.stdout)
