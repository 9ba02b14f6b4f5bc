/* main.c -- refcodec_fw: the host / semihosting front end of the encoder library (rc_encoder.h). Reads raw RGB
 * frames a few rows at a time (uneven row counts, as a camera's DMA might deliver them), feeds them to the
 * library, writes the .mcuc stream the library emits through its sink and, on request, every layer of every
 * frame (the library's tap) in the raw dump format that `refcodec verify --layers` reads.
 *
 * usage: refcodec_fw -w WIDTH -h HEIGHT [-n FRAMES] [-k K | -k K0,K1,...] [-e raw|huffman|ctx|inter] [-i N]
 *                    [-f NUM/DEN] [-d DUMP_DIR] [-v 1] INPUT.rgb OUTPUT.mcuc
 *   -k: channels sent per frame; a list gives frame i the i-th value (the last value repeats).
 *   -v 1: print RCMEM {"arena":rc_plan bytes,"state":sizeof(rc_encoder_t),"row_buffer":bytes} on stderr.
 *   -e: entropy mode; default ctx when the model has context tables, else huffman when it has tables, else raw;
 *       inter (spec section 6.7) needs the model's inter tables. -i: keyframe interval of an inter stream (30).
 *   -f: frame rate NUM/DEN, both 1..4294967295 (stored as the timing field; none without -f).
 *   INPUT.rgb: FRAMES x HEIGHT x WIDTH x 3 uint8, RGB interleaved, rows top to bottom (no header).
 *   The stream is container version 2; frame_count is stored when FRAMES > 1. It is written to OUTPUT.mcuc.tmp
 *   and renamed to OUTPUT.mcuc at the end (copied where rename fails, as under newlib semihosting); on any error
 *   the temporary file is removed and OUTPUT.mcuc is left as it was (exit 1; 2 for a bad command line).
 *   DUMP_DIR/frame_NNNN/{input,conv1,conv2,latent}.bin: int8 NHWC (N = 1) of the padded frame, raw bytes;
 *   DUMP_DIR/frame_NNNN/symbols.bin: uint8 [H/8][W/8][C] latent symbols.
 * Portable C99 + stdio (runs under newlib semihosting); creating the dump folders uses POSIX mkdir where there is
 * one (Unix, newlib), elsewhere (-DRC_NO_MKDIR) the folders must exist.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* POSIX mkdir on Unix and on newlib (whose port must supply it: firmware/arm implements it by semihosting
 * SYS_SYSTEM); -DRC_NO_MKDIR for a C library without it. */
#if !defined(RC_NO_MKDIR) && (defined(__unix__) || defined(__unix) || defined(__APPLE__) || defined(__NEWLIB__))
#include <sys/stat.h>
#include <sys/types.h>
static int make_dir(const char *path)
{
    return mkdir(path, 0777) == 0 || errno == EEXIST ? 0 : -1;
}
#else
static int make_dir(const char *path)
{
    (void)path; /* no mkdir in plain C (e.g. semihosting): the folder must exist */
    return 0;
}
#endif

#include "rc_encoder.h"
#include "rc_model.h" /* RC_LATENT_CHANNELS, RC_HAS_HUFFMAN, RC_HAS_CTX_HUFFMAN: the model's options */

#ifndef RC_HAS_INTER /* headers exported before spec 2.2, or of a model without inter tables */
#define RC_HAS_INTER 0
#endif

#define PROG "refcodec_fw"
#define MAX_ROWS_PER_CALL 3

static const char *const tensor_names[RC_TAP_COUNT] = {"input", "conv1", "conv2", "latent", "symbols"};

typedef struct {
    FILE *f[RC_TAP_COUNT];
    int error;
} dumps_t;

/* The library hands out whole rows and 32-byte stream pieces: stdio's buffers (BUFSIZ each, on the heap) would
 * only add RAM on an MCU. */
static void unbuffered(FILE *f)
{
    setvbuf(f, NULL, _IONBF, 0);
}

static int usage(void)
{
    fprintf(stderr, "usage: " PROG " -w WIDTH -h HEIGHT [-n FRAMES] [-k K[,K1,...]] [-e raw|huffman|ctx|inter] [-i N] "
                    "[-f NUM/DEN] [-d DUMP_DIR] [-v 1] INPUT.rgb OUTPUT.mcuc\n");
    return 2;
}

/* A decimal integer in [lo, hi], digits only (no sign, no spaces), ended by `end` ('\0', '/' or ','). Returns
 * the position after it, or NULL. */
