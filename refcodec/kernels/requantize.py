"""Fixed-point requantization: the one place where rounding happens.

Mirrors, bit for bit:

* gemmlowp `SaturatingRoundingDoublingHighMul` and `RoundingDivideByPOT` (fixedpoint.h), which TFLM's
  double-rounding `MultiplyByQuantizedMultiplier` uses (tensorflow/lite/kernels/internal/common.cc);
  CMSIS-NN's `arm_nn_doubling_high_mult_no_sat` / `arm_nn_divide_by_power_of_two` give the same values
  except for the single saturating case INT32_MIN * INT32_MIN, which cannot occur with multipliers
  in [0, 2^31 - 1].
* TFLM's single-rounding `MultiplyByQuantizedMultiplier` (`#if TFLITE_SINGLE_ROUNDING`, common.cc)::

      const int64_t total_shift = 31 - shift;
      const int64_t round = static_cast<int64_t>(1) << (total_shift - 1);
      int64_t result = x * static_cast<int64_t>(quantized_multiplier) + round;
      result = result >> total_shift;

  and CMSIS-NN's `arm_nn_requantize` under `CMSIS_NN_USE_SINGLE_ROUNDING` (arm_nnsupportfunctions.h)::

      const int64_t total_shift = 31 - shift;
      const int64_t new_val = val * (int64_t)multiplier;
      int32_t result = new_val >> (total_shift - 1);
      result = (result + 1) >> 1;

  Both are floor((x * m + 2^(total_shift - 1)) / 2^total_shift), i.e. round half toward +inf, as long as
  |result| < 2^30 (CMSIS-NN truncates its 2x intermediate to int32, so results in [2^30, 2^31) differ
  there; int8 kernels never come close).

Every function is vectorised over NumPy arrays (broadcasting), computes in int64 and returns int32.
All-scalar arguments give a Python int back. C semantics that NumPy does not share are spelled out:
C `/` truncates toward zero while NumPy's `>>` on negative numbers floors.
"""

from __future__ import annotations

import numpy as np

from refcodec.errors import InvalidArgumentError
from refcodec.kernels.params import check_rounding

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def _as_i64(name: str, value, lo: int, hi: int) -> np.ndarray:
    a = np.asarray(value)
    if a.dtype.kind not in "iu":
        raise InvalidArgumentError(f"{name} must be an integer array, got dtype {a.dtype}")
    a = a.astype(np.int64)
    if a.size:
        bad = (a < lo) | (a > hi)
        if bad.any():
            raise InvalidArgumentError(f"{name} value {int(a[bad].flat[0])} outside [{lo}, {hi}]")
    return a


def _out(result: np.ndarray, *args):
    """int32 array, or a Python int when every argument was a scalar."""
    result = result.astype(np.int32)
    if all(np.ndim(a) == 0 for a in args):
        return int(result)
    return result


def _wrap_int32(x: np.ndarray) -> np.ndarray:
    """Two's-complement wrap of int64 values to the int32 range (what an ARM `MUL` leaves in a register)."""
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _srdhm(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    overflow = (a == b) & (a == INT32_MIN)
    ab = a * b  # |ab| <= 2^62: exact in int64
    nudge = np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    s = ab + nudge
    q = s >> 31  # floor
    q = q + ((s < 0) & ((s & ((1 << 31) - 1)) != 0))  # C division truncates toward zero
    return np.where(overflow, INT32_MAX, q)


def _rdbpot(x: np.ndarray, exponent: np.ndarray) -> np.ndarray:
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def saturating_rounding_doubling_high_mul(a, b):
    """gemmlowp `SaturatingRoundingDoublingHighMul(int32 a, int32 b)`.

    a, b: int32 values (any integer dtype, range [-2^31, 2^31 - 1]), broadcast together.
    Returns int32 = (a * b + nudge) / 2^31 with C truncating division, nudge = 2^30 if a*b >= 0
    else 1 - 2^30 (round half toward +inf); INT32_MIN * INT32_MIN saturates to INT32_MAX.
    """
    a64 = _as_i64("a", a, INT32_MIN, INT32_MAX)
    b64 = _as_i64("b", b, INT32_MIN, INT32_MAX)
    return _out(_srdhm(a64, b64), a, b)


def rounding_divide_by_pot(x, exponent):
    """gemmlowp `RoundingDivideByPOT(int32 x, int exponent)`: x / 2^exponent rounded half away from zero.

    x: int32 values; exponent: [0, 31]. Returns int32:
    mask = 2^e - 1; remainder = x & mask; threshold = (mask >> 1) + (x < 0);
    result = (x >> e) + (remainder > threshold), with `>>` arithmetic (floor).
    """
    x64 = _as_i64("x", x, INT32_MIN, INT32_MAX)
    e64 = _as_i64("exponent", exponent, 0, 31)
    return _out(_rdbpot(x64, e64), x, exponent)


def multiply_by_quantized_multiplier(acc, multiplier, shift, rounding: str = "double"):
    """TFLM `MultiplyByQuantizedMultiplier(int32 x, int32 quantized_multiplier, int shift)`.

    acc: int32 accumulators (any integer dtype, values in [-2^31, 2^31 - 1]).
    multiplier: [0, 2^31 - 1] (Q0.31, normally >= 2^30); shift: [-31, 30], positive = left shift.
    All three broadcast together (e.g. acc [..., C] with per-channel multiplier/shift [C]).

    rounding="double" (TFLM / CMSIS-NN default)::

        RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x * (1 << left_shift), m), right_shift)

      `x * (1 << left_shift)` is an int32 product; it wraps like two's-complement hardware when it
      overflows (undefined in C; never reached by the int8 kernels, where |acc| << 2^31 / 2^shift).
    rounding="single" (TFLITE_SINGLE_ROUNDING)::

        (x * m + (1 << (30 - shift))) >> (31 - shift)

      results outside int32 wrap like TFLM's final static_cast (a DCHECK there).

    Returns int32 (Python int if all arguments are scalars).
    """
    check_rounding(rounding)
    x = _as_i64("acc", acc, INT32_MIN, INT32_MAX)
    m = _as_i64("multiplier", multiplier, 0, INT32_MAX)
    s = _as_i64("shift", shift, -31, 30)
    if rounding == "double":
        left = np.maximum(s, 0)
        right = np.maximum(-s, 0)
        result = _rdbpot(_srdhm(_wrap_int32(x << left), m), right)
    else:
        total = 31 - s
        result = _wrap_int32((x * m + (np.int64(1) << (total - 1))) >> total)
    return _out(result, acc, multiplier, shift)
