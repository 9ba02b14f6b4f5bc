"""The raw layer-dump format that `refcodec verify --layers DIR` reads (documented in vectors/README.md).

What a firmware developer writes out over UART or from a debugger, one file per tensor, raw bytes with no
header, NHWC with the batch dimension dropped, row-major: the byte of (y, x, c) is at (y * W + x) * C + c.

    DIR/input.bin     int8  [H][W][3]        the padded frame after input conversion (pixel - 128)
    DIR/conv1.bin     int8  [H/2][W/2][16]   conv1 output (after ReLU)
    DIR/conv2.bin     int8  [H/8][W/8][16]   conv2 output (after ReLU)
    DIR/latent.bin    int8  [H/8][W/8][12]   conv3 output: the int8 latent
    DIR/symbols.bin   uint8 [H/8][W/8][12]   latent symbols (spec section 5)

H and W are the padded frame size (multiples of 8). Any subset of the files may be present. Several frames:
`DIR/frame_0000/`, `DIR/frame_0001/`, ... each laid out as above (frame numbers from 0, four digits or more).
`<name>.npy` files (as `refcodec encode --dump-layers` writes) are read too, with allow_pickle=False.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from refcodec.errors import InputFileError

DUMP_NAMES = ("input", "conv1", "conv2", "latent", "symbols")
"""Tensor names in execution order; `symbols` is uint8, the others int8."""

_FRAME_DIR = re.compile(r"^frame_(\d{4,})$")


def dump_dtype(name: str) -> np.dtype:
    return np.dtype(np.uint8) if name == "symbols" else np.dtype(np.int8)


def frame_dirs(root: str | Path) -> list[Path]:
    """The per-frame dump folders under `root`: [root] itself when it holds dump files, else its frame_NNNN
    subfolders in frame order (which must be numbered 0, 1, 2, ... without gaps)."""
    root = Path(root)
    if not root.is_dir():
        raise InputFileError(f"layer dump folder not found: '{root}'")
    if any((root / f"{n}.bin").is_file() or (root / f"{n}.npy").is_file() for n in DUMP_NAMES):
        return [root]
    found = sorted((int(m.group(1)), p) for p in root.iterdir() if p.is_dir() and (m := _FRAME_DIR.match(p.name)))
    if not found:
        raise InputFileError(f"layer dump folder '{root}' holds no {'/'.join(DUMP_NAMES)}.bin and no frame_NNNN folders")
    numbers = [n for n, _ in found]
    if numbers != list(range(len(found))):
        raise InputFileError(f"layer dump folders of '{root}' are numbered {numbers[:8]}, expected 0, 1, 2, ...")
    return [p for _, p in found]


def read_dump(folder: str | Path, name: str) -> np.ndarray | None:
    """The flat bytes of tensor `name` in `folder` (int8, or uint8 for symbols), or None when absent.
    A .npy file is flattened (its shape is checked by the caller against the expected one)."""
    folder = Path(folder)
    raw, npy = folder / f"{name}.bin", folder / f"{name}.npy"
    try:
        if raw.is_file():
            return np.frombuffer(raw.read_bytes(), dtype=dump_dtype(name))
        if npy.is_file():
            a = np.load(npy, allow_pickle=False)
            if a.dtype.itemsize != 1 or a.dtype.kind not in "iu":
                raise InputFileError(f"layer dump '{npy}' has dtype {a.dtype}, expected int8/uint8")
            return np.ascontiguousarray(a).reshape(-1).view(dump_dtype(name))
    except (OSError, ValueError) as e:
        raise InputFileError(f"cannot read layer dump in '{folder}' ({name}): {e}") from None
    return None
