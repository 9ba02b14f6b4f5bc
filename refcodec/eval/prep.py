"""Image preparation of the MCUCoder paper's evaluation: shorter side resized to `size` (bilinear,
antialiased, Pillow), then a centre crop `size` x `size`.

The sizes and offsets follow torchvision's ``Resize(size)`` + ``CenterCrop(size)`` (which the paper's code
uses): the longer side becomes ``int(size * long / short)`` (truncated), and the crop starts at
``int(round((H - size) / 2))`` rows and ``int(round((W - size) / 2))`` columns. Pillow's BILINEAR resize
widens its filter support by the downscale factor, i.e. it is antialiased.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from refcodec.errors import InvalidArgumentError
from refcodec.media.reader import IMAGE_EXTS, read_image
from refcodec.media.reader import list_images as media_list_images
from refcodec.media.resize import centre_crop_box, cover_size, resize_frame

IMAGE_SUFFIXES = IMAGE_EXTS  # former name


def resized_size(width: int, height: int, size: int) -> tuple[int, int]:
    """(new_width, new_height) with the shorter side == size, as torchvision's Resize(int)."""
    return cover_size(width, height, size, size)


def crop_box(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the centre crop, as torchvision's CenterCrop."""
    return centre_crop_box(width, height, size, size)


def _check_size(size) -> None:
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise InvalidArgumentError(f"size must be a positive integer, got {size!r}")


def prepare_array(rgb: np.ndarray, size: int = 224) -> np.ndarray:
    """uint8 HxWx3 -> uint8 [size, size, 3]: refcodec.media.resize_frame to (size, size) (the one resize)."""
    _check_size(size)
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidArgumentError(f"expected uint8 HxWx3, got {rgb.dtype} {rgb.shape}")
    return resize_frame(rgb, (size, size))


def prepare_pil(img: Image.Image, size: int = 224) -> np.ndarray:
    """PIL image -> uint8 [size, size, 3] RGB (see prepare_array)."""
    return prepare_array(np.asarray(img.convert("RGB"), dtype=np.uint8), size)


def trim_frame(rgb: np.ndarray, trim: int, name: str = "image") -> np.ndarray:
    """rgb without `trim` pixels on each of its four sides (before any resize: `refcodec eval --trim`)."""
    if isinstance(trim, bool) or not isinstance(trim, int) or trim < 0:
        raise InvalidArgumentError(f"trim must be an integer >= 0, got {trim!r}")
    h, w = rgb.shape[:2]
    if 2 * trim >= min(h, w):
        raise InvalidArgumentError(f"{name}: trimming {trim} px from each side leaves nothing of {w}x{h}")
    return np.ascontiguousarray(rgb[trim:h - trim, trim:w - trim]) if trim else rgb


def load_prepared(path: str | Path, size: int = 224, trim: int = 0) -> np.ndarray:
    """Read an image file (refcodec.media.read_image: the package's one reader), cut `trim` pixels off each
    side (`trim_frame`; 0: the paper's protocol) and prepare it: uint8 [size, size, 3]."""
    _check_size(size)
    return prepare_array(trim_frame(read_image(path), trim, Path(path).name), size)


def list_images(directory: str | Path) -> list[Path]:
    """Image files (refcodec.media.reader.IMAGE_EXTS) directly in `directory`, sorted by name."""
    return media_list_images(directory)
