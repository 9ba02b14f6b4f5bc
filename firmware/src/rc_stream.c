/* rc_stream.c -- see rc_stream.h. Written from bitstream_spec/SPEC.md. */
#include "rc_stream.h"

#include <string.h>

#include "rc_crc32.h"
#include "rc_model.h"

#ifndef RC_HAS_INTER /* headers exported before spec 2.2, or of a model without inter tables */
#define RC_HAS_INTER 0
#endif

#define NSYM (1u << RC_LQ_BITS)

void rc_writer_init(rc_writer_t *w, rc_sink_fn sink, void *user)
{
    memset(w, 0, sizeof(*w));
    w->sink = sink;
    w->user = user;
    w->crc = RC_CRC32_INIT;
}

/* Hands the buffered bytes to the sink; the CRC runs over every byte on its way out. */
static void w_flush(rc_writer_t *w)
{
    if (w->n == 0) {
        return;
    }
    w->crc = rc_crc32_update(w->crc, w->buf, w->n);
    if (!w->error && w->sink(w->user, w->buf, w->n) != 0) {
        w->error = 1;
    }
    w->n = 0;
}

static void w_byte(rc_writer_t *w, uint32_t b)
{
    w->buf[w->n++] = (uint8_t)b;
    if (w->n == RC_WRITER_BUF) {
        w_flush(w);
    }
}

static void w_u16(rc_writer_t *w, uint32_t v)
{
    w_byte(w, v & 0xFFu);
    w_byte(w, (v >> 8) & 0xFFu);
}

static void w_u32(rc_writer_t *w, uint32_t v)
{
    w_u16(w, v & 0xFFFFu);
    w_u16(w, v >> 16);
}

/* Unsigned LEB128 varint (spec section 7): 7 bits per byte, low group first, bit 7 = more bytes follow. */
static void w_varint(rc_writer_t *w, uint32_t v)
{
    while (v >= 0x80u) {
        w_byte(w, (v & 0x7Fu) | 0x80u);
        v >>= 7;
    }
    w_byte(w, v);
}

/* Starts a CRC-covered section (the header, or a packet). */
static void w_begin(rc_writer_t *w)
{
    w_flush(w);
    w->crc = RC_CRC32_INIT;
}

/* Ends the section with its CRC-32 (u32 LE) and hands everything to the sink. */
static int w_end(rc_writer_t *w)
{
    uint32_t crc;
    w_flush(w);
    crc = rc_crc32_final(w->crc);
    w_u32(w, crc);
    w_flush(w);
    return w->error ? -1 : 0;
}

/* MSB-first bit packing (spec section 6.1): code of `length` bits (<= 15) appended after the pending bits. */
static void w_bits(rc_writer_t *w, uint32_t code, int32_t length)
{
    w->acc = (w->acc << length) | code;
    w->nbits += length;
    while (w->nbits >= 8) {
        w->nbits -= 8;
        w_byte(w, (w->acc >> w->nbits) & 0xFFu);
    }
    w->acc &= (1u << w->nbits) - 1u;
}

/* Pads the last byte of a chunk with zero bits. */
static void w_pad(rc_writer_t *w)
{
    if (w->nbits) {
        w_byte(w, (w->acc << (8 - w->nbits)) & 0xFFu);
    }
    w->acc = 0;
    w->nbits = 0;
}

int rc_stream_header(rc_writer_t *w, uint32_t width, uint32_t height, int entropy_mode, uint32_t fps_num,
                     uint32_t fps_den, uint32_t frame_count)
{
    int i;
    w_begin(w);
    w_byte(w, 'M');
    w_byte(w, 'C');
    w_byte(w, 'U');
    w_byte(w, 'C');
    w_byte(w, 2);                                                 /* version */
    w_byte(w, (fps_num ? 1u : 0u) | (frame_count ? 2u : 0u));     /* flags: timing, frame_count */
    for (i = 0; i < 8; i++) {
        w_byte(w, rc_model_id[i]);                                /* model id prefix */
    }
    w_u16(w, width);
    w_u16(w, height);
    w_byte(w, RC_LATENT_CHANNELS);
    w_byte(w, RC_LQ_BITS);
    w_byte(w, (uint32_t)entropy_mode);
    if (fps_num) {
        w_u32(w, fps_num);
        w_u32(w, fps_den);
    }
    if (frame_count) {
        w_u32(w, frame_count);
    }
    return w_end(w);
}

