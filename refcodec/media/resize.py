"""Resizing to a target size the way the MCUCoder evaluation protocol does (not part of the bitstream).

resize_frame(rgb, (W, H)): scale so the image covers W x H keeping its aspect ratio, bilinear with
antialiasing (Pillow's BILINEAR widens its support when downscaling), then centre crop to W x H. For a square
target this is torchvision's Resize(W) + CenterCrop(W) (the paper's protocol, also refcodec.eval.prep): the side
that binds becomes exactly W (or H), the other is truncated as torchvision's int(size * long / short), and the
crop starts at int(round((new - target) / 2)).
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from refcodec.errors import InvalidArgumentError


def cover_size(width: int, height: int, target_w: int, target_h: int) -> tuple[int, int]:
    """(new_width, new_height) of the aspect-preserving resize that covers target_w x target_h."""
    if target_w * height >= target_h * width:  # the width binds (exact integer comparison of the two scales)
        return target_w, max(target_h, int(target_w * height / width))
    return max(target_w, int(target_h * width / height)), target_h


def centre_crop_box(width: int, height: int, target_w: int, target_h: int) -> tuple[int, int, int, int]:
    """(left, top, right, bottom) of the centre crop, as torchvision's CenterCrop."""
    left = int(round((width - target_w) / 2.0))
    top = int(round((height - target_h) / 2.0))
    return left, top, left + target_w, top + target_h


def resize_frame(rgb: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """uint8 [h, w, 3] -> uint8 [H, W, 3] with (W, H) = size."""
    W, H = int(size[0]), int(size[1])
    if W < 1 or H < 1:
        raise InvalidArgumentError(f"size {W}x{H} must be positive")
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidArgumentError(f"image must be uint8 [H, W, 3], got {rgb.dtype} {rgb.shape}")
    h, w = rgb.shape[:2]
    if (w, h) == (W, H):
        return rgb
    nw, nh = cover_size(w, h, W, H)
    img = Image.fromarray(rgb)
    if (nw, nh) != (w, h):
        img = img.resize((nw, nh), Image.Resampling.BILINEAR)
    return np.asarray(img.crop(centre_crop_box(nw, nh, W, H)), dtype=np.uint8)
