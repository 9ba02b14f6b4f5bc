"""TFLite QuantizeMultiplier, the per-channel conv multipliers and the activation clamp bounds,
against values worked out by hand from quantization_util.cc / kernel_util.cc."""

import numpy as np
import pytest

from refcodec.errors import InvalidArgumentError
from refcodec.kernels.activation import activation_bounds
from refcodec.kernels.quantize_multiplier import per_channel_multipliers, quantize_multiplier


@pytest.mark.parametrize("scale, expected", [
    (0.0, (0, 0)),
    (0.5, (2**30, 0)),                      # frexp(0.5) = (0.5, 0)
    (1.0, (2**30, 1)),                      # frexp(1.0) = (0.5, 1)
    (0.75, (1610612736, 0)),                # 0.75 * 2^31
    (0.1, (1717986918, -3)),                # 0.8 * 2^31 = 1717986918.4 -> 1717986918
    (1 - 2**-40, (2**30, 1)),               # q * 2^31 rounds to 2^31 -> q /= 2, ++shift
    ((2**30 + 2.5) / 2**31, (2**30 + 3, 0)),  # tie: std::round goes away from zero (banker's would give +2)
    ((2**30 + 1.5) / 2**31, (2**30 + 2, 0)),
    (2.0**-32, (2**30, -31)),               # smallest shift kept
    (2.0**-33, (0, 0)),                     # shift -32 < -31: flushed to zero
    (2.0**31, (2**30, 32)),                 # double-rounding build: shift > 30 is not clamped
])
def test_quantize_multiplier_hand_values(scale, expected):
    assert quantize_multiplier(scale) == expected


def test_single_rounding_saturates_large_shift():
    assert quantize_multiplier(2.0**31, "single") == (2**31 - 1, 30)   # TFLITE_SINGLE_ROUNDING clamp
    assert quantize_multiplier(2.0**29, "single") == (2**30, 30)       # shift 30 itself is kept
    assert quantize_multiplier(0.1, "single") == (1717986918, -3)


@pytest.mark.parametrize("bad", [-0.5, float("nan"), float("inf")])
def test_quantize_multiplier_rejects(bad):
    with pytest.raises(InvalidArgumentError, match="scale"):
        quantize_multiplier(bad)


def test_per_channel_uses_float32_scales():
    # TFLite stores scales as float32; the product is formed in double from the float32 values.
    a, b, c = 0.8029910512474971, 0.4184611921004018, 0.008021062111158848
    m, s = per_channel_multipliers(a, [b, 0.25], c)
    assert m.dtype == np.int32 and s.dtype == np.int32
    assert (int(m[0]), int(s[0])) == (1405671697, 6)   # with float64 scales it would be 1405671714
    assert quantize_multiplier(a * b / c) == (1405671714, 6)
    # channel 1: float32(0.8029910512474971) * 0.25 / float32(0.00802106...) in double
    expected = quantize_multiplier(float(np.float32(a)) * 0.25 / float(np.float32(c)))
    assert (int(m[1]), int(s[1])) == expected


def test_per_channel_exact_powers_of_two():
    m, s = per_channel_multipliers(2.0**-3, [2.0**-4, 2.0**-10, 2.0**-40], 2.0**-1)
    assert m.tolist() == [2**30, 2**30, 0]
    assert s.tolist() == [-5, -11, 0]      # 2^-6 = 0.5 * 2^-5; 2^-42 flushes to zero


@pytest.mark.parametrize("args, fragment", [
    ((0.0, [0.1], 1.0), "input_scale"),
    ((0.1, [0.1, -1.0], 1.0), "weight_scales\\[1\\]"),
    ((0.1, [0.1], 1e39), "output_scale"),   # overflows float32
    ((1e30, [1e8], 1e-3), "shift 137 > 30"),  # effective scale ~1e41 cannot be represented
])
def test_per_channel_rejects(args, fragment):
    with pytest.raises(InvalidArgumentError, match=fragment):
        per_channel_multipliers(*args)


@pytest.mark.parametrize("act, scale, zp, expected", [
    ("none", 0.1, 5, (-128, 127)),
    ("relu", 0.1, -128, (-128, 127)),
    ("relu", 0.1, 20, (20, 127)),
    ("relu6", 0.25, -100, (-100, -76)),     # 6 / 0.25 = 24
    ("relu6", 0.48, 0, (0, 13)),            # float32: 6 / 0.48f = 12.5f exactly -> roundf -> 13
    ("relu6", 2.4, 0, (0, 3)),              # float32: 6 / 2.4f rounds to 2.5f -> 3 (double would give 2)
    ("relu6", 6 / 255, -128, (-128, 127)),
    ("relu6", 0.001, 127, (127, 127)),
])
def test_activation_bounds(act, scale, zp, expected):
    assert activation_bounds(act, scale, zp) == expected


@pytest.mark.parametrize("args, fragment", [
    (("gelu", 0.1, 0), "gelu"),
    (("relu", 0.1, 128), "128"),
    (("relu", -0.1, 0), "-0.1"),
    (("relu6", 1e-12, 0), "overflows"),     # 6 / 1e-12 does not fit int32: TFLM fails Prepare too
])
def test_activation_bounds_rejects(args, fragment):
    with pytest.raises(InvalidArgumentError, match=fragment):
        activation_bounds(*args)
