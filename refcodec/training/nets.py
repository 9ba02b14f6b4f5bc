"""Float networks trained with PyTorch: the encoder (exactly the INT8 topology) and the decoder.

Layout: torch NCHW float32. Encoder input is pixel / 255 in [0, 1] (the INT8 model's input is
pixel - 128 with scale 1/255 and zero point -128, i.e. the same real value). Decoder output is RGB in
[0, 1] (sigmoid).

Encoder (refcodec.model.topology.ENCODER_LAYERS): conv 3->16 k7 s2 ReLU, conv 16->16 k5 s4 ReLU,
conv 16->12 k3 s1, each with TFLite SAME padding (pad_top = total // 2, the extra row/column at the
bottom/right), done here as F.pad followed by a VALID convolution.

Decoder (MCUCoder-style, own code): conv3x3 12->C1, an attention block (Cheng et al. 2020, simplified:
x + trunk(x) * sigmoid(mask(x)), each branch three residual units), residual bottleneck blocks, three x2
transposed convolutions (k4 s2 p1) and a sigmoid. Only conv2d, conv_transpose2d, ReLU, sigmoid, add and
mul, so that refcodec.decoder can run it in NumPy.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

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


class ResidualUnit(nn.Module):
    """Cheng et al. 2020 attention's residual unit: relu(x + conv1x1(relu(conv3x3(relu(conv1x1(x))))))."""

    def __init__(self, n: int):
        super().__init__()
        self.c1 = nn.Conv2d(n, n // 2, 1)
        self.c2 = nn.Conv2d(n // 2, n // 2, 3, padding=1)
        self.c3 = nn.Conv2d(n // 2, n, 1)

    def forward(self, x):
        y = self.c3(F.relu(self.c2(F.relu(self.c1(x)))))
        return F.relu(x + y)


class AttentionBlock(nn.Module):
    """Simplified attention block (Cheng et al. 2020): x + trunk(x) * sigmoid(mask(x))."""

    def __init__(self, n: int):
        super().__init__()
        self.trunk = nn.Sequential(ResidualUnit(n), ResidualUnit(n), ResidualUnit(n))
        self.mask = nn.Sequential(ResidualUnit(n), ResidualUnit(n), ResidualUnit(n), nn.Conv2d(n, n, 1))

    def forward(self, x):
        return x + self.trunk(x) * torch.sigmoid(self.mask(x))


class ResBottleneck(nn.Module):
    """Residual bottleneck block (as in ELIC / MCUCoder): x + conv1x1(relu(conv3x3(relu(conv1x1(x)))))."""

    def __init__(self, n: int):
        super().__init__()
        self.c1 = nn.Conv2d(n, n // 2, 1)
        self.c2 = nn.Conv2d(n // 2, n // 2, 3, padding=1)
        self.c3 = nn.Conv2d(n // 2, n, 1)

    def forward(self, x):
        return x + self.c3(F.relu(self.c2(F.relu(self.c1(x)))))


class Decoder(nn.Module):
    """Latent [N,12,h,w] (float, channels >= k zeroed) -> RGB [N,3,8h,8w] in [0,1].

    widths = (C1, C2, C3): channels at 1/8, 1/4 and 1/2 resolution; blocks = number of residual
    bottleneck blocks at each of those resolutions.
    """

    def __init__(self, widths=(96, 64, 48), blocks=(1, 1, 1)):
        super().__init__()
        c1, c2, c3 = widths
        self.widths = tuple(widths)
        self.blocks = tuple(blocks)
        self.head = nn.Conv2d(LATENT_CHANNELS, c1, 3, padding=1)
        self.att = AttentionBlock(c1)
        self.rb1 = nn.Sequential(*[ResBottleneck(c1) for _ in range(blocks[0])])
        self.up1 = nn.ConvTranspose2d(c1, c2, 4, stride=2, padding=1)
        self.rb2 = nn.Sequential(*[ResBottleneck(c2) for _ in range(blocks[1])])
        self.up2 = nn.ConvTranspose2d(c2, c3, 4, stride=2, padding=1)
        self.rb3 = nn.Sequential(*[ResBottleneck(c3) for _ in range(blocks[2])])
        self.up3 = nn.ConvTranspose2d(c3, 3, 4, stride=2, padding=1)

    def forward(self, y):
        x = self.head(y)
        x = self.rb1(self.att(x))
        x = self.rb2(F.relu(self.up1(x)))
        x = self.rb3(F.relu(self.up2(x)))
        return torch.sigmoid(self.up3(x))


def count_params(m: nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())
