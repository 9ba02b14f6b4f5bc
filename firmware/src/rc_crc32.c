/* rc_crc32.c -- CRC-32 (spec section 7.3), four bits at a time: the byte-wise table of the spec, split in two
 * nibble steps, so the table is 16 constants in flash (64 bytes) instead of 256 (1 KiB) or a RAM table. */
#include "rc_crc32.h"

/* nibble_table[n] = n shifted through the reflected polynomial 4 times (the spec's table rule with 4 steps) */
static const uint32_t nibble_table[16] = {
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu, 0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu,
};

uint32_t rc_crc32_update(uint32_t crc, const uint8_t *data, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        crc ^= data[i];
        crc = (crc >> 4) ^ nibble_table[crc & 0x0Fu];
        crc = (crc >> 4) ^ nibble_table[crc & 0x0Fu];
    }
    return crc;
}

uint32_t rc_crc32_final(uint32_t crc)
{
#ifdef BROKEN_CRC
    return crc;
#else
    return crc ^ 0xFFFFFFFFu;
#endif
}

uint32_t rc_crc32(const uint8_t *data, size_t n)
{
    return rc_crc32_final(rc_crc32_update(RC_CRC32_INIT, data, n));
}
