/* rc_stream.c -- see rc_stream.h. Written from bitstream_spec/SPEC.md. */
#include "rc_stream.h"

#include <string.h>

#include "rc_crc32.h"
#include "rc_model.h"

static void put_u16(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
}

static void put_u32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v & 0xFFu);
    p[1] = (uint8_t)((v >> 8) & 0xFFu);
    p[2] = (uint8_t)((v >> 16) & 0xFFu);
    p[3] = (uint8_t)((v >> 24) & 0xFFu);
}

/* Unsigned LEB128 varint (spec section 7.2): 7 bits per byte, low group first, bit 7 = more bytes follow.
 * Returns the number of bytes written (1..5). */
static size_t put_varint(uint8_t *p, uint32_t v)
{
    size_t n = 0;
    while (v >= 0x80u) {
        p[n++] = (uint8_t)((v & 0x7Fu) | 0x80u);
        v >>= 7;
    }
    p[n++] = (uint8_t)v;
    return n;
}

size_t rc_stream_header(uint8_t out[RC_HEADER_MAX_SIZE], uint32_t width, uint32_t height, int entropy_mode,
                        uint32_t fps_num, uint32_t fps_den, uint32_t frame_count)
{
    size_t pos = 21;
    memcpy(out, "MCUC", 4);
    out[4] = 2;                                                      /* version */
    out[5] = (uint8_t)((fps_num ? 1u : 0u) | (frame_count ? 2u : 0u)); /* flags: timing, frame_count */
    memcpy(out + 6, rc_model_id, 8);                                 /* model id prefix */
    put_u16(out + 14, width);
    put_u16(out + 16, height);
    out[18] = (uint8_t)RC_LATENT_CHANNELS;
    out[19] = (uint8_t)RC_LQ_BITS;
    out[20] = (uint8_t)entropy_mode;
    if (fps_num) {
        put_u32(out + pos, fps_num);
        put_u32(out + pos + 4, fps_den);
        pos += 8;
    }
    if (frame_count) {
        put_u32(out + pos, frame_count);
        pos += 4;
    }
    put_u32(out + pos, rc_crc32(out, pos));
    return pos + 4;
}

size_t rc_packet_max_size(int32_t k, int32_t n_symbols)
{
    /* a chunk is never longer than its raw form: ceil(n * bits / 8) */
    return RC_PACKET_HEAD_MAX + (size_t)k * (RC_CHUNK_ENTRY_MAX + ((size_t)n_symbols * RC_LQ_BITS + 7u) / 8u) + 4u;
}

/* MSB-first bit writer (spec: bit packing): the first bit of a chunk is bit 7 of its byte 0; the last byte is
 * padded with zero bits. */
typedef struct {
    uint8_t *out;
    size_t n;
    uint32_t acc;
    int nbits;
} bitwriter_t;

static void bw_put(bitwriter_t *bw, uint32_t value, int length)
{
    int i;
    for (i = length - 1; i >= 0; i--) {
        bw->acc = (bw->acc << 1) | ((value >> i) & 1u);
        bw->nbits++;
        if (bw->nbits == 8) {
            bw->out[bw->n++] = (uint8_t)bw->acc;
            bw->acc = 0;
            bw->nbits = 0;
        }
    }
}

static size_t bw_finish(bitwriter_t *bw)
{
    if (bw->nbits) {
        bw->out[bw->n++] = (uint8_t)(bw->acc << (8 - bw->nbits));
        bw->acc = 0;
        bw->nbits = 0;
    }
    return bw->n;
}

#if RC_HAS_HUFFMAN || RC_HAS_CTX_HUFFMAN
/* Canonical codes from code lengths (RFC 1951 section 3.2.2); codes are at most 15 bits. */
static void canonical_codes(const uint8_t *lengths, uint16_t *codes)
{
    uint32_t bl_count[RC_MAX_CODE_LENGTH + 1];
    uint32_t next_code[RC_MAX_CODE_LENGTH + 1];
    uint32_t code = 0;
    int s, l;
    memset(bl_count, 0, sizeof(bl_count));
    for (s = 0; s < (1 << RC_LQ_BITS); s++) {
        bl_count[lengths[s]]++;
    }
    bl_count[0] = 0;
    next_code[0] = 0;
    for (l = 1; l <= RC_MAX_CODE_LENGTH; l++) {
        code = (code + bl_count[l - 1]) << 1;
        next_code[l] = code;
    }
    for (s = 0; s < (1 << RC_LQ_BITS); s++) {
        codes[s] = (uint16_t)(lengths[s] ? next_code[lengths[s]]++ : 0u);
    }
}
#endif

#if RC_HAS_CTX_HUFFMAN
/* Canonical codes of the context tables of ONE channel, built when that channel's chunk is context-coded
 * (RC_CTX_COUNT x 2^b x 2 bytes: 9 KiB at b = 4) instead of all channels at start-up (C times that, 108 KiB at
 * C = 12): an MCU keeps only the code lengths in flash. Building a channel's codes costs a few operations per
 * table entry, small next to the convolutions. */
static uint16_t ctx_codes[RC_CTX_COUNT][1 << RC_LQ_BITS];

/* Table row of symbol i (raster order, column x) of channel c (spec section 6.6): c * RC_CTX_COUNT + ctx, ctx from
 * the left and top neighbours' buckets, RC_CTX_BUCKETS where there is none. No division: the caller tracks x. */
static int32_t symbol_context(const uint8_t *symbols, int32_t i, int32_t x, int32_t latent_width, int32_t c)
{
    const int32_t left = x > 0 ? symbols[(size_t)(i - 1) * RC_LATENT_CHANNELS + c] >> RC_CTX_BUCKET_SHIFT
                               : RC_CTX_BUCKETS;
    const int32_t top = i >= latent_width
                            ? symbols[(size_t)(i - latent_width) * RC_LATENT_CHANNELS + c] >> RC_CTX_BUCKET_SHIFT
                            : RC_CTX_BUCKETS;
    return c * RC_CTX_COUNT + left * (RC_CTX_BUCKETS + 1) + top;
}
#endif