void rc_pack_symbol(uint8_t *packed, uint32_t bitpos, uint32_t value)
{
    const uint32_t byte = bitpos >> 3;
    const uint32_t v = value << (16u - (bitpos & 7u) - RC_LQ_BITS); /* the field inside a 16-bit window */
    packed[byte] |= (uint8_t)(v >> 8);
    if ((bitpos & 7u) + RC_LQ_BITS > 8u) {
        packed[byte + 1] |= (uint8_t)(v & 0xFFu);
    }
}

static uint32_t get_symbol(const uint8_t *packed, uint32_t bitpos)
{
    const uint32_t byte = bitpos >> 3;
    uint32_t v = (uint32_t)packed[byte] << 8;
    if ((bitpos & 7u) + RC_LQ_BITS > 8u) {
        v |= packed[byte + 1];
    }
    return (v >> (16u - (bitpos & 7u) - RC_LQ_BITS)) & (NSYM - 1u);
}

#if RC_HAS_HUFFMAN || RC_HAS_CTX_HUFFMAN
/* The canonical code (spec section 6.2, RFC 1951 3.2.2) of symbol s in a table of code lengths, without building
 * the table: codes are assigned in (length, symbol) order, each code of length l taking 2^(L - l) of the code
 * values of length L before s's, so code(s) = sum over the symbols t before s in that order of 2^(L - len[t]).
 * 2^b steps per coded symbol and no RAM (a 224 x 224 frame at b = 4: 150,000 steps, small next to the
 * convolutions). */
static uint32_t canonical_code(const uint8_t *lengths, uint32_t s)
{
    const uint32_t len = lengths[s];
    uint32_t code = 0, t;
    for (t = 0; t < NSYM; t++) {
        const uint32_t l = lengths[t];
        if (l != 0 && (l < len || (l == len && t < s))) {
            code += 1u << (len - l);
        }
    }
    return code;
}
#endif

/* The code lengths that symbol i (column x) of channel c is coded with: the channel's table in a Huffman stream;
 * in a context stream the row c * RC_CTX_COUNT + ctx (spec section 6.6), ctx from the left and top neighbours'
 * buckets, RC_CTX_BUCKETS where there is none. NULL in a raw stream. */
static const uint8_t *code_lengths(const uint8_t *packed, uint32_t base, int32_t i, int32_t x, int32_t latent_width,
                                   int32_t c, int entropy_mode)
{
#if RC_HAS_CTX_HUFFMAN
    if (entropy_mode == RC_ENTROPY_CTX) {
        const uint32_t left = x > 0 ? get_symbol(packed, base + (uint32_t)(i - 1) * RC_LQ_BITS) >> RC_CTX_BUCKET_SHIFT
                                    : RC_CTX_BUCKETS;
        const uint32_t top = i >= latent_width
                                 ? get_symbol(packed, base + (uint32_t)(i - latent_width) * RC_LQ_BITS) >>
                                       RC_CTX_BUCKET_SHIFT
                                 : RC_CTX_BUCKETS;
        return rc_ctx_code_lengths[(uint32_t)c * RC_CTX_COUNT + left * (RC_CTX_BUCKETS + 1u) + top];
    }
#else
    (void)packed;
    (void)base;
    (void)i;
    (void)x;
    (void)latent_width;
#endif
#if RC_HAS_HUFFMAN
    if (entropy_mode == RC_ENTROPY_HUFFMAN) {
        return rc_huffman_code_lengths[c];
    }
#else
    (void)c;
#endif
    (void)entropy_mode;
    return NULL;
}

/* Pass 1 for channel c: the chunk's mode and byte length by the reference rule (spec section 6.4): Huffman
 * (context Huffman in a ctx stream) when every symbol has a code (in its context) and the coded bytes are strictly
 * fewer than the raw bytes; raw otherwise. Returns the chunk table entry, length << 2 | mode. */
