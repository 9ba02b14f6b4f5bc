"""Float networks trained with PyTorch: the encoder (exactly the INT8 topology) and the decoder.

Layout: torch NCHW float32. Encoder input is pixel / 255 in [0, 1] (the INT8 model's input is
pixel - 128 with scale 1/255 and zero point -128, i.e. the same real value). Decoder output is RGB in
[0, 1] (sigmoid).

Encoder (refcodec.model.topology.ENCODER_LAYERS): conv 3->16 k7 s2 ReLU, conv 16->16 k5 s4 ReLU,
conv 16->12 k3 s1, each with TFLite SAME padding (pad_top = total // 2, the extra row/column at the
bottom/right), done here as F.pad followed by a VALID convolution.

Decoder (MCUCoder-style, own code): conv3x3 12->C1, an attention block (Cheng et al. 2020, simplified:
x + trunk(x) * sigmoid(mask(x)), each branch three residual units), residual bottleneck blocks, three x2
transposed convolutions (k4 s2 p1) and a sigmoid. Padding at the frame edge: zeros, or the edge pixels
replicated (refcodec.decoder.numpy_decoder.PADDINGS; issue 13). Only conv2d, conv_transpose2d, ReLU, sigmoid,
add and mul, so that refcodec.decoder can run it in NumPy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from refcodec.decoder.numpy_decoder import PADDINGS, conv_replicates, upsample_replicates
from refcodec.model.topology import ENCODER_LAYERS, same_padding

LATENT_CHANNELS = 12


class SameConv2d(nn.Conv2d):
    """Conv2d with TFLite SAME padding (asymmetric: the extra row/col at bottom/right)."""

    def __init__(self, cin: int, cout: int, kernel: int, stride: int):
        super().__init__(cin, cout, kernel, stride=stride, padding=0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        _, pt, pb = same_padding(h, self.kernel_size[0], self.stride[0])
        _, pl, pr = same_padding(w, self.kernel_size[1], self.stride[1])
        return F.conv2d(F.pad(x, (pl, pr, pt, pb)), self.weight, self.bias, self.stride)


class Encoder(nn.Module):
    """The INT8 encoder's float twin. forward(x [N,3,H,W] in [0,1]) -> pre-clamp latent [N,12,H/8,W/8]."""

    def __init__(self):
        super().__init__()
        self.convs = nn.ModuleList(SameConv2d(s.in_channels, s.out_channels, s.kernel, s.stride)
                                   for s in ENCODER_LAYERS)
        self.activations = [s.activation for s in ENCODER_LAYERS]

    def forward(self, x: torch.Tensor, return_all: bool = False):
        outs = []
        for conv, act in zip(self.convs, self.activations):
            x = conv(x)
            if act == "relu":
                x = F.relu(x)
            outs.append(x)
        return outs if return_all else x


def conv3x3(cin: int, cout: int, padding: str) -> nn.Conv2d:
    """3x3 'same' convolution under a decoder padding mode (PADDINGS)."""
    return nn.Conv2d(cin, cout, 3, padding=1, padding_mode="replicate" if conv_replicates(padding) else "zeros")


class ResidualUnit(nn.Module):
    """Cheng et al. 2020 attention's residual unit: relu(x + conv1x1(relu(conv3x3(relu(conv1x1(x))))))."""

    def __init__(self, n: int, padding: str = "zeros"):
        super().__init__()
        self.c1 = nn.Conv2d(n, n // 2, 1)
        self.c2 = conv3x3(n // 2, n // 2, padding)
        self.c3 = nn.Conv2d(n // 2, n, 1)

    def forward(self, x):
        y = self.c3(F.relu(self.c2(F.relu(self.c1(x)))))
        return F.relu(x + y)


class AttentionBlock(nn.Module):
    """Simplified attention block (Cheng et al. 2020): x + trunk(x) * sigmoid(mask(x))."""

    def __init__(self, n: int, padding: str = "zeros"):
        super().__init__()
        self.trunk = nn.Sequential(*[ResidualUnit(n, padding) for _ in range(3)])
        self.mask = nn.Sequential(*[ResidualUnit(n, padding) for _ in range(3)], nn.Conv2d(n, n, 1))

    def forward(self, x):
        return x + self.trunk(x) * torch.sigmoid(self.mask(x))


class ResBottleneck(nn.Module):
    """Residual bottleneck block (as in ELIC / MCUCoder): x + conv1x1(relu(conv3x3(relu(conv1x1(x)))))."""

    def __init__(self, n: int, padding: str = "zeros"):
        super().__init__()
        self.c1 = nn.Conv2d(n, n // 2, 1)
        self.c2 = conv3x3(n // 2, n // 2, padding)
        self.c3 = nn.Conv2d(n // 2, n, 1)

    def forward(self, x):
        return x + self.c3(F.relu(self.c2(F.relu(self.c1(x)))))


class Decoder(nn.Module):
    """Latent [N,12,h,w] (float, channels >= k zeroed) -> RGB [N,3,8h,8w] in [0,1].

    widths = (C1, C2, C3): channels at 1/8, 1/4 and 1/2 resolution; blocks = number of residual
    bottleneck blocks at each of those resolutions; padding: one of PADDINGS, for every 3x3 convolution and
    every transposed convolution (the state dict is the same for both, so weights move between them).
    """

    def __init__(self, widths=(96, 64, 48), blocks=(1, 1, 1), padding: str = "zeros"):
        super().__init__()
        if padding not in PADDINGS:
            raise ValueError(f"decoder padding {padding!r} is not one of {PADDINGS}")
        c1, c2, c3 = widths
        self.widths = tuple(widths)
        self.blocks = tuple(blocks)
        self.padding = padding
        self.head = conv3x3(LATENT_CHANNELS, c1, padding)
        self.att = AttentionBlock(c1, padding)
        self.rb1 = nn.Sequential(*[ResBottleneck(c1, padding) for _ in range(blocks[0])])
        self.up1 = nn.ConvTranspose2d(c1, c2, 4, stride=2, padding=1)
        self.rb2 = nn.Sequential(*[ResBottleneck(c2, padding) for _ in range(blocks[1])])
        self.up2 = nn.ConvTranspose2d(c2, c3, 4, stride=2, padding=1)
        self.rb3 = nn.Sequential(*[ResBottleneck(c3, padding) for _ in range(blocks[2])])
        self.up3 = nn.ConvTranspose2d(c3, 3, 4, stride=2, padding=1)

    def upsample(self, up: nn.ConvTranspose2d, x: torch.Tensor) -> torch.Tensor:
        """x2 transposed convolution k4 s2 p1. "replicate": the input padded by its edge pixels, and the two
        output rows/columns on each side that the padding adds cropped (out[o] reads x[i] for o = 2i + kh - 1,
        so the outermost outputs o = 0 and 2h - 1 read x[-1] and x[h], here the edge pixels instead of zeros)."""
        if not upsample_replicates(self.padding):
            return up(x)
        return up(F.pad(x, (1, 1, 1, 1), mode="replicate"))[..., 2:-2, 2:-2]

    def forward(self, y):
        x = self.head(y)
        x = self.rb1(self.att(x))
        x = self.rb2(F.relu(self.upsample(self.up1, x)))
        x = self.rb3(F.relu(self.upsample(self.up2, x)))
        return torch.sigmoid(self.upsample(self.up3, x))


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
