"""Resizing to a target size the way the MCUCoder evaluation protocol does (not part of the bitstream).

resize_frame(rgb, (W, H)): scale so the image covers W x H keeping its aspect ratio (for a square target,
the shorter side becomes W), bilinear with antialiasing (Pillow's BILINEAR widens its support when
downscaling), then centre crop to W x H. Same as torchvision Resize(224) + CenterCrop(224) with antialias.
"""

from __future__ import annotations

import numpy as np
from PIL import Image

from refcodec.errors import InvalidArgumentError


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
    scale = max(W / w, H / h)
    nw, nh = max(W, round(w * scale)), max(H, round(h * scale))
    img = Image.fromarray(rgb).resize((nw, nh), Image.Resampling.BILINEAR)
    left, top = (nw - W) // 2, (nh - H) // 2
    return np.asarray(img.crop((left, top, left + W, top + H)), dtype=np.uint8)
