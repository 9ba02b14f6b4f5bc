"""Single rounding (TFLITE_SINGLE_ROUNDING / CMSIS_NN_USE_SINGLE_ROUNDING) proven against paths that
share no code with refcodec.kernels.requantize:

* hand-computed values of the published formula
  result = floor((x * M + 2^(30 - shift)) / 2^(31 - shift)), i.e. x * M * 2^(shift - 31) rounded half up;
* CMSIS-NN's arm_nn_requantize transcription (two shifts, int32 intermediate) on random inputs;
* exact rational arithmetic (fractions.Fraction) on whole convolutions, computed tap by tap.

TFLM's PyPI build uses double rounding, so TFLM cannot be the oracle here.
"""

import math
from fractions import Fraction

import numpy as np
import pytest

from refcodec.kernels import ConvParams, PerChannelQuantParams, conv2d_s8, conv2d_s8_fast
from refcodec.kernels.requantize import multiply_by_quantized_multiplier as mbqm

I32_MIN, I32_MAX = -(2**31), 2**31 - 1


@pytest.mark.parametrize("x, m, shift, expected", [
    (5, 2**30, -1, 1),           # 5 * 0.5 * 0.5 = 1.25 -> 1 (double rounding gives 2)
    (6, 2**30, -2, 1),           # 0.75 -> 1
    (-6, 2**30, -2, -1),         # -0.75 -> -1
    (2, 2**30, -1, 1),           # 0.5 -> 1 (half up)
    (-2, 2**30, -1, 0),          # -0.5 -> 0 (half up; double rounding gives -1)
    (-10, 2**30, -2, -1),        # -1.25 -> -1
    (-14, 2**30, -3, -1),        # -0.875 -> -1
    (-12, 2**30, -3, -1),        # -12 * 0.5 * 2^-3 = -0.75 -> -1
    (-4, 2**30, -2, 0),          # -0.25 -> 0
    (1000, 1717986918, -3, 100),  # multiplier 0.79999999981: 1000 * 0.8 * 2^-3 = 99.99999998 -> 100
    (-100, 1717986918, -4, -5),   # -100 * 0.8 / 16 = -4.99999999884 -> -5
    (I32_MAX, 2**30, -31, 0),    # 0.49999999977 -> 0 (double rounding gives 1)
    (I32_MIN, I32_MAX, -31, -1),
    (1, 2**30, 30, 2**29),
    (-3, 1, 30, -1),             # -1.5 -> -1
])
def test_hand_values(x, m, shift, expected):
    value = Fraction(x * m, 2 ** (31 - shift))
    assert math.floor(value + Fraction(1, 2)) == expected, "expected value worked out wrongly"
    assert mbqm(x, m, shift, "single") == expected


def _cmsis_single(val, multiplier, shift):
    """CMSIS-NN arm_nn_requantize, CMSIS_NN_USE_SINGLE_ROUNDING branch, with C int32 truncation."""
    total_shift = 31 - shift
    new_val = val * multiplier
    result = new_val >> (total_shift - 1)
    result = ((result + 2**31) % 2**32) - 2**31   # int32_t result = ...
    return (result + 1) >> 1


def test_random_against_cmsis_transcription():
    rng = np.random.default_rng(99)
    n = 4000
    x = rng.integers(-(2**24), 2**24, n)
    m = rng.integers(2**30, 2**31, n)
    s = rng.integers(-31, 1, n)
    got = mbqm(x, m.astype(np.int32), s.astype(np.int32), "single")
    want = [_cmsis_single(int(a), int(b), int(c)) for a, b, c in zip(x, m, s)]
    assert got.tolist() == want


@pytest.mark.parametrize("seed", range(6))
def test_conv_single_rounding_exact_rational(seed):
    rng = np.random.default_rng(seed)
    c_in, c_out, k, st = 3, 4, int(rng.integers(1, 6)), int(rng.integers(1, 4))
    x = rng.integers(-128, 128, (9, 8, c_in)).astype(np.int8)
    w = rng.integers(-127, 128, (c_out, k, k, c_in)).astype(np.int8)
    b = rng.integers(-5000, 5000, c_out).astype(np.int32)
    zp_in, zp_out = int(rng.integers(-128, 128)), int(rng.integers(-128, 128))
    # power-of-two multipliers put many accumulators exactly on ties
    mult = np.where(rng.random(c_out) < 0.5, 2**30, rng.integers(2**30, 2**31, c_out)).astype(np.int32)
    shift = rng.integers(-14, -6, c_out).astype(np.int32)
    pt, pl, pb, pr = (int(v) for v in rng.integers(0, k, 4))
    cp = ConvParams(-zp_in, zp_out, st, st, pt, pl, pb, pr, -128, 127)
    qp = PerChannelQuantParams(mult, shift)
    ref = conv2d_s8(x, w, b, cp, qp, "single")
    fast = conv2d_s8_fast(x, w, b, cp, qp, "single")
    oh, ow = ref.shape[:2]
    for oy in range(oh):
        for ox in range(ow):
            for co in range(c_out):
                acc = int(b[co])
                for ky in range(k):
                    for kx in range(k):
                        iy, ix = oy * st - pt + ky, ox * st - pl + kx
                        if 0 <= iy < x.shape[0] and 0 <= ix < x.shape[1]:
                            for ci in range(c_in):
                                acc += (int(x[iy, ix, ci]) - zp_in) * int(w[co, ky, kx, ci])
                v = Fraction(acc * int(mult[co]), 2 ** (31 - int(shift[co])))
                q = math.floor(v + Fraction(1, 2)) + zp_out
                assert ref[oy, ox, co] == min(127, max(-128, q)), (oy, ox, co)
    assert np.array_equal(ref, fast)
