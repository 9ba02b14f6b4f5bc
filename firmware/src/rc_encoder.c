/* rc_encoder.c -- see rc_encoder.h. Spec sections 3 (frame preparation), 4 (layers), 5 (latent quantizer); the
 * packet itself is rc_stream.c. */
#include "rc_encoder.h"

#include <string.h>

#include "rc_conv_row.h"
#include "rc_model.h"

#ifndef RC_HAS_INTER /* headers exported before spec 2.2, or of a model without inter tables */
#define RC_HAS_INTER 0
#endif
#include "rc_profile.h"

#if RC_NUM_LAYERS != RC_ENC_LAYERS
#error "rc_model.h: the library is written for the three layers of MCUCoder's encoder"
#endif

#define RC_MAX_KERNEL_H 16 /* rows a kernel may have (the model's are 7, 5, 3) */

#ifdef BROKEN_WEIGHT
#define RC_BROKEN_LAYER 1
#define RC_BROKEN_CHANNEL 5
#endif

static int32_t same_out(int32_t in, int32_t stride)
{
    return (in + stride - 1) / stride;
}

/* TFLite SAME padding (spec section 4.2): the total; top/left gets total / 2. */
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

/* The arena's parts, in bytes, for a padded pw x ph frame (see rc_plan in rc_encoder.h). */
typedef struct {
    uint64_t scratch, ring[RC_NUM_LAYERS], latent_row, symbols, total;
} arena_parts_t;

static int arena_parts(int32_t width, int32_t height, int32_t max_channels, arena_parts_t *p)
{
    uint64_t pw, ph, in_w, scratch = 0, n;
    int32_t l;
    if (width < 1 || height < 1 || width > RC_MAX_SIZE || height > RC_MAX_SIZE || max_channels < 0 ||
        max_channels > RC_LATENT_CHANNELS) {
        return -1;
    }
    pw = ((uint64_t)width + RC_DOWNSAMPLING - 1) / RC_DOWNSAMPLING * RC_DOWNSAMPLING;
    ph = ((uint64_t)height + RC_DOWNSAMPLING - 1) / RC_DOWNSAMPLING * RC_DOWNSAMPLING;
    in_w = pw;
    p->total = 0;
    for (l = 0; l < RC_NUM_LAYERS; l++) {
        const rc_conv_layer_t *L = &rc_layers[l];
        const uint64_t s = (uint64_t)RC_IM2COL_BYTES(L->kernel_h, L->kernel_w, L->in_ch);
        if (L->kernel_h > RC_MAX_KERNEL_H || L->stride_h > L->kernel_h) {
            return -1; /* the ring of kernel_h rows needs stride <= kernel_h */
        }
        scratch = s > scratch ? s : scratch;
        p->ring[l] = (uint64_t)L->kernel_h * in_w * (uint64_t)L->in_ch;
        p->ring[l] = (p->ring[l] + 3u) & ~(uint64_t)3u;
        p->total += p->ring[l];
        in_w = (in_w + (uint64_t)L->stride_w - 1u) / (uint64_t)L->stride_w;
    }
    p->scratch = scratch;
    p->latent_row = (in_w * RC_LATENT_CHANNELS + 3u) & ~(uint64_t)3u;
    n = (pw / RC_DOWNSAMPLING) * (ph / RC_DOWNSAMPLING);
    if ((uint64_t)max_channels * n * RC_LQ_BITS >= ((uint64_t)1 << 32)) {
        return -1; /* bit positions of the packed symbols are uint32 */
    }
    p->symbols = (((uint64_t)max_channels * n * RC_LQ_BITS + 7u) / 8u + 3u) & ~(uint64_t)3u;
    p->total += p->scratch + p->latent_row + p->symbols;
    if (p->total > (uint64_t)(size_t)-1) {
        return -1;
    }
    return 0;
}

