"""Building the firmware (firmware/src) for bare-metal Cortex-M cores and running it under QEMU (firmware/arm).

Two cores, two of QEMU's Arm MPS boards (Debian's qemu-system-arm 7.2):

* ``m4``: ``-M mps2-an386``, Cortex-M4F (-mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16, DSP extension);
* ``m55``: ``-M mps3-an547``, Cortex-M55 (-mcpu=cortex-m55 -mfloat-abi=hard: FPU and MVE/Helium).

The build is firmware/arm/Makefile (arm-none-eabi-gcc + newlib rdimon semihosting); the run is
firmware/arm/run-qemu.sh (``-icount shift=0``). The program prints one ``RCPROF {...}`` JSON line on stderr at
exit: SysTick ticks, instructions (ticks x 1e9 / cpu_hz, see firmware/arm/README.md), stack peak (painting),
heap peak (sbrk high-water) and the library's per-stage counts (rc_profile.h).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from refcodec.errors import InputFileError, InvalidArgumentError
from refcodec.firmware.build import front_end_options, write_raw_frames

ARM_DIR = Path(__file__).resolve().parents[2] / "firmware" / "arm"
RUN_QEMU = ARM_DIR / "run-qemu.sh"
CORES = {"m4": "mps2-an386", "m55": "mps3-an547"}
"""Core name -> QEMU machine."""
CPU_HZ = {"m4": 25_000_000, "m55": 32_000_000}
"""The SysTick processor clock of each board in QEMU (hw/arm/mps2.c, mps2-tz.c): one tick is 1e9 / CPU_HZ
instructions under -icount shift=0 (checked by tests/test_firmware_qemu.py with a loop of known length)."""
TOOLS = ("arm-none-eabi-gcc", "qemu-system-arm", "make")


def missing_tools() -> list[str]:
    """The tools of the QEMU build/run that are not on PATH (empty: everything is there)."""
    return [t for t in TOOLS if shutil.which(t) is None]


@dataclass
class QemuRun:
    """One firmware run under QEMU: exit status, stderr (without the RCPROF line) and the profile."""

    returncode: int
    stderr: str
    profile: dict | None


def build_arm_firmware(header: str | Path, out_dir: str | Path, core: str, defines: tuple[str, ...] = (),
                       name: str = "refcodec_fw", src_dir: str | Path | None = None) -> Path:
    """Compile firmware/src/*.c (or src_dir/*.c) + the port for `core` against the C model header; returns the ELF.

    out_dir/<core>/<name>.elf (make -C firmware/arm CORE=core MODEL_H=header BUILD=out_dir [SRC_DIR=src_dir]).
    """
    if core not in CORES:
        raise InvalidArgumentError(f'unknown core "{core}", expected one of {sorted(CORES)}')
    missing = missing_tools()
    if missing:
        raise InputFileError(f"cannot build the Arm firmware: {', '.join(missing)} not found")
    for d in defines:
        if not d.replace("_", "").isalnum():
            raise InvalidArgumentError(f'bad define "{d}"')
    out_dir = Path(out_dir).resolve()
    cmd = ["make", "-s", "-C", str(ARM_DIR), f"CORE={core}", f"MODEL_H={Path(header).resolve()}",
           f"BUILD={out_dir}", f"NAME={name}", "DEFS=" + " ".join(f"-D{d}" for d in defines), "elf"]
    if src_dir is not None:
        cmd.insert(-1, f"SRC_DIR={Path(src_dir).resolve()}")
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        lines = (proc.stderr or proc.stdout).strip().splitlines()
        raise InputFileError(f"Arm firmware build failed: {lines[0] if lines else proc.returncode}")
    return out_dir / core / f"{name}.elf"


def parse_profile(stderr: str) -> tuple[dict | None, str]:
    """(the RCPROF JSON object or None, stderr without that line)."""
    profile, rest = None, []
    for line in stderr.splitlines(keepends=True):
        if line.startswith("RCPROF "):
            profile = json.loads(line[len("RCPROF "):])
        else:
            rest.append(line)
    return profile, "".join(rest)


def run_qemu(elf: str | Path, core: str, args: list[str], cwd: str | Path | None = None,
             timeout: float = 600) -> QemuRun:
    """Run `elf` on `core` with program arguments `args` (paths relative to `cwd`, which keeps the semihosting
    command line short); never raises on the program's exit status."""
    if core not in CORES:
        raise InvalidArgumentError(f'unknown core "{core}", expected one of {sorted(CORES)}')
    env = dict(os.environ, QEMU_TIMEOUT=str(int(timeout)))
    proc = subprocess.run([str(RUN_QEMU), core, str(Path(elf).resolve()), *args], cwd=cwd, capture_output=True,
                          text=True, env=env)
    profile, rest = parse_profile(proc.stderr)
    return QemuRun(proc.returncode, rest, profile)


def run_arm_firmware(elf: str | Path, core: str, frames: list[np.ndarray], stream_path: str | Path,
                     dump_dir: str | Path | None = None, channels: int | list[int] | None = None,
                     entropy: str | None = None,
                     fps: tuple[int, int] | None = None, keyframe_interval: int | None = None) -> tuple[bytes, QemuRun]:
    """Like refcodec.firmware.build.run_firmware, on a core under QEMU: writes the frames as raw RGB next to
    stream_path, runs with that folder as working directory; returns (stream bytes, the run). channels: one k, or
    one per frame (`-k K0,K1,...`, a front end that takes per-frame k)."""
    stream_path = Path(stream_path).resolve()
    work = stream_path.parent
    raw = write_raw_frames(frames, stream_path)
    args = front_end_options(frames, channels, entropy, fps, keyframe_interval)
    if dump_dir is not None:
        args += ["-d", os.path.relpath(Path(dump_dir).resolve(), work)]
    run = run_qemu(elf, core, [*args, raw.name, stream_path.name], cwd=work)
    if run.returncode != 0:
        raise InputFileError(f"firmware run on {core} failed ({run.returncode}): {run.stderr.strip()}")
    return stream_path.read_bytes(), run
