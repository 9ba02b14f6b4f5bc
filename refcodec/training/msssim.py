"""Differentiable MS-SSIM in PyTorch (Wang, Simoncelli and Bovik 2003), for the training loss.

Same definition as the standard one (Gaussian window 11, sigma 1.5, K1 = 0.01, K2 = 0.03, data range
1, 2x2 average-pool between scales, weights 0.0448, 0.2856, 0.3001, 0.2363, 0.1333), except that the
number of scales is reduced to what the image size allows (the smallest scale must be at least as large
as the window) and the weights of the scales that are kept are renormalised to sum to 1. At 128x128
training crops that is 4 scales. Negative contrast/structure terms are clamped at 0 (as pytorch-msssim's
``normalize`` option does) so that powers stay finite early in training.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

MS_SSIM_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
WIN_SIZE = 11
WIN_SIGMA = 1.5
K1, K2 = 0.01, 0.03


def _gauss_1d(size: int, sigma: float, device=None) -> torch.Tensor:
    coords = torch.arange(size, dtype=torch.float32, device=device) - (size - 1) / 2.0
    g = torch.exp(-(coords ** 2) / (2 * sigma ** 2))
    return g / g.sum()


def _filter(x: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    c = x.shape[1]
    x = F.conv2d(x, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(x, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _ssim_cs(x: torch.Tensor, y: torch.Tensor, g: torch.Tensor):
    c1, c2 = K1 ** 2, K2 ** 2
    mu_x, mu_y = _filter(x, g), _filter(y, g)
    sxx = _filter(x * x, g) - mu_x ** 2
    syy = _filter(y * y, g) - mu_y ** 2
    sxy = _filter(x * y, g) - mu_x * mu_y
    cs = (2 * sxy + c2) / (sxx + syy + c2)
    ssim = ((2 * mu_x * mu_y + c1) / (mu_x ** 2 + mu_y ** 2 + c1)) * cs
    return ssim.flatten(2).mean(-1), cs.flatten(2).mean(-1)  # [N, C]


def num_scales(size: int, max_scales: int = 5) -> int:
    """Largest number of scales (<= max_scales) whose smallest image side is >= the window size."""
    n = 1
    while n < max_scales and size // (2 ** n) >= WIN_SIZE:
        n += 1
    return n


def ms_ssim(x: torch.Tensor, y: torch.Tensor, scales: int | None = None) -> torch.Tensor:
    """MS-SSIM per image, averaged over the channels: x, y float [N, C, H, W] in [0, 1] -> [N]."""
    if scales is None:
        scales = num_scales(min(x.shape[-2:]))
    w = torch.tensor(MS_SSIM_WEIGHTS[:scales], dtype=x.dtype, device=x.device)
    w = w / w.sum()
    g = _gauss_1d(WIN_SIZE, WIN_SIGMA, x.device).to(x.dtype)
    vals = []
    for i in range(scales):
        ssim, cs = _ssim_cs(x, y, g)
        if i < scales - 1:
            vals.append(F.relu(cs))
            x = F.avg_pool2d(x, 2)
            y = F.avg_pool2d(y, 2)
        else:
            vals.append(F.relu(ssim))
    stack = torch.stack(vals, 0)  # [S, N, C]
    return torch.prod(stack ** w.view(-1, 1, 1), 0).mean(-1)
