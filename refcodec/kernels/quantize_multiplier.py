"""TFLite's `QuantizeMultiplier` and the per-channel conv multipliers TFLM derives from float scales.

Mirrors tensorflow/lite/kernels/internal/quantization_util.cc `QuantizeMultiplier` (non-emulated
float path) and tensorflow/lite/kernels/kernel_util.cc `PopulateConvolutionQuantizationParams`.
This is the only module where float scales turn into integers; everything it computes is exact
IEEE-754 double arithmetic, as in the C++.
"""

from __future__ import annotations

import math

import numpy as np

from refcodec.errors import InvalidArgumentError
from refcodec.kernels.params import check_rounding


def _round_half_away(x: float) -> int:
    """C `std::round` (TfLiteRound) of a finite double, exactly (no x + 0.5 rounding error)."""
    a = abs(x)
    f = math.floor(a)
    r = f + 1 if a - f >= 0.5 else f  # a - f is exact for doubles
    return int(r) if x >= 0 else -int(r)


def quantize_multiplier(scale: float, rounding: str = "double") -> tuple[int, int]:
    """TFLite `QuantizeMultiplier(double, int32*, int*)`: scale ~= multiplier * 2^(shift - 31).

    scale: finite double >= 0. Returns (multiplier, shift) as Python ints:
      scale == 0              -> (0, 0)
      q, shift = frexp(scale) (q in [0.5, 1)); multiplier = std::round(q * 2^31)  (half away from zero)
      multiplier == 2^31      -> multiplier = 2^30, shift += 1
      shift < -31             -> (0, 0)   (flush tiny scales to zero)
      rounding == "single" and shift > 30 -> (2^31 - 1, 30)  (TFLITE_SINGLE_ROUNDING saturation)
    In double-rounding builds TFLite does not clamp shift > 30 (it is returned as is; the conv
    helpers reject it because the kernel's `1 << shift` would overflow).
    """
    check_rounding(rounding)
    scale = float(scale)
    if not math.isfinite(scale) or scale < 0:
        raise InvalidArgumentError(f"scale {scale!r} must be finite and >= 0")
    if scale == 0.0:
        return 0, 0
    q, shift = math.frexp(scale)
    q_fixed = _round_half_away(q * float(1 << 31))  # q * 2^31 is exact (power-of-two scaling)
    if q_fixed == 1 << 31:
        q_fixed //= 2
        shift += 1
    if shift < -31:
        shift, q_fixed = 0, 0
    if rounding == "single" and shift > 30:
        shift, q_fixed = 30, (1 << 31) - 1
    return q_fixed, shift


def _float32_scale(name: str, value) -> float:
    """A TFLite tensor scale is a float32; return it widened to double (static_cast<double>)."""
    v = float(value)
    with np.errstate(over="ignore"):
        f = float(np.float32(v))
    if not math.isfinite(f) or f <= 0.0:
        raise InvalidArgumentError(f"{name} {value!r} must be a positive finite float32")
    return f


def effective_scales(input_scale: float, weight_scales, output_scale: float) -> np.ndarray:
    """double(float32 s_in) * double(float32 s_w[c]) / double(float32 s_out), left to right,
    exactly as PopulateConvolutionQuantizationParams. Returns float64 [C]."""
    s_in = _float32_scale("input_scale", input_scale)
    s_out = _float32_scale("output_scale", output_scale)
    ws = np.atleast_1d(np.asarray(weight_scales, dtype=np.float64))
    if ws.ndim != 1 or ws.size == 0:
        raise InvalidArgumentError(f"weight_scales must be a non-empty 1-D array, got shape {ws.shape}")
    return np.array([s_in * _float32_scale(f"weight_scales[{c}]", w) / s_out for c, w in enumerate(ws)])


def per_channel_multipliers(input_scale: float, weight_scales, output_scale: float,
                            rounding: str = "double") -> tuple[np.ndarray, np.ndarray]:
    """Per-output-channel (multiplier, shift) int32 [C] as TFLM's conv Prepare computes them.

    input_scale, output_scale: positive float32 scales; weight_scales: positive float32 [C].
    Raises InvalidArgumentError if a channel's shift exceeds 30 (effective scale >= 2^30), which the
    double-rounding kernel cannot represent.
    """
    check_rounding(rounding)
    eff = effective_scales(input_scale, weight_scales, output_scale)
    mult = np.empty(eff.size, dtype=np.int32)
    shift = np.empty(eff.size, dtype=np.int32)
    for c, s in enumerate(eff):
        m, sh = quantize_multiplier(float(s), rounding)
        if sh > 30:
            raise InvalidArgumentError(f"effective scale {float(s)!r} of channel {c} needs shift {sh} > 30")
        mult[c], shift[c] = m, sh
    return mult, shift
