/* rc_crc32.c -- table-driven CRC-32, the usual Cortex-M loop: crc = table[(crc ^ byte) & 0xFF] ^ (crc >> 8). */
#include "rc_crc32.h"

static uint32_t table[256];
static int table_ready = 0;

static void make_table(void)
{
    uint32_t n, c;
    int k;
    for (n = 0; n < 256; n++) {
        c = n;
        for (k = 0; k < 8; k++) {
            c = (c & 1u) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
        }
        table[n] = c;
    }
    table_ready = 1;
}

uint32_t rc_crc32(const uint8_t *data, size_t n)
{
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    if (!table_ready) {
        make_table();
    }
    for (i = 0; i < n; i++) {
        crc = table[(crc ^ data[i]) & 0xFFu] ^ (crc >> 8);
    }
#ifdef BROKEN_CRC
    return crc;
#else
    return crc ^ 0xFFFFFFFFu;
#endif
}
