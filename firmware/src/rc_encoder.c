/* rc_encoder.c -- see rc_encoder.h.
 *
 * Deliberately broken builds, for testing `refcodec verify` (never define these in real firmware):
 *   -DBROKEN_SINGLE_ROUNDING  requantize with single rounding whatever the model says
 *   -DBROKEN_PADDING          put the extra SAME padding row/column at the top/left instead of the bottom/right
 *   -DBROKEN_WEIGHT           flip all bits of one weight (conv2, output channel 5, centre tap, input channel 0)
 */
#include "rc_encoder.h"

#include <stdlib.h>
#include <string.h>

#include "rc_conv_s8.h"

#ifdef BROKEN_WEIGHT
#define RC_BROKEN_LAYER 1
#define RC_BROKEN_CHANNEL 5
#endif

static int32_t same_out(int32_t in, int32_t stride)
{
    return (in + stride - 1) / stride;
}

/* TFLite SAME padding (spec section 4): returns the total, top/left gets total / 2. */
static int32_t same_pad_total(int32_t in, int32_t kernel, int32_t stride)
{
    const int32_t need = (same_out(in, stride) - 1) * stride + kernel - in;
    return need > 0 ? need : 0;
}

static int32_t pad_before(int32_t total)
{
#ifdef BROKEN_PADDING
    return total - total / 2;
#else
    return total / 2;
#endif
}

int rc_encoder_init(rc_encoder_t *enc, int32_t height, int32_t width)
{
    int32_t i;
    memset(enc, 0, sizeof(*enc));
    if (height < RC_DOWNSAMPLING || width < RC_DOWNSAMPLING || height % RC_DOWNSAMPLING || width % RC_DOWNSAMPLING) {
        return -1;
    }
    enc->height = height;
    enc->width = width;
    enc->h[0] = height;
    enc->w[0] = width;
    enc->c[0] = rc_layers[0].in_ch;
    for (i = 0; i < RC_NUM_LAYERS; i++) {
        enc->h[i + 1] = same_out(enc->h[i], rc_layers[i].stride_h);
        enc->w[i + 1] = same_out(enc->w[i], rc_layers[i].stride_w);
        enc->c[i + 1] = rc_layers[i].out_ch;
    }
    for (i = 0; i < RC_NUM_TENSORS; i++) {
        enc->tensor[i] = (int8_t *)malloc((size_t)enc->h[i] * (size_t)enc->w[i] * (size_t)enc->c[i]);
        if (enc->tensor[i] == NULL) {
            rc_encoder_free(enc);
            return -1;
        }
    }
    enc->symbols = (uint8_t *)malloc((size_t)enc->h[RC_NUM_LAYERS] * (size_t)enc->w[RC_NUM_LAYERS] *
                                     (size_t)RC_LATENT_CHANNELS);
    if (enc->symbols == NULL) {
        rc_encoder_free(enc);
        return -1;
    }
    return 0;
}

void rc_encoder_free(rc_encoder_t *enc)
{
    int32_t i;
    for (i = 0; i < RC_NUM_TENSORS; i++) {
        free(enc->tensor[i]);
        enc->tensor[i] = NULL;
    }
    free(enc->symbols);
    enc->symbols = NULL;
}

void rc_pad_frame(const uint8_t *rgb, int32_t h, int32_t w, uint8_t *out, int32_t ph, int32_t pw)
{
    int32_t y, x;
    for (y = 0; y < ph; y++) {
        const int32_t sy = y < h ? y : h - 1;
        for (x = 0; x < pw; x++) {
            const int32_t sx = x < w ? x : w - 1;
            memcpy(out + ((size_t)y * pw + x) * 3, rgb + ((size_t)sy * w + sx) * 3, 3);
        }
    }
}

/* Latent quantizer (spec section 5): all operands non-negative, d * mult + 2^15 < 2^31. */
static uint8_t quantize_latent(int8_t q, int32_t channel)
{
    const int32_t d0 = (int32_t)q - rc_lq_lo[channel];
    const uint32_t d = d0 > 0 ? (uint32_t)d0 : 0u;
    const uint32_t s = (d * (uint32_t)rc_lq_mult[channel] + (1u << (RC_LQ_SHIFT - 1))) >> RC_LQ_SHIFT;
    const uint32_t top = (1u << RC_LQ_BITS) - 1u;
    return (uint8_t)(s < top ? s : top);
}

void rc_encoder_run(rc_encoder_t *enc, const uint8_t *rgb)
{
    int32_t i;
    const size_t n_in = (size_t)enc->h[0] * (size_t)enc->w[0] * (size_t)enc->c[0];
    size_t n_lat, j;
    /* Input conversion (spec section 3.2): int8 = pixel - 128. */
    for (j = 0; j < n_in; j++) {
        enc->tensor[0][j] = (int8_t)((int32_t)rgb[j] - 128);
    }
    for (i = 0; i < RC_NUM_LAYERS; i++) {
        const rc_conv_layer_t *L = &rc_layers[i];
        const int32_t total_h = same_pad_total(enc->h[i], L->kernel_h, L->stride_h);
        const int32_t total_w = same_pad_total(enc->w[i], L->kernel_w, L->stride_w);
        const int8_t *weights = L->weights;
        rc_conv_params_t p;
#ifdef BROKEN_WEIGHT
        int8_t *broken = NULL;
        if (i == RC_BROKEN_LAYER) {
            const size_t n_w = (size_t)L->out_ch * L->kernel_h * L->kernel_w * L->in_ch;
            const size_t at = (((size_t)RC_BROKEN_CHANNEL * L->kernel_h + L->kernel_h / 2) * L->kernel_w +
                               L->kernel_w / 2) * L->in_ch;
            broken = (int8_t *)malloc(n_w);
            if (broken != NULL) {
                memcpy(broken, L->weights, n_w);
                broken[at] = (int8_t)~broken[at];
                weights = broken;
            }
        }
#endif
        p.input_offset = L->input_offset;
        p.output_offset = L->output_offset;
        p.stride_h = L->stride_h;
        p.stride_w = L->stride_w;
        p.pad_top = pad_before(total_h);
        p.pad_bottom = total_h - p.pad_top;
        p.pad_left = pad_before(total_w);
        p.pad_right = total_w - p.pad_left;
        p.act_min = L->act_min;
        p.act_max = L->act_max;
#ifdef BROKEN_SINGLE_ROUNDING
        p.single_rounding = 1;
#else
        p.single_rounding = RC_SINGLE_ROUNDING;
#endif
        rc_conv_s8(enc->tensor[i], enc->h[i], enc->w[i], enc->c[i], weights, L->out_ch, L->kernel_h, L->kernel_w,
                   L->bias, L->multiplier, L->shift, &p, enc->tensor[i + 1], enc->h[i + 1], enc->w[i + 1]);
#ifdef BROKEN_WEIGHT
        free(broken);
#endif
    }
    n_lat = (size_t)enc->h[RC_NUM_LAYERS] * (size_t)enc->w[RC_NUM_LAYERS];
    for (j = 0; j < n_lat; j++) {
        int32_t c;
        for (c = 0; c < RC_LATENT_CHANNELS; c++) {
            const size_t k = j * RC_LATENT_CHANNELS + (size_t)c;
            enc->symbols[k] = quantize_latent(enc->tensor[RC_NUM_LAYERS][k], c);
        }
    }
}
