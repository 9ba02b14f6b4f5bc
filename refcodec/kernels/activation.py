"""Fused activation clamp bounds, as TFLM's `CalculateActivationRangeQuantized`
(tensorflow/lite/kernels/kernel_util.cc) computes them for int8 outputs.

    relu:  act_min = max(-128, Quantize(0.0)),  act_max = 127
    relu6: act_min = max(-128, Quantize(0.0)),  act_max = min(127, Quantize(6.0))
    none:  (-128, 127)
    Quantize(f) = zero_point + (int32)TfLiteRound(f / scale)     -- float32 division, roundf
                  (TfLiteRound = std::round: half away from zero); fails if the rounded value is
                  outside the int32 range.
"""

from __future__ import annotations

import math

import numpy as np

from refcodec.errors import InvalidArgumentError

ACTIVATIONS = ("none", "relu", "relu6")


def _quantize(value: float, scale: np.float32, zero_point: int) -> int:
    with np.errstate(over="ignore", divide="ignore"):
        tmp = float(np.float32(value) / scale)  # float32 division, like `f / scale` on floats
    if not math.isfinite(tmp) or not -(2.0**31) <= tmp < 2.0**31:
        raise InvalidArgumentError(f"activation bound {value} / output_scale {float(scale)!r} overflows int32")
    r = math.floor(abs(tmp) + 0.5)  # exact: tmp is a float32, +0.5 is exact in double
    return zero_point + int(math.copysign(r, tmp))


def activation_bounds(activation: str, output_scale: float, output_zero_point: int) -> tuple[int, int]:
    """Return (act_min, act_max) int8 clamp bounds.

    activation: "none" | "relu" | "relu6"; output_scale: positive float32; output_zero_point: [-128, 127].
    """
    if activation not in ACTIVATIONS:
        raise InvalidArgumentError(f'invalid activation "{activation}", expected one of {ACTIVATIONS}')
    zp = int(output_zero_point)
    if not -128 <= zp <= 127:
        raise InvalidArgumentError(f"output_zero_point {output_zero_point} outside [-128, 127]")
    with np.errstate(over="ignore"):
        scale = np.float32(float(output_scale))
    if not math.isfinite(float(scale)) or scale <= 0:
        raise InvalidArgumentError(f"output_scale {output_scale!r} must be a positive finite float32")
    qmin, qmax = -128, 127
    if activation == "none":
        return qmin, qmax
    act_min = max(qmin, _quantize(0.0, scale, zp))
    act_max = qmax if activation == "relu" else min(qmax, _quantize(6.0, scale, zp))
    return act_min, act_max
