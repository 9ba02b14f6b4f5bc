/* rc_encoder.h -- the INT8 encoder of the exported model (rc_model.h), layer by layer (spec sections 3-5). */
#ifndef RC_ENCODER_H
#define RC_ENCODER_H

#include <stdint.h>

#include "rc_model.h"

#define RC_NUM_TENSORS (RC_NUM_LAYERS + 1) /* input, conv1, conv2, latent */

typedef struct {
    int32_t height, width;                  /* padded frame size, multiples of RC_DOWNSAMPLING */
    int32_t h[RC_NUM_TENSORS], w[RC_NUM_TENSORS], c[RC_NUM_TENSORS]; /* NHWC shapes (N = 1) */
    int8_t *tensor[RC_NUM_TENSORS];         /* int8 HWC each; tensor[RC_NUM_LAYERS] is the latent */
    uint8_t *symbols;                       /* uint8 [h/8][w/8][RC_LATENT_CHANNELS] */
} rc_encoder_t;

/* Allocates the tensors for a height x width frame (multiples of 8). Returns 0 on success. */
int rc_encoder_init(rc_encoder_t *enc, int32_t height, int32_t width);
void rc_encoder_free(rc_encoder_t *enc);

/* rgb: uint8 [height][width][3] (already padded). Fills every tensor and the symbols. */
void rc_encoder_run(rc_encoder_t *enc, const uint8_t *rgb);

/* Frame preparation (spec section 3.1): copy a w x h frame into a pw x ph buffer, replicating the last row and
 * column at the bottom / right. */
void rc_pad_frame(const uint8_t *rgb, int32_t h, int32_t w, uint8_t *out, int32_t ph, int32_t pw);

#endif /* RC_ENCODER_H */
