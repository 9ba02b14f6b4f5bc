"""JPEG anchor with Pillow (libjpeg-turbo): quality sweep, optimize=True, 4:2:0 or 4:4:4.

Every byte Pillow writes counts (SOI, JFIF APP0, quantisation and image-optimised Huffman tables, SOF, SOS,
entropy-coded data, EOI): bpp = 8 * len(bytes) / (H * W).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import numpy as np
from PIL import Image

from refcodec.errors import InvalidArgumentError
from refcodec.eval.borders import aggregate, border_errors
from refcodec.eval.metrics import ms_ssim, psnr, to_float01

# Pillow's `subsampling` argument per setting name.
SUBSAMPLING = {"420": 2, "444": 0}
# The qualities of the anchor table in ../shared/datasets/README.md.
DEFAULT_QUALITIES = (2, 5, 8, 10, 15, 20, 25, 30, 40, 50, 60, 70, 80, 90)


def jpeg_encode(rgb: np.ndarray, quality: int, subsampling: str = "420") -> bytes:
    """uint8 HxWx3 RGB -> JPEG file bytes (Pillow, optimize=True, full headers)."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise InvalidArgumentError(f"jpeg_encode: expected uint8 HxWx3, got {rgb.dtype} {rgb.shape}")
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)) or not 1 <= quality <= 100:
        raise InvalidArgumentError(f"jpeg quality must be an integer in [1, 100], got {quality!r}")
    if subsampling not in SUBSAMPLING:
        raise InvalidArgumentError(f"jpeg subsampling must be one of {sorted(SUBSAMPLING)}, got {subsampling!r}")
    buf = io.BytesIO()
    Image.fromarray(rgb, "RGB").save(
        buf, format="JPEG", quality=int(quality), optimize=True, subsampling=SUBSAMPLING[subsampling]
    )
    return buf.getvalue()


def jpeg_decode(data: bytes) -> np.ndarray:
    """JPEG bytes -> uint8 HxWx3 RGB (Pillow)."""
    with Image.open(io.BytesIO(data)) as img:
        return np.asarray(img.convert("RGB"), dtype=np.uint8)


def jpeg_point(rgb: np.ndarray, quality: int, subsampling: str = "420") -> dict:
    """One image at one setting: {"bytes", "bpp", "psnr", "ms_ssim", "border"} (metrics on RGB in [0, 1];
    border: refcodec.eval.borders.border_errors, as for refcodec's points)."""
    data = jpeg_encode(rgb, quality, subsampling)
    rec = jpeg_decode(data)
    ref = to_float01(rgb)
    out = to_float01(rec)
    h, w = rgb.shape[:2]
    return {
        "bytes": len(data),
        "bpp": 8.0 * len(data) / (h * w),
        "psnr": psnr(ref, out),
        "ms_ssim": ms_ssim(ref, out),
        "border": border_errors(ref, out),
    }


def jpeg_sweep(
    images: Sequence[np.ndarray],
    qualities: Sequence[int] = DEFAULT_QUALITIES,
    subsampling: str = "420",
    progress: Callable[[str], None] | None = None,
) -> list[dict]:
    """Mean over `images` of bpp, PSNR and MS-SSIM at each quality (arithmetic means of per-image values).

    Returns one dict per quality, in the given order: {"quality", "bpp", "psnr", "ms_ssim", "borders"}
    (borders: refcodec.eval.borders.aggregate over the images, the peer of refcodec's border figures).
    """
    if len(images) == 0:
        raise InvalidArgumentError("jpeg_sweep: no images")
    rows = []
    for q in qualities:
        pts = [jpeg_point(img, q, subsampling) for img in images]
        rows.append(
            {
                "quality": int(q),
                "bpp": float(np.mean([p["bpp"] for p in pts])),
                "psnr": float(np.mean([p["psnr"] for p in pts])),
                "ms_ssim": float(np.mean([p["ms_ssim"] for p in pts])),
                "borders": aggregate([p["border"] for p in pts]),
            }
        )
        if progress is not None:
            r = rows[-1]
            progress(f"jpeg {subsampling} q={q}: {r['bpp']:.3f} bpp, {r['psnr']:.2f} dB, MS-SSIM {r['ms_ssim']:.4f}")
    return rows
