/* main.c -- refcodec_fw: a portable C99 firmware stand-in. Reads raw RGB frames, runs the INT8 encoder of the
 * exported model header (rc_model.h) with CMSIS-NN semantics, writes an .mcuc stream and, on request, the
 * int8 tensor of every layer in refcodec's raw layer-dump format.
 *
 * usage: refcodec_fw -w WIDTH -h HEIGHT [-n FRAMES] [-k CHANNELS] [-e raw|huffman|ctx] [-f NUM/DEN]
 *                    [-d DUMP_DIR] INPUT.rgb OUTPUT.mcuc
 *   -e: entropy mode; default ctx when the model has context tables, else huffman when it has tables, else raw.
 *   INPUT.rgb: FRAMES x HEIGHT x WIDTH x 3 uint8, RGB interleaved, rows top to bottom (no header).
 *   The stream is container version 2; -f stores a frame rate (none without it), frame_count is stored when
 *   FRAMES > 1.
 *   DUMP_DIR/frame_NNNN/{input,conv1,conv2,latent}.bin: int8 NHWC (N = 1) of the padded frame, raw bytes;
 *   DUMP_DIR/frame_NNNN/symbols.bin: uint8 [H/8][W/8][C] latent symbols.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rc_encoder.h"
#include "rc_stream.h"

static const char *const tensor_names[RC_NUM_TENSORS] = {"input", "conv1", "conv2", "latent"};

static int usage(void)
{
    fprintf(stderr, "usage: refcodec_fw -w WIDTH -h HEIGHT [-n FRAMES] [-k CHANNELS] [-e raw|huffman|ctx] "
                    "[-f NUM/DEN] [-d DUMP_DIR] INPUT.rgb OUTPUT.mcuc\n");
    return 2;
}

static int write_file(const char *path, const void *data, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (f == NULL) {
        fprintf(stderr, "refcodec_fw: cannot write %s: %s\n", path, strerror(errno));
        return -1;
    }
    if (n && fwrite(data, 1, n, f) != n) {
        fclose(f);
        fprintf(stderr, "refcodec_fw: short write to %s\n", path);
        return -1;
    }
    return fclose(f) == 0 ? 0 : -1;
}

static int dump_frame(const char *dir, long frame, const rc_encoder_t *enc)
{
    char path[4096];
    int i;
    snprintf(path, sizeof(path), "%s/frame_%04ld", dir, frame);
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "refcodec_fw: cannot create %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (i = 0; i < RC_NUM_TENSORS; i++) {
        snprintf(path, sizeof(path), "%s/frame_%04ld/%s.bin", dir, frame, tensor_names[i]);
        if (write_file(path, enc->tensor[i], (size_t)enc->h[i] * enc->w[i] * enc->c[i]) != 0) {
            return -1;
        }
    }
    snprintf(path, sizeof(path), "%s/frame_%04ld/symbols.bin", dir, frame);
    return write_file(path, enc->symbols,
                      (size_t)enc->h[RC_NUM_LAYERS] * enc->w[RC_NUM_LAYERS] * RC_LATENT_CHANNELS);
}

int main(int argc, char **argv)
{
    long width = 0, height = 0, frames = 1, channels = RC_LATENT_CHANNELS;
    unsigned long fps_num = 0, fps_den = 0; /* no -f: no timing field (a still image or unknown rate) */
    int entropy = RC_HAS_CTX_HUFFMAN ? RC_ENTROPY_CTX : RC_HAS_HUFFMAN ? RC_ENTROPY_HUFFMAN : RC_ENTROPY_RAW;
    const char *dump_dir = NULL, *in_path = NULL, *out_path = NULL;
    int i, rc = 1;
    long f;
    size_t frame_bytes;
    int32_t ph, pw;
    uint8_t *frame = NULL, *padded = NULL, *packet = NULL;
    uint8_t header[RC_HEADER_MAX_SIZE];
    size_t header_len;
    size_t packet_cap, packet_len;
    FILE *in = NULL, *out = NULL;
    rc_encoder_t enc;

    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] == '-' && a[1] != '\0' && a[2] == '\0' && i + 1 < argc) {
            const char *v = argv[++i];
            switch (a[1]) {
            case 'w': width = strtol(v, NULL, 10); break;
            case 'h': height = strtol(v, NULL, 10); break;
            case 'n': frames = strtol(v, NULL, 10); break;
            case 'k': channels = strtol(v, NULL, 10); break;
            case 'd': dump_dir = v; break;
            case 'e':
                if (strcmp(v, "raw") == 0) {
                    entropy = RC_ENTROPY_RAW;
                } else if (strcmp(v, "huffman") == 0 && RC_HAS_HUFFMAN) {
                    entropy = RC_ENTROPY_HUFFMAN;
                } else if (strcmp(v, "ctx") == 0 && RC_HAS_CTX_HUFFMAN) {
                    entropy = RC_ENTROPY_CTX;
                } else {
                    fprintf(stderr, "refcodec_fw: entropy mode '%s' not available\n", v);
                    return 2;
                }
                break;
            case 'f':
                if (sscanf(v, "%lu/%lu", &fps_num, &fps_den) != 2 || fps_num == 0 || fps_den == 0) {
                    fprintf(stderr, "refcodec_fw: bad frame rate '%s'\n", v);
                    return 2;
                }
                break;
            default: return usage();
            }
        } else if (in_path == NULL) {
            in_path = a;
        } else if (out_path == NULL) {
            out_path = a;
        } else {
            return usage();
        }
    }
    if (in_path == NULL || out_path == NULL || width < 1 || height < 1 || width > 8192 || height > 8192 ||
        frames < 1 || channels < 0 || channels > RC_LATENT_CHANNELS) {
        return usage();
    }
    pw = (int32_t)((width + RC_DOWNSAMPLING - 1) / RC_DOWNSAMPLING * RC_DOWNSAMPLING);
    ph = (int32_t)((height + RC_DOWNSAMPLING - 1) / RC_DOWNSAMPLING * RC_DOWNSAMPLING);
    if (rc_encoder_init(&enc, ph, pw) != 0) {
        fprintf(stderr, "refcodec_fw: out of memory\n");
        return 1;
    }
    frame_bytes = (size_t)width * (size_t)height * 3u;
    frame = (uint8_t *)malloc(frame_bytes);
    padded = (uint8_t *)malloc((size_t)pw * (size_t)ph * 3u);
    packet_cap = rc_packet_max_size((int32_t)channels, enc.h[RC_NUM_LAYERS] * enc.w[RC_NUM_LAYERS]);
    packet = (uint8_t *)malloc(packet_cap);
    if (frame == NULL || padded == NULL || packet == NULL) {
        fprintf(stderr, "refcodec_fw: out of memory\n");
        goto done;
    }
    in = fopen(in_path, "rb");
    if (in == NULL) {
        fprintf(stderr, "refcodec_fw: cannot open %s: %s\n", in_path, strerror(errno));
        goto done;
    }
    out = fopen(out_path, "wb");
    if (out == NULL) {
        fprintf(stderr, "refcodec_fw: cannot write %s: %s\n", out_path, strerror(errno));
        goto done;
    }
    if (dump_dir != NULL && mkdir(dump_dir, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "refcodec_fw: cannot create %s: %s\n", dump_dir, strerror(errno));
        goto done;
    }
    rc_stream_init();
    /* frame_count is written for more than one frame only (the reference encoder rule, spec section 7.1) */
    header_len = rc_stream_header(header, (uint32_t)width, (uint32_t)height, entropy, (uint32_t)fps_num,
                                  (uint32_t)fps_den, frames > 1 ? (uint32_t)frames : 0u);
    if (fwrite(header, 1, header_len, out) != header_len) {
        goto done;
    }
    for (f = 0; f < frames; f++) {
        if (fread(frame, 1, frame_bytes, in) != frame_bytes) {
            fprintf(stderr, "refcodec_fw: %s holds fewer than %ld frames of %ldx%ld\n", in_path, frames, width,
                    height);
            goto done;
        }
        rc_pad_frame(frame, (int32_t)height, (int32_t)width, padded, ph, pw);
        rc_encoder_run(&enc, padded);
        if (dump_dir != NULL && dump_frame(dump_dir, f, &enc) != 0) {
            goto done;
        }
        packet_len = rc_stream_packet(packet, packet_cap, (uint32_t)f, enc.symbols,
                                      enc.h[RC_NUM_LAYERS] * enc.w[RC_NUM_LAYERS], (int32_t)channels, entropy,
                                      enc.w[RC_NUM_LAYERS]);
        if (packet_len == 0 || fwrite(packet, 1, packet_len, out) != packet_len) {
            fprintf(stderr, "refcodec_fw: cannot write frame %ld\n", f);
            goto done;
        }
    }
    rc = 0;
done:
    if (in != NULL) {
        fclose(in);
    }
    if (out != NULL && fclose(out) != 0) {
        rc = 1;
    }
    free(frame);
    free(padded);
    free(packet);
    rc_encoder_free(&enc);
    return rc;
}
