"""Building and running the C firmware (top-level `firmware/`: the encoder library and its host front end)
from Python: what the tests and `make firmware` do. Needs gcc (C99); the model's constants come from
`refcodec export c-header`.

The compiler flags are the ones of firmware/Makefile: -std=c99 -O2 -Wall -Wextra -Werror -pedantic.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np

from refcodec.errors import InputFileError, InvalidArgumentError
from refcodec.firmware.c_header import export_c_header

FIRMWARE_DIR = Path(__file__).resolve().parents[2] / "firmware"
LIB_TEST_DRIVER = FIRMWARE_DIR / "test" / "rc_lib_test.c"
"""Host test driver of the library (random row counts, arena guard, rc_plan figures)."""
LIBRARY_SOURCES = ("rc_encoder.c", "rc_conv_row.c", "rc_stream.c", "rc_crc32.c")
"""The encoder library (no malloc, no stdio); main.c is the host / semihosting front end over it."""
SOURCES = ("main.c", *LIBRARY_SOURCES)
CFLAGS = ("-std=c99", "-O2", "-Wall", "-Wextra", "-Werror", "-pedantic")
BROKEN_VARIANTS = ("BROKEN_SINGLE_ROUNDING", "BROKEN_PADDING", "BROKEN_WEIGHT", "BROKEN_CRC")
"""Compile-time flags of the deliberately broken builds (tests of `refcodec verify`)."""
TEST_DEFINES = ("RC_EMULATE_DSP", "RC_NO_DSP")
"""Kernel selection for tests: RC_EMULATE_DSP runs the DSP (SMLAD) kernel's code path on any host with portable
C versions of the intrinsics; RC_NO_DSP forces the plain-C kernel on a DSP core."""


def build_firmware(model, out_dir: str | Path, defines: tuple[str, ...] = (), name: str = "refcodec_fw",
                   program: str | Path | None = None) -> Path:
    """Export `model`'s header into out_dir/<name>.inc/rc_model.h and compile refcodec_fw (or, with `program`,
    that C file instead of the front end main.c, linked with the library: e.g. firmware/test/rc_lib_test.c);
    returns the binary."""
    gcc = shutil.which("gcc")
    if gcc is None:
        raise InputFileError("gcc not found: the firmware stand-in needs a C99 compiler")
    for d in defines:
        if d not in BROKEN_VARIANTS + TEST_DEFINES:
            raise InvalidArgumentError(f'unknown firmware define "{d}", expected one of {BROKEN_VARIANTS + TEST_DEFINES}')
    out_dir = Path(out_dir)
    inc = out_dir / f"{name}.inc"
    inc.mkdir(parents=True, exist_ok=True)
    export_c_header(model, inc / "rc_model.h")
    exe = out_dir / name
    src = FIRMWARE_DIR / "src"
    cmd = [gcc, *CFLAGS, *(f"-D{d}" for d in defines), f"-I{src}", f"-I{inc}",
           *(str(src / s) for s in (SOURCES if program is None else LIBRARY_SOURCES)),
           *(() if program is None else (str(program), "-pthread")), "-o", str(exe)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise InputFileError(f"firmware build failed: {proc.stderr.strip().splitlines()[0] if proc.stderr else proc.returncode}")
    return exe


def write_raw_frames(frames: list[np.ndarray], stream_path: Path) -> Path:
    """The frames as raw RGB (the front end's input) next to stream_path, with the suffix .rgb; its path."""
    if not frames:
        raise InvalidArgumentError("no frames")
    raw = Path(stream_path).with_suffix(".rgb")
    raw.write_bytes(b"".join(np.ascontiguousarray(f, dtype=np.uint8).tobytes() for f in frames))
    return raw


def front_end_options(frames: list[np.ndarray], channels: int | list[int] | None = None, entropy: str | None = None,
                      fps: tuple[int, int] | None = None, keyframe_interval: int | None = None) -> list[str]:
    """The front end's options (firmware/README.md) for these frames, on the host and under QEMU alike:
    -w -h -n, and -f, -k (one k, or K0,K1,... per frame), -e, -i where given."""
    h, w = frames[0].shape[:2]
    opts = ["-w", str(w), "-h", str(h), "-n", str(len(frames))]
    if fps is not None:
        opts += ["-f", f"{fps[0]}/{fps[1]}"]
    if channels is not None:
        opts += ["-k", ",".join(str(int(k)) for k in channels) if isinstance(channels, (list, tuple))
                 else str(int(channels))]
    if entropy is not None:
        opts += ["-e", entropy]
    if keyframe_interval is not None:
        opts += ["-i", str(int(keyframe_interval))]
    return opts


def run_firmware(exe: str | Path, frames: list[np.ndarray], stream_path: str | Path, dump_dir: str | Path | None = None,
                 channels: int | list[int] | None = None, entropy: str | None = None,
                 fps: tuple[int, int] | None = None, keyframe_interval: int | None = None) -> bytes:
    """Run the firmware front end on uint8 [H, W, 3] frames; returns the stream bytes it wrote. fps None: no timing
    field. channels: one k for every frame, or a list (frame i uses channels[i], the last value repeats).
    keyframe_interval: `-i N` (inter streams, entropy "inter")."""
    stream_path = Path(stream_path)
    raw = write_raw_frames(frames, stream_path)
    cmd = [str(exe), *front_end_options(frames, channels, entropy, fps, keyframe_interval)]
    if dump_dir is not None:
        cmd += ["-d", str(dump_dir)]
    proc = subprocess.run([*cmd, str(raw), str(stream_path)], capture_output=True, text=True)
    if proc.returncode != 0:
        raise InputFileError(f"firmware run failed ({proc.returncode}): {proc.stderr.strip()}")
    return stream_path.read_bytes()
