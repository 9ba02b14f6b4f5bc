"""Post-training INT8 quantization of the float encoder into a refcodec EncoderModel.

Scheme (TFLite's int8 conv quantization spec, what CMSIS-NN's arm_convolve_s8 consumes):
- weights: per output channel symmetric, s_w[o] = max|w[o]| / 127, w_q = round(w / s_w) in [-127, 127], OHWI;
- biases: int32, scale s_in * s_w[o], zero point 0 (b_q = round(b / (s_in * s_w[o])));
- activations: per tensor int8. Input: pixel - 128 (scale 1/255, zero point -128). ReLU layers: range
  [0, r] with r a high percentile of the float activations on calibration images, scale r / 255, zero
  point -128 (the whole int8 range holds [0, r]). Latent (conv3, no activation): the training clamp
  [-A, A] with scale A / 127 and zero point 0, so int8 saturation at +-127 is the training clamp and all
  12 channels share a range that they were trained to use.
Multipliers and shifts are derived by refcodec.model.modelfile.make_layer (TFLite QuantizeMultiplier).
"""

from __future__ import annotations

import numpy as np
import torch

from refcodec.errors import InvalidArgumentError
from refcodec.model.latent_quantizer import LatentQuantizer
from refcodec.model.modelfile import INPUT_SCALE, INPUT_ZERO_POINT, ConvLayer, EncoderModel, make_layer
from refcodec.model.topology import ENCODER_LAYERS, LATENT_CHANNELS
from refcodec.training.nets import Encoder


def _f32(x: float) -> float:
    return float(np.float32(x))


def quantize_weights(w_oihw: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """float OIHW -> (int8 OHWI in [-127, 127], float32 scales [O] = max|w[o]| / 127)."""
    w = np.asarray(w_oihw, np.float64).transpose(0, 2, 3, 1)
    amax = np.abs(w).reshape(w.shape[0], -1).max(1)
    scales = np.where(amax > 0, amax / 127.0, 1e-8).astype(np.float32)
    q = np.clip(np.round(w / scales.astype(np.float64)[:, None, None, None]), -127, 127).astype(np.int8)
    return q, scales


def activation_ranges(enc: Encoder, images: list[np.ndarray], percentile: float = 99.99) -> list[float]:
    """Upper range r of each ReLU layer's float output over calibration images (uint8 HxWx3, sides % 8 == 0)."""
    vals: list[list[np.ndarray]] = [[] for _ in ENCODER_LAYERS]
    enc.eval()
    with torch.no_grad():
        for im in images:
            x = torch.from_numpy(np.ascontiguousarray(im.transpose(2, 0, 1))).float().unsqueeze(0) / 255.0
            for i, t in enumerate(enc(x, return_all=True)):
                vals[i].append(t.numpy().ravel())
    return [float(np.percentile(np.concatenate(v), percentile)) for v in vals]


def quantize_encoder(enc: Encoder, calib_images: list[np.ndarray], latent_bound: float, rounding: str = "double",
                     percentile: float = 99.99, meta: dict | None = None) -> EncoderModel:
    """Float encoder -> EncoderModel. The latent quantizer is a placeholder (uniform 5 bits over the int8
    range) until refcodec.training.calibrate replaces it."""
    if not calib_images:
        raise InvalidArgumentError("no calibration images given")
    if not latent_bound > 0:
        raise InvalidArgumentError(f"latent bound {latent_bound} must be > 0")
    ranges = activation_ranges(enc, calib_images, percentile)
    layers: list[ConvLayer] = []
    s_in = _f32(INPUT_SCALE)
    for spec, conv, r in zip(ENCODER_LAYERS, enc.convs, ranges):
        wq, ws = quantize_weights(conv.weight.detach().numpy())
        b = conv.bias.detach().numpy().astype(np.float64)
        bias_scale = np.float64(s_in) * ws.astype(np.float64)
        bq = np.clip(np.round(b / bias_scale), -(2 ** 31), 2 ** 31 - 1).astype(np.int32)
        if spec.activation == "relu":
            s_out, zp = _f32(max(r, 1e-6) / 255.0), -128
        else:
            s_out, zp = _f32(latent_bound / 127.0), 0
        layers.append(make_layer(spec.name, wq, bq, ws, s_in, s_out, zp, spec.stride, spec.activation))
        s_in = s_out
    lq = LatentQuantizer.from_ranges(5, np.full(LATENT_CHANNELS, -127), np.full(LATENT_CHANNELS, 127))
    info = {"kind": "trained", "activation_ranges": [round(r, 6) for r in ranges], "percentile": percentile,
            "input": {"scale": INPUT_SCALE, "zero_point": INPUT_ZERO_POINT}}
    return EncoderModel(tuple(layers), rounding, lq, None, dict(meta or {}, ptq=info))
