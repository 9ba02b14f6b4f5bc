"""NumPy inference of the float decoder (refcodec.training.nets.Decoder), HWC float32.

Ops: conv2d (1x1 as one matmul, 3x3 'same' as nine matmuls on shifted flat views), conv_transpose2d k4 s2 p1 (sub-pixel
form: 2x2 windows of the padded input times a [4 Cin, 4 Cout] matrix holding the four output phases, same
result as torch.nn.ConvTranspose2d), ReLU, sigmoid, add, mul. Tolerance against PyTorch: float32 rounding
only (<= 1e-3 max abs on the [0, 1] output, tests/test_decoder.py).
"""

from __future__ import annotations

import numpy as np

from refcodec.errors import InvalidArgumentError, ModelFileError

LATENT_CHANNELS = 12


PADDINGS = ("zeros", "replicate", "replicate-up")
"""Decoder padding modes (weight-file meta "padding"; a file without it is "zeros", as every decoder before
issue 13): what the 3x3 and the transposed convolutions read beyond the frame edge. "zeros": zeros for both.
"replicate": the edge pixel repeated for both, so that an edge pixel sees a plausible neighbourhood and the
outermost output ring of a transposed convolution gets both of its taps per axis instead of one.
"replicate-up": zeros for the 3x3 convolutions (which then still tell the decoder where the frame edge is: it
must undo the encoder's zero padding there) and the edge pixel for the transposed ones. The PyTorch decoder
(refcodec.training.nets) takes its modes from here."""


def conv_replicates(padding: str) -> bool:
    """Whether the 3x3 convolutions read the edge pixels (not zeros) beyond the frame edge."""
    return padding == "replicate"


def upsample_replicates(padding: str) -> bool:
    """Whether the transposed convolutions read the edge pixels (not zeros) beyond the frame edge."""
    return padding in ("replicate", "replicate-up")


def _padded(x: np.ndarray, p: int, replicate: bool) -> np.ndarray:
    """x [h, w, c] padded by p on every side (zeros, or the edge pixels repeated), plus one zero row at the
    bottom (it keeps the last flat slice of the matmul loops in bounds and is never read into a kept output)."""
    h, w, c = x.shape
    xp = np.zeros((h + 2 * p + 1, w + 2 * p, c), np.float32)
    xp[p:p + h, p:p + w] = x
    if replicate and p:
        xp[:p, p:p + w] = x[:1]
        xp[p + h:p + h + p, p:p + w] = x[-1:]
        xp[:h + 2 * p, :p] = xp[:h + 2 * p, p:p + 1]
        xp[:h + 2 * p, p + w:] = xp[:h + 2 * p, p + w - 1:p + w]
    return xp


def _sigmoid(x: np.ndarray) -> np.ndarray:
    # 0.5 (1 + tanh(x / 2)): no overflow for large |x|.
    return (0.5 * (1.0 + np.tanh(0.5 * x))).astype(np.float32, copy=False)


