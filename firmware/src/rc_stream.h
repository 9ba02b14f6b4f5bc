/* rc_stream.h -- the .mcuc container writer (bitstream_spec/SPEC.md sections 6-7) that streams through a byte
 * sink: stream header, frame packets with one chunk per latent channel (raw bit-packing, static canonical
 * Huffman or context Huffman), CRC-32 computed on the way. No packet buffer and no code tables in RAM: a packet
 * is coded in two passes over the frame's packed symbols (pass 1 sums the code lengths per channel, which gives
 * each chunk's length and mode by the rule of spec section 6.4 and so the chunk table; pass 2 writes the codes),
 * and a canonical code is computed from the code lengths (flash) when it is written. Little-endian fields. */
#ifndef RC_STREAM_H
#define RC_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define RC_HEADER_MAX_SIZE 37   /* container version 2: 25 bytes + 8 (timing) + 4 (frame_count), CRC included */
#define RC_ENTROPY_RAW 0
#define RC_ENTROPY_HUFFMAN 1
#define RC_ENTROPY_CTX 2        /* context Huffman, spec section 6.6 */
#define RC_ENTROPY_INTER 4      /* context Huffman + inter chunks, spec section 6.7 (spec 2.2) */
#define RC_CHUNK_RAW 0
#define RC_CHUNK_HUFFMAN 1
#define RC_CHUNK_CTX_HUFFMAN 2
#define RC_CHUNK_INTER 3        /* range coded against the previous frame's channel, spec section 6.7 */
#define RC_MAX_CODE_LENGTH 15
#define RC_WRITER_BUF 32        /* bytes handed to the sink at a time (the last call of a packet may be shorter) */

/* The byte sink: receives the stream in order, in pieces of 1..RC_WRITER_BUF bytes. Returns 0, or non-zero to
 * report an error (the encoder then returns RC_E_SINK). */
typedef int (*rc_sink_fn)(void *user, const uint8_t *data, size_t n);

/* Writer state: a small output buffer, the running CRC-32 and the bit accumulator. */
typedef struct {
    rc_sink_fn sink;
    void *user;
    uint32_t crc;
    uint32_t acc;
    int32_t nbits;
    int32_t error;
    size_t n;
    uint8_t buf[RC_WRITER_BUF];
} rc_writer_t;

void rc_writer_init(rc_writer_t *w, rc_sink_fn sink, void *user);

/* The version 2 stream header (spec section 7.1) for a width x height source (before padding). fps_num = 0: no
 * timing field; frame_count = 0: no frame_count field. Its `channels` is the model's C (RC_LATENT_CHANNELS), its
 * model id the first 8 bytes of rc_model_id. Returns 0, or -1 if the sink failed. */
int rc_stream_header(rc_writer_t *w, uint32_t width, uint32_t height, int entropy_mode, uint32_t fps_num,
                     uint32_t fps_den, uint32_t frame_count);

/* Packed symbols: channel c's symbol i (raster order, n per channel) is the RC_LQ_BITS-bit field at bit
 * (c * n + i) * RC_LQ_BITS, MSB first (bit 7 of byte 0 is bit 0): ceil(k * n * RC_LQ_BITS / 8) bytes. */
void rc_pack_symbol(uint8_t *packed, uint32_t bitpos, uint32_t value); /* packed must start zeroed */

/* One version 2 frame packet (spec section 7.2) of channels 0..k-1 of packed (n_symbols per channel,
 * latent_width per row: the context of spec section 6.6). In an inter stream (RC_ENTROPY_INTER) ref is the
 * previous frame's packed symbols (same layout) and ref_k its channel count, or NULL for a keyframe: channel
 * c < ref_k is coded inter when its range-coded chunk is strictly shorter than the intra one (spec section
 * 6.7.5; pass 1 runs the range coder counting bytes, pass 2 runs it again writing them). Returns 0, or -1 if the
 * sink failed. */
int rc_stream_packet(rc_writer_t *w, uint32_t frame_index, const uint8_t *packed, int32_t n_symbols, int32_t k,
                     int entropy_mode, int32_t latent_width, const uint8_t *ref, int32_t ref_k);

#endif /* RC_STREAM_H */
