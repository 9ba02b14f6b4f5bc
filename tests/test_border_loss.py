"""The "border" fine-tuning loss (issue 13): border pixels count, the default loss is unchanged."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from refcodec.errors import InvalidArgumentError  # noqa: E402
from refcodec.training.config import get_config  # noqa: E402
from refcodec.training.pipeline import (EDGE_EXTRA, EDGE_RING, context_window, crop_origin, edge_mask,  # noqa: E402
                                        finetune_loss)


def _smooth(n: int, size: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(n, 3, size // 8, size // 8, generator=g)
    return torch.nn.functional.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)


@pytest.mark.parametrize("config", ["tiny", "cpu"])
def test_border_loss_weighs_the_frame_edge(config):
    cfg = get_config(config)
    x = _smooth(2, cfg.crop, 0)
    noise = 0.15 * (torch.rand(x.shape, generator=torch.Generator().manual_seed(1)) - 0.5)
    edge = torch.zeros_like(x, dtype=torch.bool)
    edge[..., :2, :] = edge[..., -2:, :] = edge[..., :, :2] = edge[..., :, -2:] = True
    on_edge = (x + noise * edge).clamp(0, 1)
    inside = torch.zeros_like(edge)
    c = cfg.crop // 2
    inside[..., c - 8:c + 8, c - 8:c + 8] = True  # about as many pixels as the 2-px frame edge at 64x64
    in_middle = (x + noise * inside).clamp(0, 1)
    base = {name: float(finetune_loss(y, x, cfg)) for name, y in (("edge", on_edge), ("mid", in_middle))}
    new = {name: float(finetune_loss(y, x, cfg, "border")) for name, y in (("edge", on_edge), ("mid", in_middle))}
    # the default loss barely sees an error on the outer 2 px (valid MS-SSIM windows); the border loss does:
    # relative to the same error in the middle, the edge error costs > 4x more than under the default loss
    assert new["edge"] > 2.5 * base["edge"]
    assert new["edge"] / new["mid"] > 4 * base["edge"] / base["mid"]
    # with the same error everywhere, the gradient on the outermost ring relative to the middle's
    everywhere = (x + noise).clamp(0, 1)
    grads = {}
    for loss in ("msssim-l1", "border"):
        y = everywhere.clone().requires_grad_(True)
        finetune_loss(y, x, cfg, loss).backward()
        grads[loss] = float(y.grad[..., 0, 4:-4].abs().mean() / y.grad[..., c - 8:c + 8, c - 8:c + 8].abs().mean())
    assert grads["border"] > 3 * grads["msssim-l1"]
    assert float(finetune_loss(x, x, cfg, "border")) == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(InvalidArgumentError):
        finetune_loss(x, x, cfg, "mse")


def test_crop_origin_default_draw_unchanged_and_border_draw_hits_edges():
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    assert [crop_origin(a, 40, 16, "msssim-l1") for _ in range(200)] == \
        [int(b.integers(0, 40 - 16 + 1)) for _ in range(200)]  # the old loss draws crops as before
    rng = np.random.default_rng(6)
    draws = np.array([crop_origin(rng, 40, 16, "border") for _ in range(4000)])
    assert draws.min() == 0 and draws.max() == 24
    at_edge = np.mean((draws == 0) | (draws == 24))
    assert 0.5 < at_edge < 0.6  # 1/2 anchored + 2/25 of the uniform half
    assert abs(np.mean(draws == 0) - np.mean(draws == 24)) < 0.04


def test_context_window_edges_are_frame_edges_or_far_from_the_crop():
    n, size, ctx = 28, 16, 2
    for origin in range(n - size + 1):
        w0 = context_window(origin, n, size, ctx)
        w1 = w0 + size + 2 * ctx
        assert 0 <= w0 <= origin and origin + size <= w1 <= n  # the window holds the crop, inside the frame
        assert w0 == 0 or origin - w0 >= ctx  # each window edge is the frame edge or >= ctx from the crop
        assert w1 == n or w1 - (origin + size) >= ctx
    assert context_window(0, n, size, ctx) == 0 and context_window(n - size, n, size, ctx) == n - size - 2 * ctx
    assert context_window(5, n, size, 0) == 5  # no context: the crop itself
    with pytest.raises(InvalidArgumentError, match="too small"):
        context_window(0, 18, 16, 2)


def test_edge_mask_marks_only_true_frame_edges():
    m = edge_mask(16, top=True, bottom=False, left=False, right=True)[0]
    assert m.shape == (16, 16)
    assert bool((m[:EDGE_RING] == 1).all()) and bool((m[:, -EDGE_RING:] == 1).all())
    assert float(m[EDGE_RING:, :-EDGE_RING].sum()) == 0.0  # nothing else
    assert float(edge_mask(16, False, False, False, False).sum()) == 0.0
    wide = edge_mask(16, False, True, True, False, ring=5)[0]  # bottom and left, 5 px
    assert float(wide.sum()) == 16 * 5 * 2 - 5 * 5 and bool((wide[-5:] == 1).all()) and bool((wide[:, :5] == 1).all())
    for bad in (0, 17):
        with pytest.raises(InvalidArgumentError, match="ring"):
            edge_mask(16, True, True, True, True, ring=bad)


def test_border_edge_loss_weighs_errors_on_true_edges():
    cfg = get_config("tiny")
    x = _smooth(2, cfg.crop, 2)
    e = torch.stack([edge_mask(cfg.crop, True, False, False, False), edge_mask(cfg.crop, False, False, False, False)])
    d = torch.zeros_like(x)
    d[0, :, 0, 10:20] = 0.2  # an error on the true top edge of the first crop
    d2 = torch.zeros_like(x)
    d2[1, :, 0, 10:20] = 0.2  # the same error on a crop without true edges
    y, y2 = (x + d).clamp(0, 1), (x + d2).clamp(0, 1)
    # with the edge term the error on a true edge costs more than under "border", the other one the same
    extra = float(finetune_loss(y, x, cfg, "border-edge", e) - finetune_loss(y, x, cfg, "border"))
    want = cfg.l1_weight * EDGE_EXTRA * float((y - x).abs()[0, :, 0].sum()) / x.numel()
    assert extra == pytest.approx(want, rel=1e-4) and extra > 0
    same = float(finetune_loss(y2, x, cfg, "border"))
    assert float(finetune_loss(y2, x, cfg, "border-edge", e)) == pytest.approx(same)
    # the weight is a parameter: the extra cost scales with it
    extra3 = float(finetune_loss(y, x, cfg, "border-edge", e, 3 * EDGE_EXTRA) - finetune_loss(y, x, cfg, "border"))
    assert extra3 == pytest.approx(3 * want, rel=1e-4)
    with pytest.raises(InvalidArgumentError, match="mask"):
        finetune_loss(y, x, cfg, "border-edge")
    with pytest.raises(InvalidArgumentError, match="weight"):
        finetune_loss(y, x, cfg, "border-edge", e, -0.5)