static uint32_t chunk_entry(const uint8_t *packed, int32_t n, int32_t latent_width, int32_t c, int entropy_mode)
{
    const uint32_t raw_len = (uint32_t)(((uint64_t)n * RC_LQ_BITS + 7u) / 8u);
    const uint32_t base = (uint32_t)c * (uint32_t)n * RC_LQ_BITS;
    uint64_t total_bits = 0;
    int32_t i, x = 0;
    if (entropy_mode == RC_ENTROPY_RAW) {
        return raw_len << 2 | RC_CHUNK_RAW;
    }
    for (i = 0; i < n; i++) {
        const uint8_t *lengths = code_lengths(packed, base, i, x, latent_width, c, entropy_mode);
        const uint32_t l = lengths == NULL ? 0u : lengths[get_symbol(packed, base + (uint32_t)i * RC_LQ_BITS)];
        if (l == 0) {
            return raw_len << 2 | RC_CHUNK_RAW;
        }
        total_bits += l;
        x = x + 1 == latent_width ? 0 : x + 1;
    }
    if ((total_bits + 7u) / 8u < raw_len) {
        return (uint32_t)((total_bits + 7u) / 8u) << 2 |
               (entropy_mode == RC_ENTROPY_CTX ? RC_CHUNK_CTX_HUFFMAN : RC_CHUNK_HUFFMAN);
    }
    return raw_len << 2 | RC_CHUNK_RAW;
}

/* Pass 2 for channel c: its chunk's bytes. */
static void write_chunk(rc_writer_t *w, const uint8_t *packed, int32_t n, int32_t latent_width, int32_t c,
                        int entropy_mode, uint32_t mode)
{
    const uint32_t base = (uint32_t)c * (uint32_t)n * RC_LQ_BITS;
    int32_t i, x = 0;
    for (i = 0; i < n; i++) {
        const uint32_t s = get_symbol(packed, base + (uint32_t)i * RC_LQ_BITS);
        if (mode == RC_CHUNK_RAW) {
            w_bits(w, s, RC_LQ_BITS);
        } else {
#if RC_HAS_HUFFMAN || RC_HAS_CTX_HUFFMAN
            const uint8_t *lengths = code_lengths(packed, base, i, x, latent_width, c, entropy_mode);
            w_bits(w, canonical_code(lengths, s), lengths[s]);
            x = x + 1 == latent_width ? 0 : x + 1;
#else
            (void)latent_width;
            (void)entropy_mode;
#endif
        }
    }
    w_pad(w);
}

#if RC_HAS_INTER
/* The range coder of spec section 6.7 (LZMA-style carry: a cached byte and a count of pending 0xFF bytes). With
 * w == NULL it only counts: `last` ends as the chunk's length (the output without its first byte, always 0, and
 * without trailing zero bytes). With a writer it emits the first `limit` bytes after the first one. */
typedef struct {
    uint64_t low;
    uint32_t range, cache, pending, emitted, last, limit;
    rc_writer_t *w;
} rc_range_t;

static void rr_emit(rc_range_t *r, uint32_t byte)
{
    const uint32_t i = r->emitted++; /* byte i of the coder's output; byte 0 is dropped */
    if (i == 0) {
        return;
    }
    if (r->w == NULL) {
        if (byte != 0) {
            r->last = i;
        }
    } else if (i <= r->limit) {
        w_byte(r->w, byte);
    }
}

static void rr_shift_low(rc_range_t *r)
{
    if ((uint32_t)r->low < 0xFF000000u || (r->low >> 32) != 0) {
        const uint32_t carry = (uint32_t)(r->low >> 32);
        rr_emit(r, (r->cache + carry) & 0xFFu);
        for (; r->pending > 1; r->pending--) {
            rr_emit(r, (0xFFu + carry) & 0xFFu);
        }
        r->pending = 0;
        r->cache = (uint32_t)(r->low >> 24) & 0xFFu;
    }
    r->pending++;
    r->low = (r->low & 0x00FFFFFFu) << 8;
}

/* Runs the coder over channel c (contexts of spec section 6.7.1 from packed and ref); returns the chunk length
 * (counting) or writes the chunk of length `limit`. */