static const char *parse_uint(const char *s, unsigned long lo, unsigned long hi, char end, unsigned long *out)
{
    unsigned long v = 0;
    const char *p = s;
    while (*p >= '0' && *p <= '9') {
        const unsigned long d = (unsigned long)(*p - '0');
        if (v > (hi - d) / 10u) {
            return NULL; /* above hi (and no overflow of unsigned long) */
        }
        v = v * 10u + d;
        p++;
    }
    if (p == s || *p != end || v < lo) {
        return NULL;
    }
    *out = v;
    return p;
}

/* The next value of a "-k K0,K1,..." list at *cursor. Returns 1 when a comma follows (the cursor moves past it),
 * 0 for the last value (the cursor stays, so the last value repeats for every later frame), -1 for a bad value. */
static int next_channel_count(const char **cursor, unsigned long *k)
{
    const char *e = parse_uint(*cursor, 0, RC_LATENT_CHANNELS, ',', k);
    if (e != NULL) {
        *cursor = e + 1;
        return 1;
    }
    return parse_uint(*cursor, 0, RC_LATENT_CHANNELS, '\0', k) != NULL ? 0 : -1;
}

static int sink_file(void *user, const uint8_t *data, size_t n)
{
    return fwrite(data, 1, n, (FILE *)user) == n ? 0 : -1;
}

static void tap_dump(void *user, int tensor, int32_t row, const void *data, size_t n)
{
    dumps_t *d = (dumps_t *)user;
    (void)row; /* rows of each tensor arrive in order */
    if (d->f[tensor] != NULL && fwrite(data, 1, n, d->f[tensor]) != n) {
        d->error = 1;
    }
}

static int close_dumps(dumps_t *d)
{
    int i, rc = d->error ? -1 : 0;
    for (i = 0; i < RC_TAP_COUNT; i++) {
        if (d->f[i] != NULL && fclose(d->f[i]) != 0) {
            rc = -1;
        }
        d->f[i] = NULL;
    }
    d->error = 0;
    return rc;
}

