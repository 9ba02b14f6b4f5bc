/* rc_conv_s8.c -- see rc_conv_s8.h. Plain loops: this is a firmware stand-in for checking bytes, not a
 * fast kernel; the arithmetic (and so every output byte) is the one of arm_convolve_s8. */
#include "rc_conv_s8.h"

#include "rc_requantize.h"

void rc_conv_s8(const int8_t *input, int32_t in_h, int32_t in_w, int32_t in_c,
                const int8_t *weights, int32_t out_c, int32_t k_h, int32_t k_w,
                const int32_t *bias, const int32_t *multiplier, const int32_t *shift,
                const rc_conv_params_t *params, int8_t *output, int32_t out_h, int32_t out_w)
{
    int32_t oy, ox, oc, ky, kx, ic;
    for (oy = 0; oy < out_h; oy++) {
        const int32_t base_y = oy * params->stride_h - params->pad_top;
        for (ox = 0; ox < out_w; ox++) {
            const int32_t base_x = ox * params->stride_w - params->pad_left;
            for (oc = 0; oc < out_c; oc++) {
                int32_t acc = bias[oc];
                int32_t out;
                for (ky = 0; ky < k_h; ky++) {
                    const int32_t iy = base_y + ky;
                    if (iy < 0 || iy >= in_h) {
                        continue; /* padded row: (zero point + input_offset) * w = 0 */
                    }
                    for (kx = 0; kx < k_w; kx++) {
                        const int32_t ix = base_x + kx;
                        const int8_t *px;
                        const int8_t *pw;
                        if (ix < 0 || ix >= in_w) {
                            continue;
                        }
                        px = input + ((int64_t)iy * in_w + ix) * in_c;
                        pw = weights + (((int64_t)oc * k_h + ky) * k_w + kx) * in_c;
                        for (ic = 0; ic < in_c; ic++) {
                            acc += ((int32_t)px[ic] + params->input_offset) * (int32_t)pw[ic];
                        }
                    }
                }
                if (params->single_rounding) {
                    out = rc_requantize_single(acc, multiplier[oc], shift[oc]);
                } else {
                    out = rc_requantize_double(acc, multiplier[oc], shift[oc]);
                }
                /* int32 addition wrapping like the MCU's ADD (TFLM adds in int32 too) */
                out = (int32_t)((uint32_t)out + (uint32_t)params->output_offset);
                if (out < params->act_min) {
                    out = params->act_min;
                }
                if (out > params->act_max) {
                    out = params->act_max;
                }
                output[((int64_t)oy * out_w + ox) * out_c + oc] = (int8_t)out;
            }
        }
    }
}
