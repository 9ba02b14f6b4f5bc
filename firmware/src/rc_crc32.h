/* rc_crc32.h -- CRC-32 of the container (spec: CRC-32): reflected polynomial 0xEDB88320, init 0xFFFFFFFF,
 * final XOR 0xFFFFFFFF (zlib / PNG); check value rc_crc32("123456789", 9) == 0xCBF43926.
 * -DBROKEN_CRC (tests of `refcodec verify` only) drops the final XOR. */
#ifndef RC_CRC32_H
#define RC_CRC32_H

#include <stddef.h>
#include <stdint.h>

uint32_t rc_crc32(const uint8_t *data, size_t n);

#endif /* RC_CRC32_H */