static int open_dumps(dumps_t *d, const char *dir, long frame)
{
    char path[4096];
    int i;
    if ((size_t)snprintf(path, sizeof(path), "%s/frame_%04ld/symbols.bin", dir, frame) >= sizeof(path)) {
        fprintf(stderr, PROG ": dump folder name too long\n");
        return -1;
    }
    snprintf(path, sizeof(path), "%s/frame_%04ld", dir, frame);
    if (make_dir(path) != 0) {
        fprintf(stderr, PROG ": cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (i = 0; i < RC_TAP_COUNT; i++) {
        snprintf(path, sizeof(path), "%s/frame_%04ld/%s.bin", dir, frame, tensor_names[i]);
        d->f[i] = fopen(path, "wb");
        if (d->f[i] == NULL) {
            fprintf(stderr, PROG ": cannot write %s: %s\n", path, strerror(errno));
            close_dumps(d);
            return -1;
        }
        unbuffered(d->f[i]);
    }
    return 0;
}

/* Copies src to dst (removing a partial dst on failure). Returns 0 on success. */
static int copy_file(const char *src, const char *dst)
{
    char buf[512];
    size_t n;
    int rc = 0;
    FILE *in = fopen(src, "rb"), *out = in == NULL ? NULL : fopen(dst, "wb");
    if (in == NULL || out == NULL) {
        if (in != NULL) {
            fclose(in);
        }
        return -1;
    }
    unbuffered(in);
    unbuffered(out);
    while ((n = fread(buf, 1, sizeof(buf), in)) > 0) {
        if (fwrite(buf, 1, n, out) != n) {
            rc = -1;
            break;
        }
    }
    if (ferror(in)) {
        rc = -1;
    }
    fclose(in);
    if (fclose(out) != 0) {
        rc = -1;
    }
    if (rc != 0) {
        remove(dst);
    }
    return rc;
}

/* Moves the finished temporary file onto the output. C leaves rename onto an existing file to the implementation
 * (POSIX replaces it); newlib's semihosting rename is link + unlink, which rdimon lacks: then copy. */
static int move_file(const char *tmp, const char *dst)
{
    if (rename(tmp, dst) == 0) {
        return 0;
    }
    remove(dst);
    if (rename(tmp, dst) == 0) {
        return 0;
    }
    if (copy_file(tmp, dst) != 0) {
        return -1;
    }
    remove(tmp);
    return 0;
}

int main(int argc, char **argv)
{
    unsigned long width = 0, height = 0, frames = 1, fps_num = 0, fps_den = 0, verbose = 0, v, keyframe_interval = 30;
    int entropy = RC_HAS_CTX_HUFFMAN ? RC_ENTROPY_CTX : RC_HAS_HUFFMAN ? RC_ENTROPY_HUFFMAN : RC_ENTROPY_RAW;
    const char *dump_dir = NULL, *in_path = NULL, *out_path = NULL, *k_list = NULL, *k_next;
    char *tmp_path = NULL;
    int i, rc = 1, k_max = 0, wrote_any = 0;
    unsigned long f, k = RC_LATENT_CHANNELS;
    size_t row_bytes, arena_bytes;
    uint8_t *rows = NULL;
    void *arena = NULL;
    FILE *in = NULL, *out = NULL;
    rc_encoder_t enc;
    dumps_t dumps;

    memset(&dumps, 0, sizeof(dumps));
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] != '\0' && a[2] == '\0' && i + 1 < argc) {
            const char *s = argv[++i];
            const char *p = NULL;
            switch (a[1]) {
            case 'w': p = parse_uint(s, 1, 8192, '\0', &width); break;
            case 'h': p = parse_uint(s, 1, 8192, '\0', &height); break;
            case 'n': p = parse_uint(s, 1, 0xFFFFFFFFul, '\0', &frames); break;
            case 'k': k_list = p = s; break;
            case 'd': dump_dir = p = s; break;
            case 'v': p = parse_uint(s, 0, 1, '\0', &verbose); break;
            case 'i': p = parse_uint(s, 1, 0x7FFFFFFFul, '\0', &keyframe_interval); break;
            case 'e':
                p = s;
                if (strcmp(s, "raw") == 0) {
                    entropy = RC_ENTROPY_RAW;
                } else if (strcmp(s, "huffman") == 0 && RC_HAS_HUFFMAN) {
                    entropy = RC_ENTROPY_HUFFMAN;
                } else if (strcmp(s, "ctx") == 0 && RC_HAS_CTX_HUFFMAN) {
                    entropy = RC_ENTROPY_CTX;
                } else if (strcmp(s, "inter") == 0 && RC_HAS_CTX_HUFFMAN && RC_HAS_INTER) {
                    entropy = RC_ENTROPY_INTER;
                } else {
                    fprintf(stderr, PROG ": entropy mode '%s' not available\n", s);
                    return 2;
                }
                break;
            case 'f':
                p = parse_uint(s, 1, 0xFFFFFFFFul, '/', &fps_num);
                p = p == NULL ? NULL : parse_uint(p + 1, 1, 0xFFFFFFFFul, '\0', &fps_den);
                if (p == NULL) {
                    fprintf(stderr, PROG ": bad frame rate '%s': expected NUM/DEN, both in 1..4294967295\n", s);
                    return 2;
                }
                break;
            default: return usage();
            }
            if (p == NULL) {
                fprintf(stderr, PROG ": bad value '%s' for %s\n", s, a);
                return 2;
            }
        } else if (in_path == NULL) {
            in_path = a;
        } else if (out_path == NULL) {
            out_path = a;
        } else {
            return usage();
        }
    }
    if (in_path == NULL || out_path == NULL || width == 0 || height == 0) {
        return usage();
    }
    if (k_list != NULL) { /* K or K0,K1,...: every value 0..C, checked here; the frames read it again */
        const char *p = k_list;
        int more;
        do {
            more = next_channel_count(&p, &v);
            if (more < 0) {
                fprintf(stderr, PROG ": bad channel count list '%s': values 0..%d separated by commas\n", k_list,
                        RC_LATENT_CHANNELS);
                return 2;
            }
            k_max = (int)v > k_max ? (int)v : k_max;
        } while (more);
    } else {
        k_max = RC_LATENT_CHANNELS;
    }

    arena_bytes = entropy == RC_ENTROPY_INTER ? rc_plan_inter((int32_t)width, (int32_t)height, k_max)
                                              : rc_plan((int32_t)width, (int32_t)height, k_max);
    row_bytes = (size_t)width * 3u;
    arena = malloc(arena_bytes ? arena_bytes : 1u); /* malloc's alignment suits the arena (4 bytes) */
    rows = (uint8_t *)malloc(row_bytes * MAX_ROWS_PER_CALL);
    tmp_path = (char *)malloc(strlen(out_path) + 5);
    if (arena_bytes == 0 || arena == NULL || rows == NULL || tmp_path == NULL) {
        fprintf(stderr, PROG ": out of memory\n");
        goto done;
    }
    in = fopen(in_path, "rb");
    if (in == NULL) {
        fprintf(stderr, PROG ": cannot open %s: %s\n", in_path, strerror(errno));
        goto done;
    }
    unbuffered(in);
    if (dump_dir != NULL && make_dir(dump_dir) != 0) {
        fprintf(stderr, PROG ": cannot create %s: %s\n", dump_dir, strerror(errno));
        goto done;
    }
    strcpy(tmp_path, out_path);
    strcat(tmp_path, ".tmp");
    out = fopen(tmp_path, "wb");
    if (out == NULL) {
        fprintf(stderr, PROG ": cannot write %s: %s\n", tmp_path, strerror(errno));
        goto done;
    }
    unbuffered(out);
    wrote_any = 1;
    if (rc_init(&enc, arena, arena_bytes, (int32_t)width, (int32_t)height, k_max, entropy, sink_file, out) != RC_OK) {
        fprintf(stderr, PROG ": cannot initialise the encoder\n");
        goto done;
    }
    if (entropy == RC_ENTROPY_INTER) {
        rc_set_keyframe_interval(&enc, (uint32_t)keyframe_interval);
    }
    if (dump_dir != NULL) {
        rc_set_tap(&enc, tap_dump, &dumps);
    }
    if (verbose) { /* the library's RAM besides its stack, and the front end's row buffer */
        fprintf(stderr, "RCMEM {\"arena\":%lu,\"state\":%lu,\"row_buffer\":%lu}\n", (unsigned long)arena_bytes,
                (unsigned long)sizeof(rc_encoder_t), (unsigned long)(row_bytes * MAX_ROWS_PER_CALL));
    }
    /* frame_count is written for more than one frame only (the reference encoder rule, spec section 7.1) */
    if (rc_write_header(&enc, (uint32_t)fps_num, (uint32_t)fps_den, frames > 1 ? (uint32_t)frames : 0u) != RC_OK) {
        fprintf(stderr, PROG ": cannot write %s\n", tmp_path);
        goto done;
    }
    k_next = k_list;
    for (f = 0; f < frames; f++) {
        unsigned long got = 0;
        int step = 0, r = RC_OK;
        if (k_next != NULL) {
            (void)next_channel_count(&k_next, &k); /* checked above; the last value repeats */
        }
        if (rc_set_channels(&enc, (int32_t)k) != RC_OK) {
            goto done;
        }
        if (dump_dir != NULL && open_dumps(&dumps, dump_dir, (long)f) != 0) {
            goto done;
        }
        while (got < height) {
            /* uneven row counts per call: 1, 3, 2, 1, 3, 2, ... */
            static const int pattern[MAX_ROWS_PER_CALL] = {1, 3, 2};
            unsigned long n = (unsigned long)pattern[step++ % MAX_ROWS_PER_CALL];
            n = n < height - got ? n : height - got;
            if (fread(rows, 1, row_bytes * n, in) != row_bytes * n) {
                fprintf(stderr, PROG ": %s holds fewer than %lu frames of %lux%lu\n", in_path, frames, width, height);
                goto done;
            }
            r = rc_push_rows(&enc, rows, (int32_t)n, row_bytes);
            if (r < 0) {
                fprintf(stderr, PROG ": %s at frame %lu\n",
                        r == RC_E_SINK ? "cannot write the stream" : "encoder error", f);
                goto done;
            }
            got += n;
        }
        if (r != RC_FRAME_DONE) {
            fprintf(stderr, PROG ": frame %lu did not end\n", f);
            goto done;
        }
        if (dump_dir != NULL && close_dumps(&dumps) != 0) {
            fprintf(stderr, PROG ": cannot write the layer dumps of frame %lu\n", f);
            goto done;
        }
    }
    rc = 0;
done:
    close_dumps(&dumps);
    if (in != NULL) {
        fclose(in);
    }
    if (out != NULL && fclose(out) != 0) {
        fprintf(stderr, PROG ": cannot write %s\n", tmp_path);
        rc = 1;
    }
    if (rc == 0 && move_file(tmp_path, out_path) != 0) {
        fprintf(stderr, PROG ": cannot rename %s to %s\n", tmp_path, out_path);
        rc = 1;
    }
    if (rc != 0 && wrote_any) {
        remove(tmp_path);
    }
    free(tmp_path);
    free(rows);
    free(arena);
    return rc;
}
