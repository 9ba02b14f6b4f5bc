"""Reading the frames given to `refcodec verify` / `refcodec vectors`: an image file (PNG, JPEG, ...), a folder of
images (sorted by name), or raw RGB (`.rgb`: frames of H x W x 3 uint8 back to back, size given as WxH)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from refcodec.errors import InputFileError, InvalidArgumentError

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff")


def read_image(path: Path) -> np.ndarray:
    """uint8 [H, W, 3] (grey is replicated, alpha dropped)."""
    import imageio.v3 as iio

    try:
        a = np.asarray(iio.imread(path))
    except Exception as e:  # imageio raises many types for unreadable files
        raise InputFileError(f"cannot read image '{path}': {str(e).splitlines()[0] if str(e) else type(e).__name__}") from None
    if a.dtype != np.uint8:
        raise InputFileError(f"image '{path}' has dtype {a.dtype}, expected 8-bit")
    if a.ndim == 2:
        a = np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim != 3 or a.shape[2] not in (3, 4):
        raise InputFileError(f"image '{path}' has shape {a.shape}, expected [H, W, 3]")
    return np.ascontiguousarray(a[:, :, :3])


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
        files = sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputFileError(f"folder '{p}' holds no images ({', '.join(IMAGE_SUFFIXES)})")
        return [read_image(q) for q in files]
    if p.suffix.lower() not in IMAGE_SUFFIXES:
        raise InputFileError(f"unsupported input '{p}': expected an image, a folder of images or a .rgb file")
    return [read_image(p)]
