/* rc_encoder.h -- refcodec's INT8 encoder as an embeddable C99 library (spec sections 3-7): no malloc, no stdio.
 *
 *   size_t bytes = rc_plan(W, H, K_MAX);                  arena bytes for W x H frames, up to K_MAX channels
 *   rc_encoder_t enc;                                     the state (a few hundred bytes, caller's memory)
 *   rc_init(&enc, arena, bytes, W, H, K_MAX, RC_ENTROPY_CTX, sink, sink_user);
 *   rc_write_header(&enc, fps_num, fps_den, frame_count); the stream header, through the sink
 *   per frame: rc_set_channels(&enc, k);                  optional, k <= K_MAX for the next frame
 *              rc_push_rows(&enc, rgb, rows, stride);     any number of source rows per call, top to bottom;
 *                                                         returns RC_FRAME_DONE after the frame's last row,
 *                                                         when its packet has gone through the sink
 *
 * Line-buffered schedule (same bytes as layer by layer): the arena holds ring buffers of the last rows each
 * convolution reads (conv1 7 input rows, conv2 5 conv1 rows, conv3 3 conv2 rows), one latent row, the frame's
 * latent symbols packed at RC_LQ_BITS bits (a packet's per-channel chunks need the whole plane) and the im2col
 * scratch of rc_conv_row. Each output row is computed as soon as its last input row has arrived. The frame is
 * padded (spec section 3.1: bottom / right replication) by the library: the caller passes the W x H source.
 * The arena must be 4-byte aligned; rc_plan's figure does not depend on the target (no pointers in it). */
#ifndef RC_ENCODER_H
#define RC_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "rc_stream.h"

/* The public header does not include the model header (rc_model.h, `refcodec export c-header`): only the
 * library's own files do, so an application can include this header anywhere. */
#define RC_ENC_LAYERS 3    /* conv1, conv2, conv3 (rc_encoder.c checks that rc_model.h agrees) */

#define RC_OK 0
#define RC_FRAME_DONE 1    /* rc_push_rows: the frame's last row arrived and its packet was written */
#define RC_E_ARG (-1)      /* bad argument: size, k, entropy mode, too many rows, NULL */
#define RC_E_ARENA (-2)    /* arena smaller than rc_plan's figure or not 4-byte aligned */
#define RC_E_SINK (-3)     /* the sink returned an error */
#define RC_E_STATE (-4)    /* call out of order (rc_set_channels inside a frame, rows before rc_init) */

#define RC_MAX_SIZE 65535  /* width, height: u16 fields of the stream header */

/* Tensors reported to the tap, one row at a time, in the order they are computed. */
#define RC_TAP_INPUT 0     /* int8 [W'][3], the padded frame's row minus 128 (rows 0..H'-1) */
#define RC_TAP_CONV1 1     /* int8 [W'/2][16] */
#define RC_TAP_CONV2 2     /* int8 [W'/8][16] */
#define RC_TAP_LATENT 3    /* int8 [W'/8][C] */
#define RC_TAP_SYMBOLS 4   /* uint8 [W'/8][C], all C channels whatever k is */
#define RC_TAP_COUNT 5

/* Optional observer of every computed row (e.g. the host front end's layer dumps for `refcodec verify`). */
typedef void (*rc_tap_fn)(void *user, int tensor, int32_t row, const void *data, size_t n);

typedef struct {
    int32_t width, height;                 /* source size */
    int32_t h[RC_ENC_LAYERS + 1], w[RC_ENC_LAYERS + 1]; /* rows / columns: padded input, conv1, conv2, latent */
    int32_t pad_top[RC_ENC_LAYERS], pad_left[RC_ENC_LAYERS];
    int32_t max_k, k, next_k, entropy;
    int32_t rows_in;                       /* source rows of the current frame received */
    int32_t next_out[RC_ENC_LAYERS];       /* next row of layer l's output to compute */
    uint32_t frame_index;
    int32_t state;                         /* 0: not initialised, 1: ready */
    int8_t *ring[RC_ENC_LAYERS];           /* layer l's input rows (last kernel_h of them) */
    int8_t *latent_row;
    uint8_t *symbols;
    uint8_t *prev;                         /* inter streams: the previous frame's packed symbols (else NULL) */
    int32_t prev_k, keyframe_interval;
    int16_t *scratch;
    size_t symbol_bytes;
    rc_tap_fn tap;
    void *tap_user;
    rc_writer_t writer;
} rc_encoder_t;

/* Arena bytes for width x height source frames (1..RC_MAX_SIZE) and up to max_channels (0..C, the model's
 * RC_LATENT_CHANNELS)
 * channels per packet; 0 for an invalid size. The formula (W' = 8 * ceil(W / 8), H' likewise; b = the model's RC_LQ_BITS):
 *   RC_IM2COL_BYTES of the largest layer                         im2col scratch, 2 columns of int16
 * + sum over layers l of kernel_h(l) * in_w(l) * in_c(l)         ring buffers (in_w = W', W'/2, W'/8)
 * + (W'/8) * C                                                   one latent row
 * + 4 * ceil(ceil(max_channels * (H'/8) * (W'/8) * b / 8) / 4)   packed symbols of the frame */
size_t rc_plan(int32_t width, int32_t height, int32_t max_channels);

/* Arena bytes of an inter stream (RC_ENTROPY_INTER, spec section 6.7): rc_plan plus the previous frame's packed
 * symbols (the same size as the frame's: 4 * ceil(ceil(max_channels * (H'/8) * (W'/8) * b / 8) / 4)). */
size_t rc_plan_inter(int32_t width, int32_t height, int32_t max_channels);

/* Inter streams: frames 0, n, 2n, ... are keyframes (default 30); only between frames. */
int rc_set_keyframe_interval(rc_encoder_t *enc, uint32_t n);

int rc_init(rc_encoder_t *enc, void *arena, size_t arena_bytes, int32_t width, int32_t height, int32_t max_channels,
            int entropy_mode, rc_sink_fn sink, void *sink_user);
void rc_set_tap(rc_encoder_t *enc, rc_tap_fn tap, void *user);

/* The stream header (spec section 7.1): fps_num = 0 for no timing (then fps_den = 0 too), frame_count = 0 for
 * none. Not inside a frame. After RC_E_SINK the stream is broken: start again with rc_init. */
int rc_write_header(rc_encoder_t *enc, uint32_t fps_num, uint32_t fps_den, uint32_t frame_count);

/* Channels (0..max_channels) of the next frame's packet; only between frames. Default max_channels. */
int rc_set_channels(rc_encoder_t *enc, int32_t k);

/* rows source rows (1 <= rows <= rows left in the frame; 0 does nothing), each width * 3 bytes of RGB, row r at
 * rgb + r * stride. Returns RC_OK, RC_FRAME_DONE when the frame's last row was among them, or an RC_E_*. */
int rc_push_rows(rc_encoder_t *enc, const uint8_t *rgb, int32_t rows, size_t stride);

#endif /* RC_ENCODER_H */
