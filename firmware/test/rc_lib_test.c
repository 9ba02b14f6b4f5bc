/* rc_lib_test.c -- a host test driver of the encoder library (tests/test_firmware_library.py), not firmware.
 *
 *   rc_lib_test plan K WxH [WxH ...]     prints rc_plan(W, H, K) for each size, one per line
 *   rc_lib_test stack W H raw|huffman|ctx
 *       encodes two synthetic frames (12 channels, rows 1..5 at a time, a sink that only counts) on a POSIX thread
 *       whose 256 KiB stack was painted first, and prints the bytes of that stack ever written beyond what an
 *       idle thread writes: the library's stack peak on this host plus this driver's small frame
 *   rc_lib_test encode W H FRAMES K0[,K1,...] raw|huffman|ctx SEED IN.rgb OUT.mcuc
 *       encodes like refcodec_fw, but feeds each frame in random row counts (1..H, from SEED) with a random row
 *       stride, into an arena of exactly rc_plan bytes that starts filled with random bytes and is followed by
 *       guard bytes; checks the guard, the sink's piece sizes and the API's refusals (rc_set_channels inside a
 *       frame, too many rows, a short or misaligned arena). Exit 0 on success.
 */
#define _POSIX_C_SOURCE 200112L /* pthread: the stack measurement only */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rc_encoder.h"
#include "rc_model.h"

#define GUARD 64

static uint32_t rng_state;

static uint32_t rnd(void) /* xorshift32 */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return rng_state;
}

static int fail(const char *what)
{
    fprintf(stderr, "rc_lib_test: %s\n", what);
    return 1;
}

static int sink(void *user, const uint8_t *data, size_t n)
{
    if (n == 0 || n > RC_WRITER_BUF) {
        fprintf(stderr, "rc_lib_test: sink got %lu bytes\n", (unsigned long)n);
        return -1;
    }
    return fwrite(data, 1, n, (FILE *)user) == n ? 0 : -1;
}

static int plan(int argc, char **argv)
{
    int i;
    const int k = atoi(argv[2]);
    for (i = 3; i < argc; i++) {
        long w = 0, h = 0;
        if (sscanf(argv[i], "%ldx%ld", &w, &h) != 2) {
            return fail("bad size");
        }
        printf("%lu\n", (unsigned long)(strcmp(argv[1], "plan_inter") == 0 ? rc_plan_inter((int32_t)w, (int32_t)h, k)
                                                                           : rc_plan((int32_t)w, (int32_t)h, k)));
    }
    return 0;
}

