"""Writing decoded frames: .png (one frame), a folder of PNGs, .y4m, or .mp4/.avi (imageio-ffmpeg).

Every output goes to a temporary name in the destination folder first and is renamed when complete
(refcodec.io_utils), so a failure never leaves a half-written file. Float frames [0, 1] become uint8
by round(255 * x) clamped to [0, 255].
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

import numpy as np

from refcodec.errors import InputFileError, InvalidArgumentError
from refcodec.io_utils import atomic_path

VIDEO_OUT_CODECS = {".mp4": "libx264", ".avi": "mjpeg", ".mkv": "libx264", ".mov": "libx264"}


def to_uint8(frame: np.ndarray) -> np.ndarray:
    """float [H, W, 3] in [0, 1] -> uint8 (round half to even of 255 x, clamped); uint8 passes through."""
    a = np.asarray(frame)
    if a.dtype == np.uint8:
        return a
    return np.clip(np.rint(a.astype(np.float64) * 255.0), 0, 255).astype(np.uint8)


def output_kind(path: str | os.PathLike) -> str:
    """"png" | "folder" | "y4m" | "video" from the path: an existing folder or a name without a
    suffix is a folder."""
    p = Path(path)
    ext = p.suffix.lower()
    if p.is_dir() or ext == "":
        return "folder"
    if ext == ".png":
        return "png"
    if ext == ".y4m":
        return "y4m"
    if ext in VIDEO_OUT_CODECS:
        return "video"
    raise InputFileError(f"unsupported output format '{p.suffix}' (.png, a folder, .y4m, {', '.join(VIDEO_OUT_CODECS)})")


def write_png(path, frame: np.ndarray) -> None:
    from PIL import Image  # Pillow directly: imageio's import and plugin scan cost ~0.1 s of start-up

    with atomic_path(path) as tmp:
        Image.fromarray(to_uint8(frame)).save(tmp, format="PNG")


def write_frames(path: str | os.PathLike, frames: Iterable[np.ndarray], fps: tuple[int, int] = (25, 1),
                 n_frames: int | None = None) -> int:
    """Write frames to `path` (kind by extension, see output_kind); returns the number written."""
    kind = output_kind(path)
    p = Path(path)
    if kind == "png":
        frames = list(frames)
        if len(frames) != 1:
            raise InvalidArgumentError(
                f"'{p.name}' is a single PNG but the stream has {len(frames)} frames; give a folder, .y4m or .mp4")
        write_png(p, frames[0])
        return 1
    if kind == "folder":
        p.mkdir(parents=False, exist_ok=True) if p.parent.is_dir() else None
        if not p.is_dir():
            raise InputFileError(f"cannot create output folder '{p}'")
        n = 0
        for fr in frames:
            write_png(p / f"frame_{n:06d}.png", fr)
            n += 1
        return n
    if kind == "y4m":
        from refcodec.media.y4m import write_y4m

        with atomic_path(p) as tmp:
            with open(tmp, "wb") as f:
                n = write_y4m(f, (to_uint8(fr) for fr in frames), fps)
        return n
    import imageio.v2 as iio2

    with atomic_path(p) as tmp:
        writer = iio2.get_writer(tmp, format="FFMPEG", fps=fps[0] / fps[1], codec=VIDEO_OUT_CODECS[p.suffix.lower()],
                                 macro_block_size=1, quality=8 if p.suffix.lower() != ".avi" else None,
                                 ffmpeg_log_level="error", pixelformat="yuv420p")
        n = 0
        try:
            for fr in frames:
                a = to_uint8(fr)
                h, w = a.shape[:2]
                if h % 2 or w % 2:  # yuv420p needs even sides: replicate the last row / column
                    a = np.pad(a, ((0, h % 2), (0, w % 2), (0, 0)), mode="edge")
                writer.append_data(a)
                n += 1
        finally:
            writer.close()
    return n
