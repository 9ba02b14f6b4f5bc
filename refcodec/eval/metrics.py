"""Image quality metrics in NumPy: PSNR on RGB and MS-SSIM with pytorch_msssim's conventions.

MS-SSIM here is `pytorch_msssim.ms_ssim(X, Y, data_range=1.0)` (Fang 2020, which follows Wang, Simoncelli and
Bovik 2003), reproduced step by step so that results agree to float rounding:

- 1-D Gaussian window, size 11, sigma 1.5, coordinates ``arange(11) - 5``, normalised to sum 1; applied
  separably as a *valid* convolution (no padding), rows then columns. A dimension shorter than the window is
  left unsmoothed (pytorch_msssim warns and skips it).
- K1 = 0.01, K2 = 0.03, data_range = 1: C1 = (K1*L)^2, C2 = (K2*L)^2.
- Per scale and per channel: cs = mean((2*s12 + C2) / (s1 + s2 + C2)); ssim = mean(l * cs map).
- 5 scales, weights (0.0448, 0.2856, 0.3001, 0.2363, 0.1333). Between scales: 2x2 average pooling, stride 2;
  a dimension of odd length is first padded with one zero at the start, the zero counted in the average
  (torch's ``avg_pool2d(kernel_size=2, padding=s % 2)`` with ``count_include_pad=True``).
- cs of scales 1..4 and ssim of scale 5 are clamped at 0 (ReLU), then
  MS-SSIM_c = prod_i cs_i^w_i * ssim_5^w_5 for each colour channel c, and the result is the mean over channels.
- pytorch_msssim asserts min(H, W) > (11 - 1) * 2^4 = 160; 224x224 (scales 224, 112, 56, 28, 14) passes.
"""

from __future__ import annotations

import math

import numpy as np

from refcodec.errors import InvalidArgumentError

WIN_SIZE = 11
WIN_SIGMA = 1.5
K1 = 0.01
K2 = 0.03
MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
MIN_SIDE = (WIN_SIZE - 1) * 2 ** (len(MS_SSIM_WEIGHTS) - 1)  # 160: the side must be larger than this


