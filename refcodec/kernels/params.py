"""Quantization parameter structs, mirroring CMSIS-NN's `cmsis_nn_conv_params` and
`cmsis_nn_per_channel_quant_params` (arm_nn_types.h). No floats live here: these are exactly
what an int8 kernel on the MCU receives."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from refcodec.errors import InvalidArgumentError

ROUNDING_MODES = ("double", "single")
"""`double`: SaturatingRoundingDoublingHighMul + RoundingDivideByPOT (TFLM / CMSIS-NN default).
`single`: one rounding step (TFLITE_SINGLE_ROUNDING / CMSIS_NN_USE_SINGLE_ROUNDING)."""


def check_rounding(rounding: str) -> str:
    if rounding not in ROUNDING_MODES:
        raise InvalidArgumentError(f'invalid rounding mode "{rounding}", expected one of {ROUNDING_MODES}')
    return rounding


@dataclass(frozen=True)
class ConvParams:
    """Mirror of `cmsis_nn_conv_params` (dilation fixed at 1).

    input_offset: -input_zero_point, range [-127, 128].
    output_offset: output_zero_point, range [-128, 127].
    stride_h, stride_w: >= 1.
    pad_top, pad_left, pad_bottom, pad_right: >= 0; padded taps read as the input zero point,
        i.e. they contribute (input_zero_point + input_offset) * w = 0 to the accumulator.
    act_min, act_max: int8 clamp bounds, -128 <= act_min <= act_max <= 127.
    """

    input_offset: int
    output_offset: int
    stride_h: int
    stride_w: int
    pad_top: int
    pad_left: int
    pad_bottom: int
    pad_right: int
    act_min: int = -128
    act_max: int = 127

    def __post_init__(self) -> None:
        if not -127 <= self.input_offset <= 128:
            raise InvalidArgumentError(f"input_offset {self.input_offset} outside [-127, 128]")
        if not -128 <= self.output_offset <= 127:
            raise InvalidArgumentError(f"output_offset {self.output_offset} outside [-128, 127]")
        for name in ("stride_h", "stride_w"):
            if getattr(self, name) < 1:
                raise InvalidArgumentError(f"{name} {getattr(self, name)} must be >= 1")
        for name in ("pad_top", "pad_left", "pad_bottom", "pad_right"):
            if getattr(self, name) < 0:
                raise InvalidArgumentError(f"{name} {getattr(self, name)} must be >= 0")
        if not -128 <= self.act_min <= self.act_max <= 127:
            raise InvalidArgumentError(f"activation range [{self.act_min}, {self.act_max}] invalid for int8")


@dataclass(frozen=True)
class PerChannelQuantParams:
    """Mirror of `cmsis_nn_per_channel_quant_params`: one (multiplier, shift) per output channel.

    multiplier: int32 [C_OUT], each in [2^30, 2^31 - 1] or 0 (QuantizeMultiplier's output range).
    shift: int32 [C_OUT], TFLite convention: positive = left shift, range [-31, 30].
    """

    multiplier: np.ndarray
    shift: np.ndarray

    def __post_init__(self) -> None:
        m = np.asarray(self.multiplier)
        s = np.asarray(self.shift)
        if m.dtype != np.int32 or s.dtype != np.int32:
            raise InvalidArgumentError(f"multiplier/shift must be int32, got {m.dtype}/{s.dtype}")
        if m.ndim != 1 or m.shape != s.shape:
            raise InvalidArgumentError(f"multiplier shape {m.shape} and shift shape {s.shape} must be equal 1-D")
        if np.any(m < 0):
            raise InvalidArgumentError(f"negative multiplier {int(m.min())}")
        if np.any(s < -31) or np.any(s > 30):
            raise InvalidArgumentError(f"shift outside [-31, 30]: {s[(s < -31) | (s > 30)][0]}")