void rc_stream_init(void)
{
    /* Nothing to precompute: context codes are built per channel in code_channel (kept for API stability). */
}

/* Codes channel c into out; returns the chunk length and sets *mode. Reference encoder rule (spec section
 * 6.4): Huffman (context Huffman in a ctx stream) when every symbol of the channel has a code (in its context)
 * and the coded bytes are strictly fewer than the raw bytes; raw otherwise. */
static size_t code_channel(uint8_t *out, const uint8_t *symbols, int32_t n_symbols, int32_t latent_width,
                           int32_t c, int entropy_mode, int *mode)
{
    bitwriter_t bw;
    int32_t i;
#if RC_HAS_CTX_HUFFMAN
    if (entropy_mode == RC_ENTROPY_CTX) {
        const size_t raw_len = ((size_t)n_symbols * RC_LQ_BITS + 7u) / 8u;
        uint64_t total_bits = 0;
        int codable = 1;
        int32_t x = 0;
        for (i = 0; i < n_symbols; i++) {
            const uint8_t l = rc_ctx_code_lengths[symbol_context(symbols, i, x, latent_width, c)]
                                                 [symbols[(size_t)i * RC_LATENT_CHANNELS + c]];
            if (l == 0) {
                codable = 0;
                break;
            }
            total_bits += l;
            x = x + 1 == latent_width ? 0 : x + 1;
        }
        if (codable && (total_bits + 7u) / 8u < raw_len) {
            bw.out = out;
            bw.n = 0;
            bw.acc = 0;
            bw.nbits = 0;
            x = 0;
            for (i = 0; i < RC_CTX_COUNT; i++) {
                canonical_codes(rc_ctx_code_lengths[c * RC_CTX_COUNT + i], ctx_codes[i]);
            }
            for (i = 0; i < n_symbols; i++) {
                const int32_t row = symbol_context(symbols, i, x, latent_width, c);
                const uint8_t s = symbols[(size_t)i * RC_LATENT_CHANNELS + c];
                bw_put(&bw, ctx_codes[row - c * RC_CTX_COUNT][s], rc_ctx_code_lengths[row][s]);
                x = x + 1 == latent_width ? 0 : x + 1;
            }
            *mode = RC_CHUNK_CTX_HUFFMAN;
            return bw_finish(&bw);
        }
    }
#else
    (void)latent_width;
#endif
#if RC_HAS_HUFFMAN
    if (entropy_mode == RC_ENTROPY_HUFFMAN) {
        const size_t raw_len = ((size_t)n_symbols * RC_LQ_BITS + 7u) / 8u;
        const uint8_t *lengths = rc_huffman_code_lengths[c];
        uint64_t total_bits = 0;
        int codable = 1;
        for (i = 0; i < n_symbols; i++) {
            const uint8_t l = lengths[symbols[(size_t)i * RC_LATENT_CHANNELS + c]];
            if (l == 0) {
                codable = 0;
                break;
            }
            total_bits += l;
        }
        if (codable && (total_bits + 7u) / 8u < raw_len) {
            uint16_t codes[1 << RC_LQ_BITS];
            canonical_codes(lengths, codes);
            bw.out = out;
            bw.n = 0;
            bw.acc = 0;
            bw.nbits = 0;
            for (i = 0; i < n_symbols; i++) {
                const uint8_t s = symbols[(size_t)i * RC_LATENT_CHANNELS + c];
                bw_put(&bw, codes[s], lengths[s]);
            }
            *mode = RC_CHUNK_HUFFMAN;
            return bw_finish(&bw);
        }
    }
#else
    (void)entropy_mode;
#endif
    bw.out = out;
    bw.n = 0;
    bw.acc = 0;
    bw.nbits = 0;
    for (i = 0; i < n_symbols; i++) {
        bw_put(&bw, symbols[(size_t)i * RC_LATENT_CHANNELS + c], RC_LQ_BITS);
    }
    *mode = RC_CHUNK_RAW;
    return bw_finish(&bw);
}

size_t rc_stream_packet(uint8_t *out, size_t cap, uint32_t frame_index, const uint8_t *symbols, int32_t n_symbols,
                        int32_t k, int entropy_mode, int32_t latent_width)
{
    uint32_t entry[RC_LATENT_CHANNELS];
    size_t head, table, data, len_sum = 0;
    int32_t c;
    if (k < 0 || k > RC_LATENT_CHANNELS || cap < rc_packet_max_size(k, n_symbols) || latent_width < 1) {
        return 0;
    }
    memcpy(out, "MF", 2);
    head = 2 + put_varint(out + 2, frame_index);
    out[head++] = (uint8_t)k;
    /* The table's size is known only after coding (varint entries): code the chunks behind room for the largest
     * table, write the table, then move the chunk data down to follow it. */
    data = head + (size_t)k * RC_CHUNK_ENTRY_MAX;
    for (c = 0; c < k; c++) {
        int mode = RC_CHUNK_RAW;
        const size_t len = code_channel(out + data + len_sum, symbols, n_symbols, latent_width, c, entropy_mode,
                                        &mode);
        entry[c] = ((uint32_t)len << 2) | (uint32_t)mode;
        len_sum += len;
    }
    table = head;
    for (c = 0; c < k; c++) {
        table += put_varint(out + table, entry[c]);
    }
    memmove(out + table, out + data, len_sum);
    put_u32(out + table + len_sum, rc_crc32(out, table + len_sum));
    return table + len_sum + 4;
}
