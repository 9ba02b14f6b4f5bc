"""Bit-exact INT8 kernels (TFLM / CMSIS-NN mirrors) and the integer requantization they share."""

from refcodec.kernels.activation import activation_bounds
from refcodec.kernels.conv2d_s8 import conv2d_s8
from refcodec.kernels.conv2d_s8_fast import conv2d_s8_fast
from refcodec.kernels.params import ROUNDING_MODES, ConvParams, PerChannelQuantParams
from refcodec.kernels.quantize_multiplier import per_channel_multipliers, quantize_multiplier
from refcodec.kernels.requantize import (
    multiply_by_quantized_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
)

__all__ = [
    "ROUNDING_MODES", "ConvParams", "PerChannelQuantParams", "activation_bounds", "conv2d_s8",
    "conv2d_s8_fast", "multiply_by_quantized_multiplier", "per_channel_multipliers", "quantize_multiplier",
    "rounding_divide_by_pot", "saturating_rounding_doubling_high_mul",
]
