/* rc_conv_row.c -- see rc_conv_row.h.
 *
 * Schedule (the one of CMSIS-NN arm_convolve_s8 on a DSP core, written from its description, no code copied):
 * the taps of two neighbouring output positions are gathered ("im2col") into two int16 columns with the input
 * offset already added (a padded tap is 0, so it adds nothing, as spec section 4.3 says), then every output
 * channel's weights are read once for both columns. With the DSP extension (rc_dsp.h) four int8 weights are read
 * as one word and split into two int16 pairs by SXTB16 / SXTB16 ROR #8 ([w0, w2], [w1, w3]); the columns are
 * stored in the matching order (x0, x2, x1, x3 in every group of four taps), so SMLAD does two multiply-
 * accumulates per instruction. The plain-C kernel uses the natural order. Both add the same products, only in
 * another order, and the accumulator bound (spec section 4.3: |every partial sum| < 2^31) makes the order
 * irrelevant: the same bytes either way. */
#include "rc_conv_row.h"

#include <string.h>

#include "rc_dsp.h"
#include "rc_requantize.h"

/* One im2col column: taps (ky, kx, ci) in OHWI order, value x + input_offset, 0 for a padded tap. Per kernel row
 * the in-bounds taps are one contiguous run of the input row (kx0 <= kx < kx1), so the only per-tap work is the
 * widening. */
static void im2col(const rc_conv_layer_row_t *L, const int8_t *const *rows, int32_t ox, int16_t *col)
{
    const int32_t base_x = ox * L->stride_w - L->pad_left;
    const int32_t in_c = L->in_c;
    const int32_t off = L->input_offset;
    const int32_t row_taps = L->k_w * in_c;
    int32_t kx0 = base_x < 0 ? -base_x : 0;
    int32_t kx1 = L->in_w - base_x < L->k_w ? L->in_w - base_x : L->k_w;
    int32_t ky, i, lead, run;
    int16_t *p = col;
    kx0 = kx0 < L->k_w ? kx0 : L->k_w;
    kx1 = kx1 > kx0 ? kx1 : kx0;
    lead = kx0 * in_c;
    run = (kx1 - kx0) * in_c;
    for (ky = 0; ky < L->k_h; ky++, p += row_taps) {
        const int8_t *row = rows[ky];
        if (row == NULL) {
            memset(p, 0, (size_t)row_taps * sizeof(int16_t));
            continue;
        }
        row += (size_t)(base_x + kx0) * (size_t)in_c;
        for (i = 0; i < lead; i++) {
            p[i] = 0;
        }
        for (i = 0; i < run; i++) {
            p[lead + i] = (int16_t)((int32_t)row[i] + off);
        }
        for (i = lead + run; i < row_taps; i++) {
            p[i] = 0;
        }
    }
#if RC_USE_DSP
    {
        /* x0 x1 x2 x3 -> x0 x2 x1 x3 in every full group of 4 (the order SXTB16 splits a weight word into) */
        const int32_t n4 = (L->k_h * L->k_w * in_c) & ~3;
        int32_t i;
        for (i = 0; i < n4; i += 4) {
            const int16_t t = col[i + 1];
            col[i + 1] = col[i + 2];
            col[i + 2] = t;
        }
    }
#endif
}

static int8_t requantize_clamp(const rc_conv_layer_row_t *L, int32_t acc, int32_t oc)
{
    int32_t out = L->single_rounding ? rc_requantize_single(acc, L->multiplier[oc], L->shift[oc])
                                     : rc_requantize_double(acc, L->multiplier[oc], L->shift[oc]);
    /* int32 addition wrapping like the MCU's ADD (TFLM adds in int32 too) */
    out = (int32_t)((uint32_t)out + (uint32_t)L->output_offset);
    if (out < L->act_min) {
        out = L->act_min;
    }
    if (out > L->act_max) {
        out = L->act_max;
    }
    return (int8_t)out;
}

#if RC_USE_DSP
static uint32_t read_u32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4); /* one LDR on a core with unaligned access (Cortex-M3 and up) */
    return v;
}
#endif

