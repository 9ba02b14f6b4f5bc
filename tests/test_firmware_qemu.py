"""The firmware (firmware/src) on real Arm cores under QEMU (`make firmware-qemu`, firmware/arm/README.md):
built with arm-none-eabi-gcc for a Cortex-M4F (qemu -M mps2-an386) and a Cortex-M55 with MVE (-M mps3-an547),
it reproduces every conformance vector's stream byte for byte, checked by `refcodec verify` on a mismatch, and
multi-frame streams equal `refcodec encode`'s. Also: the program's exit status is QEMU's (a failing firmware run
fails), and SysTick under -icount shift=0 ticks once per 1e9 / cpu_hz instructions (a loop of known length).

Skipped when arm-none-eabi-gcc, qemu-system-arm or make is missing, unless REFCODEC_REQUIRE_QEMU=1 (CI), where
a missing tool fails.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import numpy as np
import pytest

from refcodec.codec import encode_frames
from refcodec.firmware.c_header import export_c_header
from refcodec.firmware.qemu import (CORES, CPU_HZ, RUN_QEMU, build_arm_firmware, missing_tools, run_arm_firmware,
                                   run_qemu)
from refcodec.model.modelfile import load_model

ROOT = Path(__file__).resolve().parents[1] / "vectors"
VECTORS = sorted(p.parent.name for p in ROOT.glob("*/vector.json"))

_missing = missing_tools()
if _missing and os.environ.get("REFCODEC_REQUIRE_QEMU") == "1":
    raise RuntimeError(f"REFCODEC_REQUIRE_QEMU=1 but {', '.join(_missing)} not found")
pytestmark = pytest.mark.skipif(bool(_missing), reason=f"Arm toolchain/QEMU missing: {', '.join(_missing)} "
                                "(apt-get install gcc-arm-none-eabi libnewlib-arm-none-eabi qemu-system-arm)")


@pytest.fixture(scope="module")
def arm_firmware(tmp_path_factory):
    """(model name, core, defines) -> ELF for that model's exported header (built once per module)."""
    out = tmp_path_factory.mktemp("armfw")
    cache: dict[tuple, Path] = {}

    def get(model_name: str, core: str, defines: tuple[str, ...] = ()) -> Path:
        key = (model_name, core, defines)
        if key not in cache:
            header = out / f"{model_name}.h"
            if not header.exists():
                export_c_header(load_model(ROOT / "models" / f"{model_name}.npz"), header)
            tag = "_".join((model_name, *defines)).replace("-", "_")
            cache[key] = build_arm_firmware(header, out, core, defines, name=f"fw_{tag}")
        return cache[key]

    return get


def _png(path: Path) -> np.ndarray:
    import imageio.v3 as iio

    return np.asarray(iio.imread(path))[..., :3]


def _vector_frames(d: Path, rec: dict) -> list[np.ndarray]:
    """The vector's frames: its `inputs` PNGs (multi-frame vectors), else input.png."""
    return [_png(d / n) for n in rec.get("inputs", ["input.png"])]


def _channels(rec: dict) -> list[int]:
    """k of each frame: `channels_per_frame` (multi-frame vectors), else `channels_sent` for every frame."""
    if "channels_per_frame" in rec:
        return [int(k) for k in rec["channels_per_frame"]]
    return [int(rec["channels_sent"])] * int(rec.get("frames", 1))


def _verify_report(frames: list[np.ndarray], stream: bytes, model: Path, channels: list[int], entropy: str) -> str:
    """`refcodec verify`'s diagnosis of a firmware stream (for the failure message)."""
    from refcodec.verify import verify

    k = channels[0] if len(set(channels)) == 1 else None  # None: each packet's own k
    report = verify(load_model(model), frames, stream, None, k, entropy)
    return report.text()


@pytest.mark.parametrize("core", sorted(CORES))
@pytest.mark.parametrize("name", VECTORS)
def test_qemu_firmware_reproduces_vector(name, core, arm_firmware, tmp_path):
    rec = json.loads((ROOT / name / "vector.json").read_text())
    elf = arm_firmware(rec["model"]["name"], core)
    frames = _vector_frames(ROOT / name, rec)
    ks = _channels(rec)
    assert len(frames) == len(ks)
    k = ks[0] if len(set(ks)) == 1 else ks
    stream, run = run_arm_firmware(elf, core, frames, tmp_path / "out.mcuc", channels=k,
                                   entropy=rec["entropy"], fps=tuple(rec["fps"]) if rec["fps"] else None,
                                   keyframe_interval=rec.get("keyframe_interval"))
    assert run.profile is not None and run.profile["board"] == CORES[core]
    if stream != (ROOT / name / "stream.mcuc").read_bytes():
        report = _verify_report(frames, stream, ROOT / "models" / f"{rec['model']['name']}.npz", ks, rec["entropy"])
        pytest.fail(f"{name} on {core}: the stream differs from the vector's\n{report}")


