/* rc_stream.h -- the .mcuc container writer (bitstream_spec/SPEC.md): stream header, frame packets with one
 * chunk per latent channel (raw bit-packing, static canonical Huffman or context Huffman), CRC-32. Little-endian
 * fields. */
#ifndef RC_STREAM_H
#define RC_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define RC_HEADER_MAX_SIZE 37   /* container version 2: 25 bytes + 8 (timing) + 4 (frame_count), CRC included */
#define RC_PACKET_HEAD_MAX 8    /* sync 2 + frame_index varint (<= 5) + k 1 */
#define RC_CHUNK_ENTRY_MAX 4    /* varint of length << 2 | mode, length < 2^24: at most 4 bytes */
#define RC_ENTROPY_RAW 0
#define RC_ENTROPY_HUFFMAN 1
#define RC_ENTROPY_CTX 2        /* context Huffman, spec section 6.6 */
#define RC_CHUNK_RAW 0
#define RC_CHUNK_HUFFMAN 1
#define RC_CHUNK_CTX_HUFFMAN 2
#define RC_MAX_CODE_LENGTH 15

/* The version 2 stream header (spec section 7.1) for a width x height source (before padding); returns its size
 * (25..37 bytes). fps_num = 0: no timing field (a still image or unknown rate); frame_count = 0: no frame_count
 * field (open-ended). Its `channels` is the model's C (RC_LATENT_CHANNELS), whatever number of channels the
 * packets carry; its model id is the first 8 bytes of rc_model_id. */
size_t rc_stream_header(uint8_t out[RC_HEADER_MAX_SIZE], uint32_t width, uint32_t height, int entropy_mode,
                        uint32_t fps_num, uint32_t fps_den, uint32_t frame_count);

/* Upper bound of a packet's size for k channels of n_symbols symbols each. */
size_t rc_packet_max_size(int32_t k, int32_t n_symbols);

/* Nothing to do: the context tables' canonical codes are built per channel while coding (9 KiB of RAM at b = 4
 * instead of 108 KiB for all channels). Kept so that callers written for the earlier version still build. */
void rc_stream_init(void);

/* One version 2 frame packet (spec section 7.2): symbols uint8 [n_symbols][RC_LATENT_CHANNELS] (HWC), channels
 * 0..k-1 coded; latent_width: symbols per row (the context of spec section 6.6). Returns the packet size, or 0 if
 * it does not fit in cap. */
size_t rc_stream_packet(uint8_t *out, size_t cap, uint32_t frame_index, const uint8_t *symbols, int32_t n_symbols,
                        int32_t k, int entropy_mode, int32_t latent_width);

#endif /* RC_STREAM_H */