size_t rc_plan(int32_t width, int32_t height, int32_t max_channels)
{
    arena_parts_t p;
    return arena_parts(width, height, max_channels, &p) == 0 ? (size_t)p.total : 0u;
}

size_t rc_plan_inter(int32_t width, int32_t height, int32_t max_channels)
{
    arena_parts_t p;
    if (arena_parts(width, height, max_channels, &p) != 0 || p.total + p.symbols > (uint64_t)(size_t)-1) {
        return 0u;
    }
    return (size_t)(p.total + p.symbols);
}

int rc_set_keyframe_interval(rc_encoder_t *enc, uint32_t n)
{
    if (enc == NULL || enc->state != 1 || enc->rows_in != 0) {
        return RC_E_STATE;
    }
    if (n < 1 || n > 0x7FFFFFFFu) {
        return RC_E_ARG;
    }
    enc->keyframe_interval = (int32_t)n;
    return RC_OK;
}

int rc_init(rc_encoder_t *enc, void *arena, size_t arena_bytes, int32_t width, int32_t height, int32_t max_channels,
            int entropy_mode, rc_sink_fn sink, void *sink_user)
{
    arena_parts_t p;
    uint8_t *a = (uint8_t *)arena;
    int32_t l;
    if (enc == NULL) {
        return RC_E_ARG;
    }
    memset(enc, 0, sizeof(*enc));
    if (sink == NULL || arena_parts(width, height, max_channels, &p) != 0 ||
        (entropy_mode != RC_ENTROPY_RAW && !(entropy_mode == RC_ENTROPY_HUFFMAN && RC_HAS_HUFFMAN) &&
         !(entropy_mode == RC_ENTROPY_CTX && RC_HAS_CTX_HUFFMAN) &&
         !(entropy_mode == RC_ENTROPY_INTER && RC_HAS_CTX_HUFFMAN && RC_HAS_INTER))) {
        return RC_E_ARG;
    }
    if (arena == NULL || arena_bytes < p.total + (entropy_mode == RC_ENTROPY_INTER ? p.symbols : 0u) ||
        ((uintptr_t)arena & 3u) != 0) {
        return RC_E_ARENA;
    }
    enc->width = width;
    enc->height = height;
    enc->h[0] = (height + RC_DOWNSAMPLING - 1) / RC_DOWNSAMPLING * RC_DOWNSAMPLING;
    enc->w[0] = (width + RC_DOWNSAMPLING - 1) / RC_DOWNSAMPLING * RC_DOWNSAMPLING;
    enc->scratch = (int16_t *)(void *)a;
    a += p.scratch;
    for (l = 0; l < RC_NUM_LAYERS; l++) {
        const rc_conv_layer_t *L = &rc_layers[l];
        const int32_t th = same_pad_total(enc->h[l], L->kernel_h, L->stride_h);
        const int32_t tw = same_pad_total(enc->w[l], L->kernel_w, L->stride_w);
        enc->pad_top[l] = pad_before(th);
        enc->pad_left[l] = pad_before(tw);
        enc->h[l + 1] = same_out(enc->h[l], L->stride_h);
        enc->w[l + 1] = same_out(enc->w[l], L->stride_w);
        enc->ring[l] = (int8_t *)a;
        a += p.ring[l];
    }
    enc->latent_row = (int8_t *)a;
    a += p.latent_row;
    enc->symbols = a;
    enc->symbol_bytes = (size_t)p.symbols;
    a += p.symbols;
    enc->prev = entropy_mode == RC_ENTROPY_INTER ? a : NULL; /* the previous frame's symbols (spec 6.7) */
    enc->prev_k = 0;
    enc->keyframe_interval = 30;
    enc->max_k = max_channels;
    enc->next_k = max_channels;
    enc->entropy = entropy_mode;
    rc_writer_init(&enc->writer, sink, sink_user);
    enc->state = 1;
    return RC_OK;
}