def _check_pair(a: np.ndarray, b: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    a = np.asarray(a)
    b = np.asarray(b)
    if a.shape != b.shape:
        raise InvalidArgumentError(f"{name}: shapes differ: {a.shape} vs {b.shape}")
    if a.ndim != 3 or a.shape[2] < 1:
        raise InvalidArgumentError(f"{name}: expected an HxWxC image, got shape {a.shape}")
    for x in (a, b):
        if not np.issubdtype(x.dtype, np.floating):
            raise InvalidArgumentError(f"{name}: expected float images in [0, 1], got dtype {x.dtype}")
        if not np.all(np.isfinite(x)):
            raise InvalidArgumentError(f"{name}: image holds non-finite values")
    return a.astype(np.float64, copy=False), b.astype(np.float64, copy=False)


def to_float01(rgb: np.ndarray) -> np.ndarray:
    """uint8 HxWxC in [0, 255] -> float64 HxWxC in [0, 1] (x / 255)."""
    rgb = np.asarray(rgb)
    if rgb.dtype != np.uint8:
        raise InvalidArgumentError(f"to_float01: expected uint8, got dtype {rgb.dtype}")
    return rgb.astype(np.float64) / 255.0


def mse(a: np.ndarray, b: np.ndarray) -> float:
    """Mean squared error over every pixel and channel of two float HxWxC images."""
    a, b = _check_pair(a, b, "mse")
    return float(np.mean((a - b) ** 2))


def psnr(a: np.ndarray, b: np.ndarray, data_range: float = 1.0) -> float:
    """PSNR in dB on all channels together: 10*log10(data_range^2 / MSE).

    a, b: float HxWxC (RGB), values in [0, data_range]. Identical images give +inf.
    """
    if not data_range > 0:
        raise InvalidArgumentError(f"psnr: data_range must be > 0, got {data_range!r}")
    m = mse(a, b)
    if m == 0.0:
        return math.inf
    return 10.0 * math.log10(data_range**2 / m)


def gaussian_window(size: int = WIN_SIZE, sigma: float = WIN_SIGMA) -> np.ndarray:
    """1-D Gaussian, float64 [size], coordinates arange(size) - size // 2, normalised to sum 1."""
    coords = np.arange(size, dtype=np.float64) - size // 2
    g = np.exp(-(coords**2) / (2.0 * sigma**2))
    return g / g.sum()


def _filter_valid(x: np.ndarray, win: np.ndarray) -> np.ndarray:
    """Separable valid convolution of x [..., H, W] with the symmetric 1-D window, axis -2 then -1."""
    n = win.shape[0]
    for axis in (-2, -1):
        length = x.shape[axis]
        if length < n:
            continue  # pytorch_msssim: "Skipping Gaussian Smoothing" for a dimension shorter than the window
        out_len = length - n + 1
        acc = None
        for k in range(n):
            sl = [slice(None)] * x.ndim
            sl[axis] = slice(k, k + out_len)
            term = win[k] * x[tuple(sl)]
            acc = term if acc is None else acc + term
        x = acc
    return x


def _ssim_cs(x: np.ndarray, y: np.ndarray, win: np.ndarray, data_range: float) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel SSIM and contrast-structure terms of x, y [C, H, W] -> (ssim [C], cs [C])."""
    c1 = (K1 * data_range) ** 2
    c2 = (K2 * data_range) ** 2
    stack = np.stack([x, y, x * x, y * y, x * y])  # [5, C, H, W]
    mu1, mu2, exx, eyy, exy = _filter_valid(stack, win)
    mu1_sq, mu2_sq, mu1_mu2 = mu1 * mu1, mu2 * mu2, mu1 * mu2
    s1 = exx - mu1_sq
    s2 = eyy - mu2_sq
    s12 = exy - mu1_mu2
    cs_map = (2.0 * s12 + c2) / (s1 + s2 + c2)
    ssim_map = ((2.0 * mu1_mu2 + c1) / (mu1_sq + mu2_sq + c1)) * cs_map
    return ssim_map.reshape(ssim_map.shape[0], -1).mean(-1), cs_map.reshape(cs_map.shape[0], -1).mean(-1)


def _avg_pool2(x: np.ndarray) -> np.ndarray:
    """2x2 average pooling, stride 2, of x [..., H, W]; an odd dimension gets one leading zero (counted)."""
    for axis in (-2, -1):
        if x.shape[axis] % 2:
            pad = [(0, 0)] * x.ndim
            pad[axis] = (1, 0)
            x = np.pad(x, pad)
        n = x.shape[axis]
        even = np.take(x, np.arange(0, n, 2), axis=axis)
        odd = np.take(x, np.arange(1, n, 2), axis=axis)
        x = (even + odd) * 0.5
    return x


def ms_ssim(a: np.ndarray, b: np.ndarray, data_range: float = 1.0, weights=MS_SSIM_WEIGHTS,
            win: np.ndarray | None = None) -> float:
    """MS-SSIM of two float HxWxC images (RGB, values in [0, data_range]), as pytorch_msssim.ms_ssim.

    Computed per colour channel and averaged over channels (see the module docstring for every convention).
    min(H, W) must exceed 160. Returns a float in [0, 1]; identical images give 1.0.
    win: 1-D window (default gaussian_window(), exact in float64). pytorch_msssim builds its window in float32
    (it sums to 1 - 3e-8), which moves results by up to ~1e-6; pass that window to reproduce it to 1e-12.
    """
    a, b = _check_pair(a, b, "ms_ssim")
    if min(a.shape[:2]) <= MIN_SIDE:
        raise InvalidArgumentError(f"ms_ssim: image side must be > {MIN_SIDE}, got shape {a.shape}")
    if not data_range > 0:
        raise InvalidArgumentError(f"ms_ssim: data_range must be > 0, got {data_range!r}")
    w = np.asarray(weights, dtype=np.float64)
    win = gaussian_window() if win is None else np.asarray(win, dtype=np.float64).ravel()
    if win.size % 2 != 1 or win.size > MIN_SIDE:
        raise InvalidArgumentError(f"ms_ssim: window must have an odd length, got {win.size}")
    x = np.moveaxis(a, -1, 0)  # [C, H, W]
    y = np.moveaxis(b, -1, 0)
    factors = []
    for level in range(w.shape[0]):
        ssim_c, cs_c = _ssim_cs(x, y, win, data_range)
        if level < w.shape[0] - 1:
            factors.append(np.maximum(cs_c, 0.0))
            x = _avg_pool2(x)
            y = _avg_pool2(y)
    factors.append(np.maximum(ssim_c, 0.0))
    per_channel = np.prod(np.stack(factors) ** w[:, None], axis=0)
    return float(per_channel.mean())


def ms_ssim_db(value: float) -> float:
    """MS-SSIM on a dB scale: -10*log10(1 - value); +inf for value == 1."""
    if not 0.0 <= value <= 1.0:
        raise InvalidArgumentError(f"ms_ssim_db: MS-SSIM must be in [0, 1], got {value!r}")
    if value == 1.0:
        return math.inf
    return -10.0 * math.log10(1.0 - value)
