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

from refcodec.errors import InputFileError, InvalidArgumentError
from refcodec.media.resize import centre_crop_box, cover_size

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".ppm", ".tif", ".tiff", ".webp")


def resized_size(width: int, height: int, size: int) -> tuple[int, int]:
    """(new_width, new_height) with the shorter side == size, as torchvision's Resize(int)."""
    return cover_size(width, height, size, size)


def crop_box(width: int, height: int, size: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the centre crop, as torchvision's CenterCrop."""
    return centre_crop_box(width, height, size, size)


def prepare_pil(img: Image.Image, size: int = 224) -> np.ndarray:
    """PIL image -> uint8 [size, size, 3] RGB: resize shorter side to `size` (BILINEAR), centre crop."""
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        raise InvalidArgumentError(f"size must be a positive integer, got {size!r}")
    img = img.convert("RGB")
    w, h = resized_size(img.width, img.height, size)
    if (w, h) != img.size:
        img = img.resize((w, h), Image.Resampling.BILINEAR)
    img = img.crop(crop_box(w, h, size))
    out = np.asarray(img, dtype=np.uint8)
    assert out.shape == (size, size, 3), out.shape
    return out


def prepare_array(rgb: np.ndarray, size: int = 224) -> np.ndarray:
    """uint8 HxWx3 -> uint8 [size, size, 3] (see prepare_pil)."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidArgumentError(f"expected uint8 HxWx3, got {rgb.dtype} {rgb.shape}")
    return prepare_pil(Image.fromarray(rgb, "RGB"), size)


def load_prepared(path: str | Path, size: int = 224) -> np.ndarray:
    """Read an image file and prepare it: uint8 [size, size, 3]."""
    path = Path(path)
    try:
        with Image.open(path) as img:
            img.load()
            return prepare_pil(img, size)
    except (OSError, Image.UnidentifiedImageError) as exc:
        raise InputFileError(f"cannot read image {str(path)!r}: {exc}") from None


def list_images(directory: str | Path) -> list[Path]:
    """Image files directly in `directory`, sorted by name."""
    directory = Path(directory)
    if not directory.is_dir():
        raise InputFileError(f"not a directory: {str(directory)!r}")
    files = sorted(p for p in directory.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise InputFileError(f"no images ({', '.join(IMAGE_SUFFIXES)}) in {str(directory)!r}")
    return files