static int encode(char **argv)
{
    const int32_t w = atoi(argv[2]), h = atoi(argv[3]);
    const long frames = atol(argv[4]);
    const char *klist = argv[5];
    const int entropy = strcmp(argv[6], "raw") == 0 ? RC_ENTROPY_RAW
                        : strcmp(argv[6], "huffman") == 0 ? RC_ENTROPY_HUFFMAN : RC_ENTROPY_CTX;
    int32_t k_max = 0, k = 0;
    const char *p;
    size_t bytes, stride, i;
    uint8_t *arena, *frame, *rows;
    FILE *in, *out;
    rc_encoder_t enc;
    long f;
    int rc = 0;
    rng_state = (uint32_t)strtoul(argv[7], NULL, 10) * 2654435761u + 1u;
    for (p = klist; *p; p++) {
        const int32_t v = atoi(p);
        k_max = v > k_max ? v : k_max;
        while (p[1] && *p != ',') {
            p++;
        }
    }
    bytes = rc_plan(w, h, k_max);
    if (bytes == 0) {
        return fail("rc_plan refused the size");
    }
    stride = (size_t)w * 3u + rnd() % 7u;
    arena = (uint8_t *)malloc(bytes + GUARD + 4);
    frame = (uint8_t *)malloc((size_t)w * h * 3u);
    rows = (uint8_t *)malloc(stride * (size_t)h);
    in = fopen(argv[8], "rb");
    out = fopen(argv[9], "wb");
    if (arena == NULL || frame == NULL || rows == NULL || in == NULL || out == NULL) {
        return fail("setup");
    }
    for (i = 0; i < bytes + GUARD + 4; i++) {
        arena[i] = (uint8_t)rnd(); /* the library must not rely on a zeroed arena */
    }
    for (i = 0; i < GUARD; i++) {
        arena[bytes + i] = 0xA5;
    }
    if (rc_init(&enc, arena, bytes - 1, w, h, k_max, entropy, sink, out) != RC_E_ARENA ||
        rc_init(&enc, arena + 2, bytes, w, h, k_max, entropy, sink, out) != RC_E_ARENA ||
        rc_init(&enc, arena, bytes, w, h, k_max, entropy, NULL, out) != RC_E_ARG ||
        rc_init(&enc, arena, bytes, w, h, RC_LATENT_CHANNELS + 1, entropy, sink, out) != RC_E_ARG ||
        rc_init(&enc, arena, bytes, w, h, -1, entropy, sink, out) != RC_E_ARG) {
        return fail("rc_init accepted a bad arena or argument");
    }
    if (rc_init(&enc, arena, bytes, w, h, k_max, entropy, sink, out) != RC_OK ||
        rc_write_header(&enc, 0, 0, frames > 1 ? (uint32_t)frames : 0u) != RC_OK) {
        return fail("init / header");
    }
    p = klist;
    for (f = 0; f < frames && rc == 0; f++) {
        int32_t got = 0, r = RC_OK;
        k = atoi(p);
        if (strchr(p, ',') != NULL) {
            p = strchr(p, ',') + 1;
        }
        if (rc_set_channels(&enc, k) != RC_OK || rc_set_channels(&enc, k_max + 1) != RC_E_ARG) {
            return fail("rc_set_channels");
        }
        if (fread(frame, 1, (size_t)w * h * 3u, in) != (size_t)w * h * 3u) {
            return fail("short input");
        }
        for (i = 0; i < (size_t)h; i++) {
            memcpy(rows + i * stride, frame + i * (size_t)w * 3u, (size_t)w * 3u);
        }
        while (got < h) {
            /* mostly small counts, sometimes the rest of the frame */
            int32_t n = (rnd() % 4u == 0) ? h - got : (int32_t)(1u + rnd() % 9u);
            n = n < h - got ? n : h - got;
            r = rc_push_rows(&enc, rows + (size_t)got * stride, n, stride);
            if (r < 0) {
                return fail("rc_push_rows failed");
            }
            got += n;
            if (got < h) {
                if (r != RC_OK || rc_set_channels(&enc, k) != RC_E_STATE ||
                    rc_push_rows(&enc, rows, h - got + 1, stride) != RC_E_ARG) {
                    return fail("the API accepted a call out of order");
                }
            }
        }
        if (r != RC_FRAME_DONE) {
            return fail("the frame's last row did not end the frame");
        }
    }
    for (i = 0; i < GUARD; i++) {
        if (arena[bytes + i] != 0xA5) {
            return fail("the library wrote past rc_plan bytes");
        }
    }
    if (fclose(out) != 0) {
        return fail("close");
    }
    fclose(in);
    free(arena);
    free(frame);
    free(rows);
    return 0;
}

#define STACK_BYTES (256u * 1024u)
#define PAINT 0xC5

typedef struct {
    int32_t w, h;
    int entropy;
    int rc;
    size_t sunk;
    uint8_t *arena, *rows; /* allocated outside the measured thread (malloc's own stack use is not measured) */
} stack_job_t;

static int count_sink(void *user, const uint8_t *data, size_t n)
{
    (void)data;
    ((stack_job_t *)user)->sunk += n;
    return 0;
}

