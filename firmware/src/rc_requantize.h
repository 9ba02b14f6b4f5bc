/* rc_requantize.h -- fixed-point requantization with CMSIS-NN / TFLite Micro semantics.
 *
 * Written from the published semantics (gemmlowp fixedpoint.h, TFLM common.cc
 * MultiplyByQuantizedMultiplier, CMSIS-NN arm_nn_requantize); no CMSIS-NN source is copied.
 *
 * Double rounding (CMSIS-NN / TFLM default):
 *   rc_requantize(x, m, s) = RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x << max(s, 0), m), max(-s, 0))
 * Single rounding (CMSIS_NN_USE_SINGLE_ROUNDING / TFLITE_SINGLE_ROUNDING):
 *   rc_requantize(x, m, s) = (x * m + 2^(30 - s)) >> (31 - s)          (round half toward +inf)
 *
 * Ranges: x int32, m in [0, 2^31 - 1], s in [-31, 30] (positive = left shift).
 * Implementation-defined behaviour relied on (true for gcc, clang, armcc on every two's-complement target):
 * `>>` of a negative signed value is arithmetic (floor), and converting an out-of-range value to int32_t wraps.
 */
#ifndef RC_REQUANTIZE_H
#define RC_REQUANTIZE_H

#include <stdint.h>

/* gemmlowp SaturatingRoundingDoublingHighMul: round(a * b / 2^31), half toward +inf; CMSIS-NN's
 * arm_nn_doubling_high_mult_no_sat computes floor((a * b + 2^30) / 2^31), the same value. */
static inline int32_t rc_doubling_high_mult(int32_t a, int32_t b)
{
    if (a == INT32_MIN && b == INT32_MIN) {
        return INT32_MAX;
    }
    return (int32_t)(((int64_t)a * (int64_t)b + ((int64_t)1 << 30)) >> 31);
}

/* gemmlowp RoundingDivideByPOT / CMSIS-NN arm_nn_divide_by_power_of_two: x / 2^e, half away from zero. */
static inline int32_t rc_divide_by_pot(int32_t x, int32_t exponent)
{
    const int32_t mask = (int32_t)(((int64_t)1 << exponent) - 1);
    const int32_t remainder = x & mask;
    const int32_t threshold = (mask >> 1) + (x < 0 ? 1 : 0);
    return (x >> exponent) + (remainder > threshold ? 1 : 0);
}

static inline int32_t rc_requantize_double(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t left = shift > 0 ? shift : 0;
    const int32_t right = shift > 0 ? 0 : -shift;
    /* x * 2^left as an int32 product: wraps like the MCU's MUL (never reached by the encoder's layers). */
    const int32_t shifted = (int32_t)((uint32_t)x << left);
    return rc_divide_by_pot(rc_doubling_high_mult(shifted, multiplier), right);
}

static inline int32_t rc_requantize_single(int32_t x, int32_t multiplier, int32_t shift)
{
    const int32_t total_shift = 31 - shift; /* [1, 62] */
    const int64_t round = (int64_t)1 << (total_shift - 1);
    const int64_t result = ((int64_t)x * (int64_t)multiplier + round) >> total_shift;
    return (int32_t)result; /* TFLM's static_cast<int32_t> */
}

#endif /* RC_REQUANTIZE_H */
