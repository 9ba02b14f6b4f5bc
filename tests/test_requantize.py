"""Edge cases of the fixed-point requantization (gemmlowp / TFLM semantics), with expected values
worked out by hand in the comments, plus a random cross-check against a literal Python-int
transcription of the C code."""

import numpy as np
import pytest

from refcodec.errors import InvalidArgumentError
from refcodec.kernels.requantize import (
    multiply_by_quantized_multiplier as mbqm,
    rounding_divide_by_pot as rdbpot,
    saturating_rounding_doubling_high_mul as srdhm,
)

I32_MIN, I32_MAX = -(2**31), 2**31 - 1
HALF = 2**30  # multiplier 0.5 in Q0.31


@pytest.mark.parametrize("a, b, expected", [
    (I32_MIN, I32_MIN, I32_MAX),         # the one saturating case
    (I32_MIN, I32_MAX, -(2**31) + 1),    # -2^31 * (2^31 - 1) / 2^31 = -2^31 + 1 exactly
    (I32_MAX, I32_MAX, 2**31 - 2),       # (2^31-1)^2 / 2^31 = 2^31 - 2 + 2^-31 -> 2^31 - 2
    (HALF, HALF, 2**29),                 # 2^60 / 2^31
    (1, HALF, 1),                        # +0.5 -> 1  (tie, toward +inf)
    (-1, HALF, 0),                       # -0.5 -> 0  (tie, toward +inf)
    (3, HALF, 2),                        # +1.5 -> 2
    (-3, HALF, -1),                      # -1.5 -> -1
    (-5, HALF + 1, -3),                  # -2.5 - 2.3e-9 -> -3 (not a tie)
    (0, I32_MIN, 0),
])
def test_srdhm_hand_values(a, b, expected):
    assert srdhm(a, b) == expected


@pytest.mark.parametrize("x, e, expected", [
    (5, 1, 3), (-5, 1, -3),              # +-2.5 -> away from zero
    (-4, 1, -2), (6, 2, 2), (-6, 2, -2),  # +-1.5 -> +-2
    (-5, 2, -1), (-7, 2, -2), (7, 0, 7),
    (I32_MIN, 31, -1),                   # exactly -1
    (2**30, 31, 1), (-(2**30), 31, -1),  # +-0.5 at the largest exponent
    (2**30 - 1, 31, 0), (I32_MAX, 31, 1), (-(2**30) + 1, 31, 0),
])
def test_rdbpot_hand_values(x, e, expected):
    assert rdbpot(x, e) == expected


@pytest.mark.parametrize("acc, m, shift, double, single", [
    # real value acc * m / 2^31 * 2^shift; "double" rounds twice (SRDHM then RDBPOT), "single" once
    (5, HALF, -1, 2, 1),                 # 1.25: SRDHM gives 2.5 -> 3, RDBPOT 1.5 -> 2; single: 1
    (-2, HALF, -1, -1, 0),               # -0.5: double away from zero -> -1; single toward +inf -> 0
    (2, HALF, -1, 1, 1),                 # +0.5 -> 1 both
    (-3, HALF, 0, -1, -1),               # -1.5 -> -1 both (SRDHM rounds toward +inf)
    (-1, HALF, -1, 0, 0),                # -0.25
    (-6, HALF, -2, -1, -1),              # -0.75
    (I32_MIN, 2**31 - 1, 0, -(2**31) + 1, -(2**31) + 1),
    (I32_MIN, HALF, 0, -(2**30), -(2**30)),
    (I32_MIN, 2**31 - 1, -31, -1, -1),   # -1 + 2^-31 -> -1
    (I32_MAX, HALF, -31, 1, 0),          # 0.49999999977: double rounding lifts it to 1
    (I32_MAX, I32_MAX, -31, 1, 1),       # 0.99999999907
    (1, HALF, 30, 2**29, 2**29),         # left shift at the top of the range
    (0, I32_MAX, 30, 0, 0),
    (-1, 0, 0, 0, 0),                    # multiplier 0 (QuantizeMultiplier's flush-to-zero)
])
def test_mbqm_hand_values(acc, m, shift, double, single):
    assert mbqm(acc, m, shift, "double") == double
    assert mbqm(acc, m, shift, "single") == single


