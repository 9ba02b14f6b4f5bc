/* rc_conv_s8.h -- int8 2-D convolution with CMSIS-NN arm_convolve_s8 / TFLM ConvPerChannel semantics. */
#ifndef RC_CONV_S8_H
#define RC_CONV_S8_H

#include <stdint.h>

/* Mirrors cmsis_nn_conv_params (dilation 1) and cmsis_nn_per_channel_quant_params. */
typedef struct {
    int32_t input_offset;  /* -input zero point, [-127, 128] */
    int32_t output_offset; /* output zero point, [-128, 127] */
    int32_t stride_h, stride_w;
    int32_t pad_top, pad_left, pad_bottom, pad_right; /* padded taps count as the input zero point */
    int32_t act_min, act_max;                         /* int8 clamp, -128 <= act_min <= act_max <= 127 */
    int32_t single_rounding;                          /* 0: double rounding (default), 1: single rounding */
} rc_conv_params_t;

/* input:  int8 [in_h, in_w, in_c] (NHWC with N = 1)
 * weights: int8 [out_c, k_h, k_w, in_c] (OHWI)
 * bias, multiplier, shift: int32 [out_c]
 * output: int8 [out_h, out_w, out_c], out_h = (in_h + pad_top + pad_bottom - k_h) / stride_h + 1 (same for w)
 * Per output: acc = bias + sum over in-bounds taps of (x + input_offset) * w (int32, no overflow for
 * |acc| < 2^31), then requantize(acc, multiplier, shift) + output_offset, clamped to [act_min, act_max]. */
void rc_conv_s8(const int8_t *input, int32_t in_h, int32_t in_w, int32_t in_c,
                const int8_t *weights, int32_t out_c, int32_t k_h, int32_t k_w,
                const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                const rc_conv_params_t *params, int8_t *output, int32_t out_h, int32_t out_w);

#endif /* RC_CONV_S8_H */