class _Conv:
    """conv2d stride 1, 'same' padding (k // 2), weights OIHW.

    1x1: one matmul. kxk: the input is padded (zeros or edge pixels, `_padded`) to (h + k, w + k - 1) and
    flattened row-major, so the tap (i, j) of every output pixel p = y * (w + k - 1) + x reads the flat row
    p + i * (w + k - 1) + j: each tap is one matmul on a contiguous slice (no im2col copy); the k - 1
    wrap-around columns are dropped.
    """

    def __init__(self, w: np.ndarray, b: np.ndarray, replicate: bool = False):
        self.cout, self.cin, self.k, _ = w.shape
        self.replicate = replicate
        self.taps = [np.ascontiguousarray(w[:, :, i, j].T, dtype=np.float32)
                     for i in range(self.k) for j in range(self.k)]  # each [Cin, Cout]
        self.b = b.astype(np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        h, w, c = x.shape
        if self.k == 1:
            out = x.reshape(h * w, c) @ self.taps[0]
            out += self.b
            return out.reshape(h, w, self.cout)
        p = self.k // 2
        wp = w + 2 * p
        xp = _padded(x, p, self.replicate)
        flat = xp.reshape(-1, c)
        n = h * wp
        out = flat[0:n] @ self.taps[0]
        for t in range(1, self.k * self.k):
            i, j = divmod(t, self.k)
            s = i * wp + j
            out += flat[s:s + n] @ self.taps[t]
        out += self.b
        return out.reshape(h, wp, self.cout)[:, :w]


class _ConvT:
    """ConvTranspose2d kernel 4, stride 2, padding 1 (exact x2 upsampling); weights IOHW.

    Sub-pixel form of out[2i + kh - 1, 2j + kw - 1] += x[i, j] @ W[:, :, kh, kw] (torch's definition):
    with xp = x padded by 1 (zeros or edge pixels: x[-1] and x[h] are all that the outputs read beyond the
    edge), every 2x2 window of xp at (ty, tx), ty in 0..h, tx in 0..w, gives the four output phases (ry, rx)
    at once, out[2m + ry, 2n + rx] = Y[m + ry, n + rx, ry, rx], where
    Y[t] = sum_{dy, dx} xp[ty + dy, tx + dx] @ W[:, :, TAP[ry][dy], TAP[rx][dx]] and TAP = ((3, 1), (2, 0)).
    Each (dy, dx) is one matmul [(h+1)(w+2), Cin] @ [Cin, 4 Cout] on a contiguous slice of the flattened
    padded input (as in _Conv), and there are no overlapping adds.
    """

    TAP = ((3, 1), (2, 0))

    def __init__(self, w: np.ndarray, b: np.ndarray, replicate: bool = False):
        self.cin, self.cout, kh, kw = w.shape
        self.replicate = replicate
        if (kh, kw) != (4, 4):
            raise ModelFileError(f"transposed conv kernel {kh}x{kw} is not the supported 4x4")
        m = np.empty((2, 2, self.cin, 2, 2, self.cout), np.float32)  # (dy, dx, cin, ry, rx, cout)
        for dy in range(2):
            for dx in range(2):
                for ry in range(2):
                    for rx in range(2):
                        m[dy, dx, :, ry, rx, :] = w[:, :, self.TAP[ry][dy], self.TAP[rx][dx]]
        self.taps = [np.ascontiguousarray(m[dy, dx].reshape(self.cin, 4 * self.cout))
                     for dy in range(2) for dx in range(2)]  # each [Cin, 4 Cout], columns (ry, rx, cout)
        self.b = b.astype(np.float32)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        h, w, c = x.shape
        wp = w + 2
        xp = _padded(x, 1, self.replicate)  # x[-1] and x[h] (columns alike): zeros or the edge pixels
        flat = xp.reshape(-1, c)
        n = (h + 1) * wp  # window origins (ty, tx) as flat rows ty * wp + tx (tx = w + 1 is dropped)
        y = flat[0:n] @ self.taps[0]
        for t in range(1, 4):
            dy, dx = divmod(t, 2)
            s = dy * wp + dx
            y += flat[s:s + n] @ self.taps[t]
        y = y.reshape(h + 1, wp, 2, 2, self.cout)
        out = np.empty((h, 2, w, 2, self.cout), np.float32)
        for ry in range(2):
            for rx in range(2):
                out[:, ry, :, rx] = y[ry:ry + h, rx:rx + w, ry, rx]
        out = out.reshape(2 * h, 2 * w, self.cout)
        out += self.b
        return out


class _ResBottleneck:
    def __init__(self, p: dict, prefix: str, final_relu: bool, replicate: bool):
        self.c1 = _Conv(p[prefix + "c1.weight"], p[prefix + "c1.bias"])
        self.c2 = _Conv(p[prefix + "c2.weight"], p[prefix + "c2.bias"], replicate)
        self.c3 = _Conv(p[prefix + "c3.weight"], p[prefix + "c3.bias"])
        self.final_relu = final_relu

    def __call__(self, x):
        y = np.maximum(self.c1(x), 0)
        y = np.maximum(self.c2(y), 0)
        y = self.c3(y)
        y += x
        return np.maximum(y, 0, out=y) if self.final_relu else y


class _Attention:
    def __init__(self, p: dict, prefix: str, replicate: bool):
        self.trunk = [_ResBottleneck(p, f"{prefix}trunk.{i}.", True, replicate) for i in range(3)]
        self.mask = [_ResBottleneck(p, f"{prefix}mask.{i}.", True, replicate) for i in range(3)]
        self.mask_conv = _Conv(p[f"{prefix}mask.3.weight"], p[f"{prefix}mask.3.bias"])

    def __call__(self, x):
        a = x
        for u in self.trunk:
            a = u(a)
        b = x
        for u in self.mask:
            b = u(b)
        return x + a * _sigmoid(self.mask_conv(b))


class Decoder:
    """The float decoder. decode(latent float32 [h, w, 12]) -> RGB float32 [8h, 8w, 3] in [0, 1].

    The latent is already dequantized (latent_scale * (recon - latent_zero_point)) and channels that
    were not sent are exactly 0.0.
    """

    def __init__(self, arrays: dict[str, np.ndarray], meta: dict):
        self.meta = dict(meta)
        self.padding = meta.get("padding", "zeros")
        if self.padding not in PADDINGS:
            raise ModelFileError(f"decoder padding {self.padding!r} is not one of {list(PADDINGS)}")
        rep, rep_up = conv_replicates(self.padding), upsample_replicates(self.padding)
        try:
            blocks = [int(b) for b in meta["blocks"]]
            self.head = _Conv(arrays["head.weight"], arrays["head.bias"], rep)
            self.att = _Attention(arrays, "att.", rep)
            self.rb = [[_ResBottleneck(arrays, f"rb{lvl + 1}.{i}.", False, rep) for i in range(blocks[lvl])]
                       for lvl in range(3)]
            self.up = [_ConvT(arrays[f"up{lvl}.weight"], arrays[f"up{lvl}.bias"], rep_up) for lvl in (1, 2, 3)]
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelFileError(f"decoder weights are incomplete or inconsistent: {exc!r}") from None
        if self.head.cin != LATENT_CHANNELS:
            raise ModelFileError(f"decoder head takes {self.head.cin} channels, expected {LATENT_CHANNELS}")

    def decode(self, latent: np.ndarray) -> np.ndarray:
        latent = np.asarray(latent)
        if latent.ndim != 3 or latent.shape[2] != LATENT_CHANNELS or latent.shape[0] < 1 or latent.shape[1] < 1:
            raise InvalidArgumentError(f"latent shape {latent.shape} is not [h, w, {LATENT_CHANNELS}]")
        if latent.dtype != np.float32:
            raise InvalidArgumentError(f"latent dtype {latent.dtype} is not float32")
        if not np.all(np.isfinite(latent)):
            raise InvalidArgumentError("latent holds non-finite values")
        x = self.att(self.head(latent))
        for lvl in range(3):
            if lvl > 0:
                x = np.maximum(self.up[lvl - 1](x), 0)
            for blk in self.rb[lvl]:
                x = blk(x)
        return _sigmoid(self.up[2](x))

    def decode_batch(self, latents) -> list[np.ndarray]:
        return [self.decode(l) for l in latents]
