"""Reading frames: an image (PNG/JPEG/BMP/TIFF/WebP), a folder of images, a .y4m file, or a video
(.mp4/.avi/.mov/.mkv via imageio + imageio-ffmpeg). Every frame comes out as RGB uint8 [H, W, 3]."""

from __future__ import annotations

import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Iterator

import numpy as np

from refcodec.errors import InputFileError, InvalidArgumentError

IMAGE_EXTS = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
VIDEO_EXTS = (".mp4", ".avi", ".mov", ".mkv", ".webm")
Y4M_EXTS = (".y4m",)


@dataclass
class MediaSource:
    """kind: "image" | "folder" | "y4m" | "video"; fps (num, den); n_frames: known count after
    max_frames, or None; frames: iterator of RGB uint8 [H, W, 3]."""

    kind: str
    fps: tuple[int, int]
    n_frames: int | None
    frames: Iterator[np.ndarray]


def to_rgb8(img: np.ndarray, name: str) -> np.ndarray:
    """Grey, grey+alpha, RGB, RGBA of uint8/uint16 -> RGB uint8 [H, W, 3] (alpha dropped, 16-bit >> 8)."""
    a = np.asarray(img)
    if a.dtype == np.uint16:
        a = (a >> 8).astype(np.uint8)
    elif a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    if a.dtype != np.uint8:
        raise InputFileError(f"unsupported pixel type {a.dtype} in '{name}'")
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] in (1, 2):
        a = np.repeat(a[:, :, :1], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 4:
        a = a[:, :, :3]
    if a.ndim != 3 or a.shape[2] != 3 or a.shape[0] < 1 or a.shape[1] < 1:
        raise InputFileError(f"unsupported image shape {a.shape} in '{name}'")
    return np.ascontiguousarray(a)


def _why(exc: BaseException) -> str:
    """First line of an exception's message (or its type name): for one-line errors."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def read_image(path: str | os.PathLike) -> np.ndarray:
    """One image file -> RGB uint8 [H, W, 3]; InputFileError when missing or unreadable."""
    import imageio.v3 as iio

    p = Path(path)
    if not p.is_file():
        raise InputFileError(f"no such file: '{p}'")
    try:
        img = iio.imread(p)
    except Exception as exc:  # imageio raises many types for corrupt files
        raise InputFileError(f"cannot read image '{p}': {_why(exc)}") from None
    if img.ndim == 4:  # animated image: first frame
        img = img[0]
    return to_rgb8(img, str(p))


def fps_fraction(fps: float) -> tuple[int, int]:
    """Float frame rate -> (num, den), e.g. 29.97 -> (30000, 1001), 12.5 -> (25, 2)."""
    if not fps or not np.isfinite(fps) or fps <= 0:
        return 25, 1
    f = Fraction(fps).limit_denominator(1001)
    return f.numerator, f.denominator


def _video(p: Path, max_frames: int | None) -> MediaSource:
    import imageio.v2 as iio2

    try:
        reader = iio2.get_reader(p, format="FFMPEG")
        meta = reader.get_meta_data()
    except Exception as exc:
        raise InputFileError(f"cannot read video '{p}': {_why(exc)}") from None
    fps = fps_fraction(float(meta.get("fps") or 0))
    n = None
    dur = meta.get("duration")
    if dur and np.isfinite(dur) and meta.get("fps"):
        n = int(round(float(dur) * float(meta["fps"])))
    if max_frames is not None:
        n = max_frames if n is None else min(n, max_frames)

    def frames() -> Iterator[np.ndarray]:
        try:
            for i, fr in enumerate(reader):
                if max_frames is not None and i >= max_frames:
                    break
                yield to_rgb8(fr, str(p))
        except InputFileError:
            raise
        except Exception as exc:
            raise InputFileError(f"error decoding video '{p}': {_why(exc)}") from None
        finally:
            reader.close()

    return MediaSource("video", fps, n, frames())


def open_media(path: str | os.PathLike, max_frames: int | None = None,
               fps: tuple[int, int] | None = None) -> MediaSource:
    """Open any supported input. max_frames: take the first N frames (N >= 1). fps: override
    for images and folders (default 25/1 for a folder, 1/1 for a single image)."""
    if max_frames is not None and max_frames < 1:
        raise InvalidArgumentError(f"frames {max_frames} must be >= 1")
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"no such file or folder: '{p}'")
    if p.is_dir():
        files = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_EXTS)
        if not files:
            raise InputFileError(f"folder '{p}' holds no image ({', '.join(IMAGE_EXTS)})")
        files = files[:max_frames] if max_frames else files
        return MediaSource("folder", fps or (25, 1), len(files), (read_image(q) for q in files))
    ext = p.suffix.lower()
    if ext in IMAGE_EXTS:
        return MediaSource("image", fps or (1, 1), 1, iter([read_image(p)]))
    if ext in Y4M_EXTS:
        from refcodec.media.y4m import read_y4m

        info, it = read_y4m(p, max_frames)
        f = info["fps"]
        return MediaSource("y4m", fps or (f.numerator, f.denominator), None, it)
    if ext in VIDEO_EXTS:
        src = _video(p, max_frames)
        if fps:
            src.fps = fps
        return src
    raise InputFileError(
        f"unsupported input format '{p.suffix or p.name}' (images {', '.join(IMAGE_EXTS)}, a folder, .y4m, "
        f"{', '.join(VIDEO_EXTS)})"
    )