void rc_set_tap(rc_encoder_t *enc, rc_tap_fn tap, void *user)
{
    enc->tap = tap;
    enc->tap_user = user;
}

int rc_write_header(rc_encoder_t *enc, uint32_t fps_num, uint32_t fps_den, uint32_t frame_count)
{
    int rc;
    if (enc == NULL || enc->state != 1 || enc->rows_in != 0) {
        return RC_E_STATE;
    }
    if ((fps_num == 0) != (fps_den == 0)) {
        return RC_E_ARG;
    }
    RC_PROF_ENTER(RC_PROF_ENTROPY);
    rc = rc_stream_header(&enc->writer, (uint32_t)enc->width, (uint32_t)enc->height, enc->entropy, fps_num, fps_den,
                          frame_count);
    RC_PROF_LEAVE(RC_PROF_ENTROPY);
    return rc == 0 ? RC_OK : RC_E_SINK;
}

int rc_set_channels(rc_encoder_t *enc, int32_t k)
{
    if (enc == NULL || enc->state != 1 || enc->rows_in != 0) {
        return RC_E_STATE;
    }
    if (k < 0 || k > enc->max_k) {
        return RC_E_ARG;
    }
    enc->next_k = k;
    return RC_OK;
}

static void tap(const rc_encoder_t *enc, int tensor, int32_t row, const void *data, size_t n)
{
    if (enc->tap != NULL) {
        enc->tap(enc->tap_user, tensor, row, data, n);
    }
}

static size_t row_bytes(const rc_encoder_t *enc, int32_t l)
{
    return (size_t)enc->w[l] * (size_t)rc_layers[l].in_ch;
}

/* Layer l's input row r lives in ring slot r % kernel_h: rows oy * stride - pad_top .. + kernel_h - 1 are the
 * last kernel_h rows received when output row oy is computed (it is computed as soon as the last of them, or the
 * input's last row, has arrived), so a ring of kernel_h rows suffices. */
static const int8_t *ring_row(const rc_encoder_t *enc, int32_t l, int32_t r)
{
    return enc->ring[l] + (size_t)(r % rc_layers[l].kernel_h) * row_bytes(enc, l);
}

static int32_t last_needed(const rc_encoder_t *enc, int32_t l, int32_t oy)
{
    const int32_t r = oy * rc_layers[l].stride_h - enc->pad_top[l] + rc_layers[l].kernel_h - 1;
    return r < enc->h[l] - 1 ? r : enc->h[l] - 1;
}

