"""INT8 2-D convolution, plain NumPy reference.

Mirrors TFLM `reference_integer_ops::ConvPerChannel` (tensorflow/lite/kernels/internal/reference/
integer_ops/conv.h) and CMSIS-NN `arm_convolve_s8`, dilation 1:

    acc[n, oy, ox, co] = bias[co] + sum_{ky, kx, ci} (input[n, iy, ix, ci] + input_offset) * w[co, ky, kx, ci]
        iy = oy * stride_h - pad_top + ky,  ix = ox * stride_w - pad_left + kx
        taps outside the input are skipped (= padding with the input zero point)
    out = clamp(MultiplyByQuantizedMultiplier(acc, mult[co], shift[co]) + output_offset, act_min, act_max)

Overflow budget: |input + input_offset| <= 255 and |w| <= 128, so |acc| <= 255 * sum|w[co]| + |bias[co]|;
the kernel checks that this stays below 2^31 (TFLM's int32 accumulator would overflow otherwise).
"""

from __future__ import annotations

import numpy as np

from refcodec.errors import InvalidArgumentError
from refcodec.kernels.params import ConvParams, PerChannelQuantParams, check_rounding
from refcodec.kernels.requantize import multiply_by_quantized_multiplier


def output_size(in_size: int, kernel: int, stride: int, pad_before: int, pad_after: int) -> int:
    """Output length along one axis: (in + pad_before + pad_after - kernel) // stride + 1."""
    return (in_size + pad_before + pad_after - kernel) // stride + 1


def check_conv_args(input, weights, bias, conv_params, quant_params, rounding):
    """Validate the arguments shared by conv2d_s8 and conv2d_s8_fast.

    Returns (input as int8 [N, H, W, C_in], squeeze_batch, bias int32 [C_out] or None, OH, OW).
    """
    check_rounding(rounding)
    if not isinstance(conv_params, ConvParams):
        raise InvalidArgumentError(f"conv_params must be ConvParams, got {type(conv_params).__name__}")
    if not isinstance(quant_params, PerChannelQuantParams):
        raise InvalidArgumentError(f"quant_params must be PerChannelQuantParams, got {type(quant_params).__name__}")
    x = np.asarray(input)
    if x.dtype != np.int8:
        raise InvalidArgumentError(f"input dtype must be int8, got {x.dtype}")
    if x.ndim not in (3, 4):
        raise InvalidArgumentError(f"input must be [N,H,W,C] or [H,W,C], got shape {x.shape}")
    squeeze = x.ndim == 3
    if squeeze:
        x = x[None]
    w = np.asarray(weights)
    if w.dtype != np.int8:
        raise InvalidArgumentError(f"weights dtype must be int8, got {w.dtype}")
    if w.ndim != 4 or min(w.shape) < 1:
        raise InvalidArgumentError(f"weights must be OHWI with all dims >= 1, got shape {w.shape}")
    c_out, kh, kw, c_in = w.shape
    if x.shape[3] != c_in:
        raise InvalidArgumentError(f"input channels {x.shape[3]} != weight input channels {c_in}")
    if min(x.shape) < 1:
        raise InvalidArgumentError(f"input shape {x.shape} has an empty dimension")
    if bias is not None:
        bias = np.asarray(bias)
        if bias.dtype != np.int32:
            raise InvalidArgumentError(f"bias dtype must be int32, got {bias.dtype}")
        if bias.shape != (c_out,):
            raise InvalidArgumentError(f"bias shape {bias.shape} != ({c_out},)")
    if quant_params.multiplier.shape != (c_out,):
        raise InvalidArgumentError(f"quant_params has {quant_params.multiplier.shape[0]} channels, weights {c_out}")
    p = conv_params
    oh = output_size(x.shape[1], kh, p.stride_h, p.pad_top, p.pad_bottom)
    ow = output_size(x.shape[2], kw, p.stride_w, p.pad_left, p.pad_right)
    if oh <= 0 or ow <= 0:
        raise InvalidArgumentError(f"output size {oh}x{ow} <= 0 for input {x.shape[1]}x{x.shape[2]}, kernel {kh}x{kw}")
    check_accumulator_bound(w, bias)
    return x, squeeze, bias, oh, ow


def accumulator_bound(weights: np.ndarray, bias: np.ndarray | None) -> np.ndarray:
    """B[c] = 255 * sum|w[c]| + |bias[c]| (int64 [C_out]): no partial sum of output channel c can exceed it,
    since |input + input_offset| <= 255 (spec §4.3)."""
    w = np.asarray(weights).astype(np.int64)
    bound = 255 * np.abs(w).reshape(w.shape[0], -1).sum(axis=1)
    if bias is not None:
        bound = bound + np.abs(np.asarray(bias).astype(np.int64))
    return bound


def check_accumulator_bound(weights: np.ndarray, bias: np.ndarray | None) -> None:
    """Reject a layer whose int32 accumulator could overflow (B[c] >= 2^31), where TFLM's int32 sum would wrap."""
    bound = accumulator_bound(weights, bias)
    if bound.max() >= 1 << 31:
        c = int(np.argmax(bound))
        raise InvalidArgumentError(f"accumulator bound {int(bound[c])} of output channel {c} may overflow int32")


def conv2d_s8(input, weights, bias, conv_params: ConvParams, quant_params: PerChannelQuantParams,
              rounding: str = "double") -> np.ndarray:
    """Per-channel quantized INT8 convolution (reference).

    input: int8 [N, H, W, C_in] or [H, W, C_in] (NHWC).  weights: int8 [C_out, KH, KW, C_in] (OHWI).
    bias: int32 [C_out] or None.  conv_params: offsets, strides, explicit paddings, clamp range.
    quant_params: int32 multiplier/shift [C_out].  rounding: "double" | "single".
    Returns int8 [N, OH, OW, C_out] (or [OH, OW, C_out] for 3-D input), values in [act_min, act_max].
    """
    x, squeeze, bias, oh, ow = check_conv_args(input, weights, bias, conv_params, quant_params, rounding)
    p = conv_params
    w = np.asarray(weights).astype(np.int64)
    c_out, kh, kw, _ = w.shape
    n = x.shape[0]
    # Padded taps hold the zero point, i.e. 0 once the offset is added.
    xo = np.pad(x.astype(np.int64) + p.input_offset,
                ((0, 0), (p.pad_top, p.pad_bottom), (p.pad_left, p.pad_right), (0, 0)))
    acc = np.zeros((n, oh, ow, c_out), dtype=np.int64)
    for ky in range(kh):
        for kx in range(kw):
            patch = xo[:, ky: ky + p.stride_h * (oh - 1) + 1: p.stride_h,
                       kx: kx + p.stride_w * (ow - 1) + 1: p.stride_w, :]
            acc += patch @ w[:, ky, kx, :].T
    if bias is not None:
        acc += bias.astype(np.int64)
    out = multiply_by_quantized_multiplier(acc, quant_params.multiplier, quant_params.shift, rounding)
    out = np.clip(out.astype(np.int64) + p.output_offset, p.act_min, p.act_max).astype(np.int8)
    return out[0] if squeeze else out