@pytest.mark.parametrize("core", sorted(CORES))
def test_qemu_firmware_layer_dumps_equal_the_vector(core, arm_firmware, tmp_path):
    """-d DUMP_DIR through semihosting: every layer of an odd-size vector, byte for byte. The frame folder exists
    beforehand, for a front end that creates folders only where it knows mkdir (the port's own mkdir, through
    SYS_SYSTEM, is the next test)."""
    name = "kodim15_odd61x75"
    rec = json.loads((ROOT / name / "vector.json").read_text())
    (tmp_path / "dump" / "frame_0000").mkdir(parents=True)
    run_arm_firmware(arm_firmware(rec["model"]["name"], core), core, [_png(ROOT / name / "input.png")],
                     tmp_path / "out.mcuc", tmp_path / "dump", channels=rec["channels_sent"], entropy=rec["entropy"])
    for tensor in ("input", "conv1", "conv2", "latent", "symbols"):
        got = (tmp_path / "dump" / "frame_0000" / f"{tensor}.bin").read_bytes()
        assert got == (ROOT / name / f"{tensor}.bin").read_bytes(), f"{core}: {tensor}"


@pytest.mark.parametrize("core", sorted(CORES))
def test_qemu_firmware_multi_frame_ctx_stream_equals_refcodec_encode(core, arm_firmware, tmp_path):
    model = load_model(ROOT / "models" / "rand-ctx.npz")
    rng = np.random.default_rng(5)
    base = _png(ROOT / "kodim15_odd61x75" / "input.png")
    frames = [base, np.ascontiguousarray(base[::-1]), rng.integers(0, 256, base.shape, dtype=np.uint8)]
    got, run = run_arm_firmware(arm_firmware("rand-ctx", core), core, frames, tmp_path / "s.mcuc", channels=7,
                                fps=(30000, 1001))
    assert got == encode_frames(frames, model, channels=7, fps=(30000, 1001))
    prof = run.profile
    assert 0 < prof["stack_peak"] < prof["stack_size"] and prof["heap_peak"] > 0


def test_qemu_broken_build_is_caught(arm_firmware, tmp_path):
    """A deliberately broken build (one conv2 weight flipped) run on the M4 does not reproduce the vector: the
    comparison above can fail."""
    name = "kodim01_crop64"
    rec = json.loads((ROOT / name / "vector.json").read_text())
    elf = arm_firmware(rec["model"]["name"], "m4", ("BROKEN_WEIGHT",))
    got, _ = run_arm_firmware(elf, "m4", [_png(ROOT / name / "input.png")], tmp_path / "out.mcuc",
                              channels=rec["channels_sent"], entropy=rec["entropy"])
    assert got != (ROOT / name / "stream.mcuc").read_bytes()