/* acc[2 * j + m] += channel oc + j (weights w0, w1) . column m (ca, cb) over n taps. */
static void dot_2ch(const int8_t *w0, const int8_t *w1, const int16_t *ca, const int16_t *cb, int32_t n,
                    int32_t acc[4])
{
    int32_t a00 = acc[0], a01 = acc[1], a10 = acc[2], a11 = acc[3];
    int32_t i = 0;
#if RC_USE_DSP
    for (; i + 4 <= n; i += 4) {
        const uint32_t wa = read_u32(w0 + i), wb = read_u32(w1 + i);
        const uint32_t wa02 = rc_sxtb16(wa), wa13 = rc_sxtb16_r8(wa);
        const uint32_t wb02 = rc_sxtb16(wb), wb13 = rc_sxtb16_r8(wb);
        const uint32_t xa02 = read_u32(ca + i), xa13 = read_u32(ca + i + 2);
        const uint32_t xb02 = read_u32(cb + i), xb13 = read_u32(cb + i + 2);
        a00 = rc_smlad(wa02, xa02, a00);
        a00 = rc_smlad(wa13, xa13, a00);
        a01 = rc_smlad(wa02, xb02, a01);
        a01 = rc_smlad(wa13, xb13, a01);
        a10 = rc_smlad(wb02, xa02, a10);
        a10 = rc_smlad(wb13, xa13, a10);
        a11 = rc_smlad(wb02, xb02, a11);
        a11 = rc_smlad(wb13, xb13, a11);
    }
#endif
    for (; i < n; i++) {
        const int32_t x = ca[i], y = cb[i];
        const int32_t u = w0[i], v = w1[i];
        a00 += x * u;
        a01 += y * u;
        a10 += x * v;
        a11 += y * v;
    }
    acc[0] = a00;
    acc[1] = a01;
    acc[2] = a10;
    acc[3] = a11;
}

static int32_t dot_1(const int8_t *w, const int16_t *c, int32_t n, int32_t acc)
{
    int32_t i = 0;
#if RC_USE_DSP
    for (; i + 4 <= n; i += 4) {
        const uint32_t ww = read_u32(w + i);
        acc = rc_smlad(rc_sxtb16(ww), read_u32(c + i), acc);
        acc = rc_smlad(rc_sxtb16_r8(ww), read_u32(c + i + 2), acc);
    }
#endif
    for (; i < n; i++) {
        acc += (int32_t)c[i] * (int32_t)w[i];
    }
    return acc;
}

void rc_conv_row(const rc_conv_layer_row_t *L, const int8_t *const *rows, int8_t *out, int16_t *scratch)
{
    const int32_t n = L->k_h * L->k_w * L->in_c;
    const int32_t out_c = L->out_c;
    int16_t *const ca = scratch;
    int16_t *const cb = scratch + RC_IM2COL_TAPS(L->k_h, L->k_w, L->in_c);
    int32_t ox = 0, oc;
    for (; ox + 2 <= L->out_w; ox += 2) {
        int8_t *const oa = out + (size_t)ox * (size_t)out_c;
        int8_t *const ob = oa + out_c;
        im2col(L, rows, ox, ca);
        im2col(L, rows, ox + 1, cb);
        for (oc = 0; oc + 2 <= out_c; oc += 2) {
            const int8_t *w0 = L->weights + (size_t)oc * (size_t)n;
            int32_t acc[4];
            acc[0] = acc[1] = L->bias[oc];
            acc[2] = acc[3] = L->bias[oc + 1];
            dot_2ch(w0, w0 + n, ca, cb, n, acc);
            oa[oc] = requantize_clamp(L, acc[0], oc);
            ob[oc] = requantize_clamp(L, acc[1], oc);
            oa[oc + 1] = requantize_clamp(L, acc[2], oc + 1);
            ob[oc + 1] = requantize_clamp(L, acc[3], oc + 1);
        }
        for (; oc < out_c; oc++) {
            const int8_t *w = L->weights + (size_t)oc * (size_t)n;
            int32_t a = dot_1(w, ca, n, L->bias[oc]);
            int32_t b = dot_1(w, cb, n, L->bias[oc]);
            oa[oc] = requantize_clamp(L, a, oc);
            ob[oc] = requantize_clamp(L, b, oc);
        }
    }
    if (ox < L->out_w) {
        int8_t *const oa = out + (size_t)ox * (size_t)out_c;
        im2col(L, rows, ox, ca);
        for (oc = 0; oc < out_c; oc++) {
            const int8_t *w = L->weights + (size_t)oc * (size_t)n;
            int32_t a = dot_1(w, ca, n, L->bias[oc]);
            oa[oc] = requantize_clamp(L, a, oc);
        }
    }
}
