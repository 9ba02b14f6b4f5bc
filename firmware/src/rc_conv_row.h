/* rc_conv_row.h -- ONE output row of an int8 2-D convolution with CMSIS-NN arm_convolve_s8 / TFLM
 * ConvPerChannel semantics (spec section 4.3), from an array of k_h input-row pointers: the building block of the
 * line-buffered encoder (each layer keeps only the last k_h rows of its input in a ring buffer). */
#ifndef RC_CONV_ROW_H
#define RC_CONV_ROW_H

#include <stddef.h>
#include <stdint.h>

/* One layer: mirrors cmsis_nn_conv_params (dilation 1) and cmsis_nn_per_channel_quant_params. */
typedef struct {
    const int8_t *weights;         /* int8 OHWI [out_c][k_h][k_w][in_c] */
    const int32_t *bias, *multiplier, *shift; /* int32 [out_c]; shift > 0 = left */
    int32_t in_w, in_c, out_w, out_c, k_h, k_w, stride_w, pad_left;
    int32_t input_offset;          /* -input zero point, [-127, 128] */
    int32_t output_offset;         /* output zero point */
    int32_t act_min, act_max;
    int32_t single_rounding;       /* 0: double rounding (default), 1: single rounding */
} rc_conv_layer_row_t;

/* Bytes of im2col scratch that rc_conv_row needs for a layer of k_h x k_w x in_c taps: two columns of int16,
 * each padded to a multiple of 4 taps (the layout of CMSIS-NN's non-MVE arm_convolve_s8 buffer). */
#define RC_IM2COL_TAPS(k_h, k_w, in_c) ((((k_h) * (k_w) * (in_c)) + 3) / 4 * 4)
#define RC_IM2COL_BYTES(k_h, k_w, in_c) (2 * RC_IM2COL_TAPS(k_h, k_w, in_c) * 2)

/* rows[ky], ky < k_h: int8 [in_w][in_c] input row oy * stride_h - pad_top + ky, or NULL where that row is SAME
 * padding (outside the input). out: int8 [out_w][out_c]. scratch: RC_IM2COL_BYTES int16-aligned (4-byte
 * aligned for the DSP kernel's word reads). Per output: acc = bias + sum over in-bounds taps of
 * (x + input_offset) * w, requantized, + output_offset, clamped (spec section 4.3). */
void rc_conv_row(const rc_conv_layer_row_t *L, const int8_t *const *rows, int8_t *out, int16_t *scratch);

#endif /* RC_CONV_ROW_H */