static void *stack_job(void *arg)
{
    stack_job_t *job = (stack_job_t *)arg;
    const size_t bytes = rc_plan(job->w, job->h, RC_LATENT_CHANNELS);
    const size_t row = (size_t)job->w * 3u;
    uint8_t *arena = job->arena, *rows = job->rows;
    rc_encoder_t enc;
    int f, r = RC_OK;
    size_t i;
    job->rc = 1;
    if (arena == NULL || rows == NULL ||
        rc_init(&enc, arena, bytes, job->w, job->h, RC_LATENT_CHANNELS, job->entropy, count_sink, job) != RC_OK ||
        rc_write_header(&enc, 30, 1, 2) != RC_OK) {
        return NULL;
    }
    for (f = 0; f < 2; f++) {
        int32_t got = 0, step = 0;
        while (got < job->h) {
            int32_t n = 1 + step++ % 5;
            n = n < job->h - got ? n : job->h - got;
            for (i = 0; i < row * (size_t)n; i++) {
                rows[i] = (uint8_t)(rnd() >> 7); /* noise: every symbol, long codes */
            }
            r = rc_push_rows(&enc, rows, n, row);
            got += n;
        }
        if (r != RC_FRAME_DONE) {
            return NULL;
        }
    }
    job->rc = 0;
    return NULL;
}

static void *idle_job(void *arg)
{
    return arg;
}

/* Bytes of a painted 256 KiB thread stack ever written while `job` runs. glibc keeps the thread's descriptor and
 * static TLS at the top of the stack it is given, so a thread that does nothing is measured too and subtracted. */
static size_t stack_used(void *(*fn)(void *), void *arg)
{
    pthread_attr_t attr;
    pthread_t thread;
    uint8_t *mem = (uint8_t *)malloc(STACK_BYTES);
    size_t untouched = 0;
    if (mem == NULL) {
        return 0;
    }
    memset(mem, PAINT, STACK_BYTES);
    if (pthread_attr_init(&attr) != 0 || pthread_attr_setstack(&attr, mem, STACK_BYTES) != 0 ||
        pthread_create(&thread, &attr, fn, arg) != 0 || pthread_join(thread, NULL) != 0) {
        free(mem);
        return 0;
    }
    while (untouched < STACK_BYTES && mem[untouched] == PAINT) { /* the stack grows down from mem + STACK_BYTES */
        untouched++;
    }
    free(mem);
    return STACK_BYTES - untouched;
}

static int stack(char **argv)
{
    stack_job_t job;
    size_t base, used;
    job.w = atoi(argv[2]);
    job.h = atoi(argv[3]);
    job.entropy = strcmp(argv[4], "raw") == 0 ? RC_ENTROPY_RAW
                  : strcmp(argv[4], "huffman") == 0 ? RC_ENTROPY_HUFFMAN : RC_ENTROPY_CTX;
    job.sunk = 0;
    job.arena = (uint8_t *)malloc(rc_plan(job.w, job.h, RC_LATENT_CHANNELS) + 1u);
    job.rows = (uint8_t *)malloc((size_t)job.w * 3u * 5u);
    rng_state = 12345u;
    if (job.arena == NULL || job.rows == NULL) {
        return fail("no memory");
    }
    {
        /* bind memcpy / memset now: a lazily bound first call inside the thread would run the dynamic linker's
         * resolver on the measured stack (it saves the vector registers there, kilobytes) */
        void *(*volatile cp)(void *, const void *, size_t) = memcpy;
        void *(*volatile set)(void *, int, size_t) = memset;
        cp(job.rows, job.arena, 1);
        set(job.rows, 0, 1);
    }
    base = stack_used(idle_job, NULL);
    used = stack_used(stack_job, &job);
    free(job.arena);
    free(job.rows);
    if (base == 0 || used == 0 || job.rc != 0) {
        return fail("stack measurement failed");
    }
    printf("%lu\n", (unsigned long)(used - base));
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "stack") == 0) {
        return stack(argv);
    }
    if (argc >= 3 && (strcmp(argv[1], "plan") == 0 || strcmp(argv[1], "plan_inter") == 0)) {
        return plan(argc, argv);
    }
    if (argc == 10 && strcmp(argv[1], "encode") == 0) {
        return encode(argv);
    }
    return fail("usage: rc_lib_test plan K WxH... | encode W H FRAMES KLIST ENTROPY SEED IN OUT | stack W H ENTROPY");
}