@pytest.mark.parametrize("core", sorted(CORES))
def test_qemu_exit_status_is_the_programs(core, arm_firmware, tmp_path):
    """A failing firmware run fails: usage error -> 2, missing input -> 1 (main.c's statuses), through
    semihosting SYS_EXIT_EXTENDED, with the program's error as the last line of stderr; run-qemu.sh refuses an
    argument with a space (2) instead of splitting it."""
    elf = arm_firmware("rand-double", core)
    assert run_qemu(elf, core, ["-w", "0", "-h", "8", "a.rgb", "b.mcuc"], cwd=tmp_path).returncode == 2
    run = run_qemu(elf, core, ["-w", "8", "-h", "8", "missing.rgb", "b.mcuc"], cwd=tmp_path)
    assert run.returncode == 1 and "missing.rgb" in run.stderr.strip().splitlines()[-1]
    assert run.profile is None  # no RCPROF after a failure: the error is the last line
    proc = subprocess.run([str(RUN_QEMU), core, str(elf), "-w", "8", "-h", "8", "a b.rgb", "o.mcuc"],
                          capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 2 and "space" in proc.stderr


@pytest.mark.parametrize("core", sorted(CORES))
def test_systick_counts_one_tick_per_cpu_clock_period_of_instructions(core, arm_firmware, tmp_path):
    """`ELF --rc-calibrate N` (rc_selftest.c): a loop of exactly 2N instructions (subs + bne). Under -icount shift=0 one
    instruction is 1 ns of virtual time and SysTick runs at the board's CPU clock, so the loop takes
    2N * cpu_hz / 1e9 ticks (1/40 per instruction on the M4 at 25 MHz, 1/31.25 on the M55 at 32 MHz), to the
    tick, also across the 24-bit counter's wraps (N = 4e8: 20M ticks on the M4, 25.6M on the M55)."""
    elf = arm_firmware("rand-double", core)
    ns = [1000, 1000000, 200000000, 400000000]
    run = run_qemu(elf, core, ["--rc-calibrate", *map(str, ns)], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    cal = [json.loads(line[len("RCCAL "):]) for line in run.stderr.splitlines() if line.startswith("RCCAL ")]
    assert [c["n"] for c in cal] == ns
    for c in cal:
        expect = c["loop_instructions"] * CPU_HZ[core] / 1e9
        assert abs(c["ticks"] - expect) <= 2, (c, expect)  # +-1 tick of read phase, +-1 of the reads' own cost
    assert cal[-1]["ticks"] > 1 << 24
    assert run.profile["cpu_hz"] == CPU_HZ[core]


@pytest.mark.parametrize("core", sorted(CORES))
def test_profile_hooks_stack_and_heap_measures(core, arm_firmware, tmp_path):
    """The port's measures, each against a known amount: rc_profile_enter/leave around a loop of 2N instructions
    (conv1 stage: 2N to a tick, one call), N bytes of stack touched (stack_peak >= N, and not far above), N bytes
    malloc'd (sbrk heap_peak >= N; heap_live_peak N to malloc's granule)."""
    elf = arm_firmware("rand-double", core)
    tick = 1e9 / CPU_HZ[core]
    prof = run_qemu(elf, core, ["--rc-profile", "1000000"], cwd=tmp_path).profile
    conv1 = prof["stages"]["conv1"]
    assert conv1["calls"] == 1 and abs(conv1["instructions"] - 2_000_000) <= 2 * tick
    assert all(prof["stages"][s]["calls"] == 0 for s in ("conv2", "conv3", "quant", "entropy"))
    base = run_qemu(elf, core, ["--rc-stack", "16"], cwd=tmp_path).profile["stack_peak"]
    run = run_qemu(elf, core, ["--rc-stack", "20000"], cwd=tmp_path)
    assert run.returncode == 0 and 20000 <= run.profile["stack_peak"] <= 20000 + base
    run = run_qemu(elf, core, ["--rc-heap", "100000"], cwd=tmp_path)
    assert run.returncode == 0 and 100000 <= run.profile["heap_peak"] < 100000 + 8192  # sbrk: 4 KiB steps
    assert 100000 <= run.profile["heap_live_peak"] <= 100000 + 8  # one block of usable size n rounded to 8


@pytest.mark.parametrize("core", sorted(CORES))
def test_faults_end_the_run_with_a_report(core, arm_firmware, tmp_path):
    """A fault never hangs QEMU: the handler prints the exception and exits 134. --rc-nocp disables CPACR and does
    a float operation: the NOCP UsageFault (CFSR bit 19) that the reset code prevents by enabling CP10/CP11 before
    any C; --rc-fault reads an unmapped address (precise BusFault)."""
    elf = arm_firmware("rand-double", core)
    run = run_qemu(elf, core, ["--rc-nocp"], cwd=tmp_path, timeout=60)
    assert run.returncode == 134 and "cfsr=00080000" in run.stderr
    run = run_qemu(elf, core, ["--rc-fault"], cwd=tmp_path, timeout=60)
    assert run.returncode == 134 and "rc_port: exception" in run.stderr


@pytest.mark.parametrize("core", sorted(CORES))
def test_port_mkdir_creates_nested_folders(core, arm_firmware, tmp_path):
    """The port's mkdir (no semihosting call for it: `mkdir -p` through SYS_SYSTEM) makes a nested folder that the
    program then writes into; a path with a quote is refused (status 1), not passed to a shell."""
    elf = arm_firmware("rand-double", core)
    assert run_qemu(elf, core, ["--rc-mkdir", "d/frame_0003"], cwd=tmp_path).returncode == 0
    assert (tmp_path / "d" / "frame_0003" / "ok").is_file()
    assert run_qemu(elf, core, ["--rc-mkdir", "e'x"], cwd=tmp_path).returncode == 1
    assert not any(p.name.startswith("e") for p in tmp_path.iterdir())


@pytest.mark.parametrize("core", sorted(CORES))
def test_qemu_firmware_reproduces_the_inter_streams(core, tmp_path):
    """Inter coding (spec §6.7) on the cores: the conformance streams of vectors/inter, byte for byte (the range
    coder's 64-bit `low` and the previous frame's symbols in the arena)."""
    from refcodec.vectors import inter_vectors

    inter = ROOT / "inter"
    header = tmp_path / "rand-inter.h"
    export_c_header(load_model(ROOT / "models" / "rand-inter.npz"), header)
    elf = build_arm_firmware(header, tmp_path, core, (), name="fw_rand_inter")
    frames = inter_vectors._frames(ROOT)
    got, _ = run_arm_firmware(elf, core, frames, tmp_path / "a.mcuc", entropy="inter", fps=(10, 1), keyframe_interval=4)
    assert got == (inter / "keyframes_48x64.mcuc").read_bytes()
    got, _ = run_arm_firmware(elf, core, frames, tmp_path / "b.mcuc", channels=[12, 12, 5, 8, 8, 3, 12, 12],
                              entropy="inter", fps=(10, 1), keyframe_interval=30)
    assert got == (inter / "k_changes_48x64.mcuc").read_bytes()