def test_single_rounding_at_shift_30():
    # total_shift = 1: (x * m + 1) >> 1
    assert mbqm(3, 1, 30, "single") == 2     # 1.5 -> 2
    assert mbqm(-3, 1, 30, "single") == -1   # -1.5 -> -1
    assert mbqm(-1, 1, 30, "single") == 0    # -0.5 -> 0


def test_double_left_shift_wraps_like_int32():
    # x * (1 << 30) with x = 2 is 2^31: the int32 product wraps to INT32_MIN (UB in C, wraps on ARM)
    assert mbqm(2, HALF, 30, "double") == -(2**30)


def _c_trunc_div(a, b):
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def _py_double(x, m, s):
    """Line-by-line transcription of gemmlowp + TFLM common.cc with Python ints."""
    left, right = max(s, 0), max(-s, 0)
    a = ((x * (1 << left) + 2**31) % 2**32) - 2**31
    if a == m == I32_MIN:
        hi = I32_MAX
    else:
        ab = a * m
        nudge = (1 << 30) if ab >= 0 else (1 - (1 << 30))
        hi = _c_trunc_div(ab + nudge, 1 << 31)
    mask = (1 << right) - 1
    remainder = hi & mask
    threshold = (mask >> 1) + (1 if hi < 0 else 0)
    return (hi >> right) + (1 if remainder > threshold else 0)


def _py_single(x, m, s):
    total = 31 - s
    return (x * m + (1 << (total - 1))) >> total


def test_random_against_python_int_transcription():
    rng = np.random.default_rng(1234)
    n = 3000
    acc = rng.integers(-(2**24), 2**24, n)
    acc[:50] = rng.integers(I32_MIN, I32_MAX, 50, endpoint=True)
    m = rng.integers(2**30, 2**31, n)
    shift = rng.integers(-31, 1, n)
    shift[:50] = -31
    d = mbqm(acc, m.astype(np.int32), shift.astype(np.int32), "double")
    s = mbqm(acc, m.astype(np.int32), shift.astype(np.int32), "single")
    assert d.dtype == np.int32 and s.dtype == np.int32
    for i in range(n):
        x, mm, sh = int(acc[i]), int(m[i]), int(shift[i])
        assert d[i] == _py_double(x, mm, sh), (x, mm, sh)
        assert s[i] == _py_single(x, mm, sh), (x, mm, sh)


def test_broadcast_per_channel():
    acc = np.arange(-40, 40, dtype=np.int64).reshape(2, 5, 8)
    m = np.full(8, HALF, np.int32)
    s = np.arange(-7, 1, dtype=np.int32)
    out = mbqm(acc, m, s)
    assert out.shape == (2, 5, 8) and out.dtype == np.int32
    assert out[1, 4, 7] == mbqm(39, HALF, 0) == 20  # 19.5 -> 20


@pytest.mark.parametrize("kwargs, fragment", [
    (dict(acc=2**31, multiplier=HALF, shift=0), "2147483648"),
    (dict(acc=1, multiplier=-1, shift=0), "-1"),
    (dict(acc=1, multiplier=HALF, shift=31), "31"),
    (dict(acc=1, multiplier=HALF, shift=-32), "-32"),
    (dict(acc=1.5, multiplier=HALF, shift=0), "float64"),
    (dict(acc=1, multiplier=HALF, shift=0, rounding="triple"), "triple"),
])
def test_invalid_arguments(kwargs, fragment):
    with pytest.raises(InvalidArgumentError, match=fragment):
        mbqm(**kwargs)


def test_rdbpot_rejects_exponent_32():
    with pytest.raises(InvalidArgumentError, match="32"):
        rdbpot(1, 32)
