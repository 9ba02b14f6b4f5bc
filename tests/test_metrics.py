"""PSNR and MS-SSIM (refcodec.eval.metrics) against hand-computed values and pytorch_msssim."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from refcodec.errors import InvalidArgumentError
from refcodec.eval import metrics
from refcodec.eval.metrics import MS_SSIM_WEIGHTS, ms_ssim, ms_ssim_db, psnr

from datasets import KODAK, require_file
C1 = (0.01 * 1.0) ** 2


def _noisy_pair(shape, seed=0, sigma=0.1):
    rng = np.random.default_rng(seed)
    a = rng.random(shape)
    # smooth structure as well as noise, so every scale carries signal
    yy, xx = np.mgrid[0 : shape[0], 0 : shape[1]]
    a = 0.5 * a + 0.5 * (0.5 + 0.5 * np.sin(xx / 9.0 + yy / 13.0))[..., None]
    b = np.clip(a + sigma * rng.standard_normal(shape), 0.0, 1.0)
    return a, b


# ---- hand values ------------------------------------------------------------------------------------------

def test_psnr_hand_values():
    a = np.zeros((4, 5, 3))
    assert psnr(a, a + 0.1) == pytest.approx(20.0, abs=1e-12)  # MSE 0.01
    b = a.copy()
    b[0, 0, 0] = 1.0  # MSE = 1/60
    assert psnr(a, b) == pytest.approx(10 * math.log10(60), abs=1e-12)
    assert psnr(a, a) == math.inf
    assert psnr(a * 255, (a + 0.1) * 255, data_range=255.0) == pytest.approx(20.0, abs=1e-9)


def test_ms_ssim_identical_is_one():
    a, _ = _noisy_pair((224, 224, 3))
    assert ms_ssim(a, a) == pytest.approx(1.0, abs=1e-12)


@pytest.mark.parametrize("x,y", [(0.2, 0.7), (0.5, 0.45), (0.0, 1.0)])
def test_ms_ssim_flat_images_hand_value(x, y):
    # Flat images: every variance and covariance is 0, so cs = C2 / C2 = 1 at every scale and only the
    # luminance term of the last scale remains: MS-SSIM = ((2xy + C1) / (x^2 + y^2 + C1)) ^ w5.
    a = np.full((224, 224, 3), x)
    b = np.full((224, 224, 3), y)
    expected = ((2 * x * y + C1) / (x * x + y * y + C1)) ** MS_SSIM_WEIGHTS[-1]
    assert ms_ssim(a, b) == pytest.approx(expected, abs=1e-12)


def test_ms_ssim_is_mean_over_channels():
    # Flat channels with different values: the result is the mean of the per-channel hand values. Sides are
    # multiples of 16, so no scale has an odd side (which would pad a zero row and break the flatness).
    xs, ys = (0.1, 0.5, 0.9), (0.3, 0.5, 0.2)
    a = np.ones((224, 176, 3)) * np.array(xs)
    b = np.ones((224, 176, 3)) * np.array(ys)
    per = [((2 * x * y + C1) / (x * x + y * y + C1)) ** MS_SSIM_WEIGHTS[-1] for x, y in zip(xs, ys)]
    assert ms_ssim(a, b) == pytest.approx(np.mean(per), abs=1e-12)


def test_avg_pool_odd_length_pads_a_counted_zero_at_start():
    # torch avg_pool2d(kernel 2, padding 1, count_include_pad=True) on length 3: windows [pad, x0], [x1, x2].
    x = np.array([[1.0, 2.0, 3.0]])  # H = 1 (odd) and W = 3 (odd)
    out = metrics._avg_pool2(x[None])[0]
    # rows: pad zero row then pair (zero, row) -> row/2; columns: [0+1, 2+3]/2
    np.testing.assert_allclose(out, [[0.25, 1.25]])


def test_gaussian_window():
    g = metrics.gaussian_window()
    assert g.shape == (11,) and g.sum() == pytest.approx(1.0)
    assert g[5] == g.max() and np.allclose(g, g[::-1])
    assert g[4] / g[5] == pytest.approx(math.exp(-1 / (2 * 1.5**2)))


def test_ms_ssim_db():
    assert ms_ssim_db(0.9) == pytest.approx(10.0)
    assert ms_ssim_db(0.99) == pytest.approx(20.0)
    assert ms_ssim_db(1.0) == math.inf
    with pytest.raises(InvalidArgumentError, match="1.5"):
        ms_ssim_db(1.5)


def test_bad_input_raises_with_value():
    a = np.zeros((224, 224, 3))
    with pytest.raises(InvalidArgumentError, match=r"\(224, 224, 3\) vs \(224, 200, 3\)"):
        ms_ssim(a, np.zeros((224, 200, 3)))
    with pytest.raises(InvalidArgumentError, match="uint8"):
        ms_ssim(a.astype(np.uint8), a.astype(np.uint8))
    with pytest.raises(InvalidArgumentError, match="160"):
        ms_ssim(np.zeros((160, 300, 3)), np.zeros((160, 300, 3)))
    with pytest.raises(InvalidArgumentError, match="non-finite"):
        psnr(a, a * np.nan)


# ---- against pytorch_msssim (the convention the README's JPEG table uses) --------------------------------

def _torch_window():
    pytest.importorskip("torch")
    import importlib

    ssim_mod = importlib.import_module("pytorch_msssim.ssim")
    return ssim_mod._fspecial_gauss_1d(11, 1.5).double().numpy().ravel()


def _torch_ms_ssim(a, b):
    torch = pytest.importorskip("torch")
    pm = pytest.importorskip("pytorch_msssim")
    x = torch.from_numpy(np.ascontiguousarray(a.transpose(2, 0, 1)))[None]
    y = torch.from_numpy(np.ascontiguousarray(b.transpose(2, 0, 1)))[None]
    return float(pm.ms_ssim(x, y, data_range=1.0, size_average=True))


@pytest.mark.parametrize("shape,sigma", [((224, 224, 3), 0.1), ((224, 224, 3), 0.4), ((161, 333, 3), 0.05),
                                         ((245, 199, 3), 0.1)])
def test_ms_ssim_matches_pytorch_msssim(shape, sigma):
    a, b = _noisy_pair(shape, seed=sum(shape), sigma=sigma)
    ref = _torch_ms_ssim(a, b)
    # our exact float64 window vs pytorch_msssim's float32 one: the brief's 1e-5
    assert abs(ms_ssim(a, b) - ref) <= 1e-5
    # with pytorch_msssim's own window every other step (filtering, pooling, ReLU, weights, channel mean)
    # agrees to float64 rounding
    assert abs(ms_ssim(a, b, win=_torch_window()) - ref) <= 1e-12


def test_ms_ssim_matches_pytorch_msssim_on_jpeg_kodak():
    require_file(KODAK / "kodim23.png", "the Kodak image kodim23.png")
    from refcodec.eval.prep import load_prepared

    rgb = load_prepared(KODAK / "kodim23.png")
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=5)
    rec = np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))
    a, b = rgb / 255.0, rec / 255.0
    ours = ms_ssim(a, b)
    assert 0.5 < ours < 0.99
    ref = _torch_ms_ssim(a, b)
    assert abs(ours - ref) <= 1e-5
    assert abs(ms_ssim(a, b, win=_torch_window()) - ref) <= 1e-12