static void compute_row(rc_encoder_t *enc, int32_t l, int32_t oy, int8_t *out)
{
    const rc_conv_layer_t *L = &rc_layers[l];
    const int8_t *rows[RC_MAX_KERNEL_H];
    rc_conv_layer_row_t p;
    int32_t ky;
    for (ky = 0; ky < L->kernel_h; ky++) {
        const int32_t iy = oy * L->stride_h - enc->pad_top[l] + ky;
        rows[ky] = iy >= 0 && iy < enc->h[l] ? ring_row(enc, l, iy) : NULL; /* NULL: SAME padding row */
    }
    p.weights = L->weights;
    p.bias = L->bias;
    p.multiplier = L->multiplier;
    p.shift = L->shift;
    p.in_w = enc->w[l];
    p.in_c = L->in_ch;
    p.out_w = enc->w[l + 1];
    p.out_c = L->out_ch;
    p.k_h = L->kernel_h;
    p.k_w = L->kernel_w;
    p.stride_w = L->stride_w;
    p.pad_left = enc->pad_left[l];
    p.input_offset = L->input_offset;
    p.output_offset = L->output_offset;
    p.act_min = L->act_min;
    p.act_max = L->act_max;
#ifdef BROKEN_SINGLE_ROUNDING
    p.single_rounding = 1;
#else
    p.single_rounding = RC_SINGLE_ROUNDING;
#endif
#ifdef BROKEN_WEIGHT
    if (l == RC_BROKEN_LAYER) { /* a copy of the layer's weights with one bit-flipped: the centre tap of input
                                 * channel 0 of output channel RC_BROKEN_CHANNEL (on the stack: no static RAM) */
        int8_t broken[RC_CONV2_OUT_CH * RC_CONV2_KERNEL_H * RC_CONV2_KERNEL_W * RC_CONV2_IN_CH];
        const size_t taps = (size_t)L->kernel_h * (size_t)L->kernel_w * (size_t)L->in_ch;
        const size_t at = (size_t)RC_BROKEN_CHANNEL * taps +
                          (size_t)(((L->kernel_h / 2) * L->kernel_w + L->kernel_w / 2) * L->in_ch);
        memcpy(broken, L->weights, sizeof(broken));
        broken[at] = (int8_t)~broken[at];
        p.weights = broken;
        rc_conv_row(&p, rows, out, enc->scratch);
        return;
    }
#endif
    rc_conv_row(&p, rows, out, enc->scratch);
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

/* Latent row oy is in latent_row: tap it, quantize it in place, tap the symbols, pack channels 0..k-1. */
static void finish_latent_row(rc_encoder_t *enc, int32_t oy)
{
    const int32_t lw = enc->w[RC_NUM_LAYERS];
    const uint32_t n = (uint32_t)lw * (uint32_t)enc->h[RC_NUM_LAYERS];
    uint8_t *sym = (uint8_t *)enc->latent_row;
    int32_t x, c;
    tap(enc, RC_TAP_LATENT, oy, enc->latent_row, (size_t)lw * RC_LATENT_CHANNELS);
    RC_PROF_ENTER(RC_PROF_QUANT);
    for (x = 0; x < lw; x++) {
        for (c = 0; c < RC_LATENT_CHANNELS; c++) {
            const size_t j = (size_t)x * RC_LATENT_CHANNELS + (size_t)c;
            sym[j] = quantize_latent(enc->latent_row[j], c);
        }
    }
    for (c = 0; c < enc->k; c++) {
        uint32_t pos = ((uint32_t)c * n + (uint32_t)oy * (uint32_t)lw) * RC_LQ_BITS;
        for (x = 0; x < lw; x++, pos += RC_LQ_BITS) {
            rc_pack_symbol(enc->symbols, pos, sym[(size_t)x * RC_LATENT_CHANNELS + (size_t)c]);
        }
    }
    RC_PROF_LEAVE(RC_PROF_QUANT);
    tap(enc, RC_TAP_SYMBOLS, oy, sym, (size_t)lw * RC_LATENT_CHANNELS);
}

/* Computes every output row that the rows received so far complete, deepest layer first (so a ring row is read
 * by every output row that needs it before the layer feeding the ring overwrites it), one row at a time without
 * recursion (the stack holds one layer's row pointers). in_rows: padded input rows of the frame received. */
static int pump(rc_encoder_t *enc, int32_t in_rows)
{
    for (;;) {
        int32_t l, oy;
        for (l = RC_NUM_LAYERS - 1; l >= 0; l--) {
            const int32_t avail = l == 0 ? in_rows : enc->next_out[l - 1]; /* rows of layer l's input */
            if (enc->next_out[l] < enc->h[l + 1] && last_needed(enc, l, enc->next_out[l]) < avail) {
                break;
            }
        }
        if (l < 0) {
            return RC_OK;
        }
        oy = enc->next_out[l]++;
        if (l + 1 < RC_NUM_LAYERS) {
            int8_t *out = (int8_t *)(uintptr_t)ring_row(enc, l + 1, oy);
            RC_PROF_ENTER(RC_PROF_CONV1 + l); /* RC_PROF_CONV1, _CONV2 */
            compute_row(enc, l, oy, out);
            RC_PROF_LEAVE(RC_PROF_CONV1 + l);
            tap(enc, RC_TAP_INPUT + l + 1, oy, out, row_bytes(enc, l + 1));
        } else {
            RC_PROF_ENTER(RC_PROF_CONV3);
            compute_row(enc, l, oy, enc->latent_row);
            RC_PROF_LEAVE(RC_PROF_CONV3);
            finish_latent_row(enc, oy);
            if (oy == enc->h[RC_NUM_LAYERS] - 1) {
                int rc;
                const int keyframe = enc->prev == NULL || enc->frame_index % (uint32_t)enc->keyframe_interval == 0u;
                RC_PROF_ENTER(RC_PROF_ENTROPY);
                rc = rc_stream_packet(&enc->writer, enc->frame_index, enc->symbols,
                                      enc->w[RC_NUM_LAYERS] * enc->h[RC_NUM_LAYERS], enc->k, enc->entropy,
                                      enc->w[RC_NUM_LAYERS], keyframe ? NULL : enc->prev, enc->prev_k);
                RC_PROF_LEAVE(RC_PROF_ENTROPY);
                if (enc->prev != NULL) { /* this frame is the next one's reference: swap the two buffers */
                    uint8_t *t = enc->prev;
                    enc->prev = enc->symbols;
                    enc->symbols = t;
                    enc->prev_k = enc->k;
                }
                return rc == 0 ? RC_FRAME_DONE : RC_E_SINK;
            }
        }
    }
}

/* Padded input row r (spec section 3.1: source row min(r, H - 1), last pixel replicated to the right) minus 128
 * (section 3.2) into its ring slot, then the layers it completes. */
static int input_row(rc_encoder_t *enc, int32_t r, const uint8_t *src)
{
    int8_t *dst = (int8_t *)(uintptr_t)ring_row(enc, 0, r);
    const size_t n = row_bytes(enc, 0);
    RC_PROF_ENTER(RC_PROF_CONV1);
    if (src != NULL) {
        const size_t w3 = (size_t)enc->width * 3u;
        size_t i;
        for (i = 0; i < w3; i++) {
            dst[i] = (int8_t)((int32_t)src[i] - 128);
        }
        for (; i < n; i++) {
            dst[i] = dst[i - 3];
        }
    } else {
        const int8_t *last = ring_row(enc, 0, enc->height - 1); /* below the source: its last row again */
        if (last != dst) {
            memcpy(dst, last, n);
        }
    }
    RC_PROF_LEAVE(RC_PROF_CONV1);
    tap(enc, RC_TAP_INPUT, r, dst, n);
    return pump(enc, r + 1);
}

int rc_push_rows(rc_encoder_t *enc, const uint8_t *rgb, int32_t rows, size_t stride)
{
    int32_t i;
    int rc = RC_OK;
    if (enc == NULL || enc->state != 1) {
        return RC_E_STATE;
    }
    if (rows < 0 || rows > enc->height - enc->rows_in || (rows > 0 && rgb == NULL)) {
        return RC_E_ARG;
    }
    for (i = 0; i < rows; i++) {
        if (enc->rows_in == 0) { /* a new frame */
            int32_t l;
            enc->k = enc->next_k;
            for (l = 0; l < RC_NUM_LAYERS; l++) {
                enc->next_out[l] = 0;
            }
            memset(enc->symbols, 0, enc->symbol_bytes);
        }
        rc = input_row(enc, enc->rows_in, rgb + (size_t)i * stride);
        enc->rows_in++;
        if (rc == RC_OK && enc->rows_in == enc->height) {
            int32_t r;
            for (r = enc->height; r < enc->h[0] && rc == RC_OK; r++) {
                rc = input_row(enc, r, NULL);
            }
        }
        if (rc < 0) {
            return rc;
        }
        if (rc == RC_FRAME_DONE) {
            enc->rows_in = 0;
            enc->frame_index++;
        }
    }
    return rc;
}
