/* rc_crc32.h -- CRC-32 of the container (spec section 7.3): reflected polynomial 0xEDB88320, init 0xFFFFFFFF,
 * final XOR 0xFFFFFFFF (zlib / PNG); check value rc_crc32("123456789", 9) == 0xCBF43926.
 * Incremental: crc = RC_CRC32_INIT; crc = rc_crc32_update(crc, part, n) for each part; rc_crc32_final(crc).
 * No RAM: a 16-entry (64-byte) constant table, two lookups per byte.
 * -DBROKEN_CRC (tests of `refcodec verify` only) drops the final XOR. */
#ifndef RC_CRC32_H
#define RC_CRC32_H

#include <stddef.h>
#include <stdint.h>

#define RC_CRC32_INIT 0xFFFFFFFFu

uint32_t rc_crc32_update(uint32_t crc, const uint8_t *data, size_t n);
uint32_t rc_crc32_final(uint32_t crc);
uint32_t rc_crc32(const uint8_t *data, size_t n);

#endif /* RC_CRC32_H */
