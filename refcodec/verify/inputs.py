"""Reading the frames given to `refcodec verify` / `refcodec vectors`: an image file (PNG, JPEG, ...), a folder of
images (sorted by name), or raw RGB (`.rgb`: frames of H x W x 3 uint8 back to back, size given as WxH)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from refcodec.errors import InputFileError, InvalidArgumentError

from refcodec.media.reader import IMAGE_EXTS, list_images, read_image  # the one image reader and suffix list

__all__ = ["IMAGE_EXTS", "read_frames", "read_image", "read_raw_rgb"]


def read_raw_rgb(path: Path, size: tuple[int, int]) -> list[np.ndarray]:
    """Frames of a raw .rgb file; size = (W, H)."""
    w, h = size
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputFileError(f"cannot read '{path}': {e.strerror or e}") from None
    frame = w * h * 3
    if not data or len(data) % frame:
        raise InputFileError(f"raw RGB file '{path}' has {len(data)} bytes, not a multiple of {w}x{h}x3 = {frame}")
    a = np.frombuffer(data, np.uint8).reshape(-1, h, w, 3)
    return [a[i] for i in range(a.shape[0])]


def read_frames(path: str | Path, size: tuple[int, int] | None = None) -> list[np.ndarray]:
    """The frames of INPUT (see module docstring). size (W, H) is required for .rgb and rejected otherwise."""
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"input not found: '{p}'")
    if p.suffix.lower() == ".rgb":
        if size is None:
            raise InvalidArgumentError(f"raw RGB input '{p}' needs --size WxH")
        return read_raw_rgb(p, size)
    if size is not None:
        raise InvalidArgumentError(f"--size applies to raw .rgb input only, not '{p}'")
    if p.is_dir():
        return [read_image(q) for q in list_images(p)]
    if p.suffix.lower() not in IMAGE_EXTS:
        raise InputFileError(f"unsupported input '{p}': expected an image, a folder of images or a .rgb file")
    return [read_image(p)]