static uint32_t range_chunk(rc_writer_t *w, uint32_t limit, const uint8_t *packed, const uint8_t *ref, int32_t n,
                            int32_t latent_width, int32_t c)
{
    const uint32_t base = (uint32_t)c * (uint32_t)n * RC_LQ_BITS;
    rc_range_t r;
    uint64_t end;
    int32_t i, x = 0, s_bits;
    r.low = 0;
    r.range = 0xFFFFFFFFu;
    r.cache = 0;
    r.pending = 1;
    r.emitted = 0;
    r.last = 0;
    r.limit = limit;
    r.w = w;
    for (i = 0; i < n; i++) {
        const uint32_t pos = base + (uint32_t)i * RC_LQ_BITS;
        const uint32_t s = get_symbol(packed, pos), rs = get_symbol(ref, pos);
        uint32_t m = 0, ctx, q;
        if (x > 0) {
            const uint32_t p = pos - RC_LQ_BITS;
            m += get_symbol(packed, p) != get_symbol(ref, p);
        }
        if (i >= latent_width) {
            const uint32_t p = pos - (uint32_t)latent_width * RC_LQ_BITS;
            m += get_symbol(packed, p) != get_symbol(ref, p);
            if (x > 0) {
                m += get_symbol(packed, p - RC_LQ_BITS) != get_symbol(ref, p - RC_LQ_BITS);
            }
            if (x + 1 < latent_width) {
                m += get_symbol(packed, p + RC_LQ_BITS) != get_symbol(ref, p + RC_LQ_BITS);
            }
        }
        ctx = rs * 3u + (m < 2u ? m : 2u);
        q = r.range >> 12;
        r.low += (uint64_t)q * rc_inter_cum[ctx][s];
        r.range = q * rc_inter_freq[ctx][s];
        while (r.range < (1u << 24)) {
            r.range <<= 8;
            rr_shift_low(&r);
        }
        x = x + 1 == latent_width ? 0 : x + 1;
    }
    end = r.low + r.range; /* termination (spec section 6.7.3): the value with the most trailing zero bytes */
    for (s_bits = 32; s_bits >= 0; s_bits -= 8) {
        const uint64_t mask = ((uint64_t)1 << s_bits) - 1u;
        const uint64_t v = (r.low + mask) & ~mask;
        if (v < end) {
            r.low = v;
            break;
        }
    }
    for (i = 0; i < 5; i++) {
        rr_shift_low(&r);
    }
    return r.last;
}
#endif

int rc_stream_packet(rc_writer_t *w, uint32_t frame_index, const uint8_t *packed, int32_t n_symbols, int32_t k,
                     int entropy_mode, int32_t latent_width, const uint8_t *ref, int32_t ref_k)
{
    uint32_t entry[RC_LATENT_CHANNELS];
    const int intra_mode = entropy_mode == RC_ENTROPY_INTER ? RC_ENTROPY_CTX : entropy_mode;
    int32_t c;
    if (k < 0 || k > RC_LATENT_CHANNELS || latent_width < 1) {
        return -1;
    }
    for (c = 0; c < k; c++) {
        entry[c] = chunk_entry(packed, n_symbols, latent_width, c, intra_mode);
#if RC_HAS_INTER
        if (entropy_mode == RC_ENTROPY_INTER && ref != NULL && c < ref_k) {
            const uint32_t len = range_chunk(NULL, 0, packed, ref, n_symbols, latent_width, c);
            if (len < entry[c] >> 2) { /* strictly shorter than the intra chunk (ties: intra) */
                entry[c] = len << 2 | RC_CHUNK_INTER;
            }
        }
#endif
    }
#if !RC_HAS_INTER
    (void)ref;
    (void)ref_k;
#endif
    w_begin(w);
    w_byte(w, 'M');
    w_byte(w, 'F');
    w_varint(w, frame_index);
    w_byte(w, (uint32_t)k);
    for (c = 0; c < k; c++) {
        w_varint(w, entry[c]);
    }
    for (c = 0; c < k; c++) {
#if RC_HAS_INTER
        if ((entry[c] & 3u) == RC_CHUNK_INTER) {
            (void)range_chunk(w, entry[c] >> 2, packed, ref, n_symbols, latent_width, c);
            continue;
        }
#endif
        write_chunk(w, packed, n_symbols, latent_width, c, intra_mode, entry[c] & 3u);
    }
    return w_end(w);
}
