/* rc_dsp.h -- the three Armv7E-M DSP operations the convolution kernel uses, as ACLE intrinsics on a core with
 * the DSP extension (__ARM_FEATURE_DSP: Cortex-M4/M7/M33/M55...) and as portable C under -DRC_EMULATE_DSP, so
 * that the host tests run the DSP kernel's code path and compare its bytes with the plain-C kernel's.
 *
 *   rc_sxtb16(x)      = [sext(x.b0), sext(x.b2)]   (two int16 halves; ACLE __sxtb16, instruction SXTB16)
 *   rc_sxtb16_r8(x)   = [sext(x.b1), sext(x.b3)]   (__sxtb16(__ror(x, 8)), SXTB16 with ROR #8)
 *   rc_smlad(x, y, a) = a + x.lo * y.lo + x.hi * y.hi   (__smlad, SMLAD: two 16x16 multiply-accumulates; the sum
 *                       wraps modulo 2^32 and sets the Q flag on overflow, which the accumulator bound of spec
 *                       section 4.3 rules out)
 * Halfword "lo" is the one at the lower address when a pair of int16 is read as one 32-bit word: the code assumes
 * a little-endian core (every Cortex-M here, x86).
 *
 * RC_USE_DSP is 1 when the DSP kernel is compiled (real or emulated), 0 for the plain-C kernel. -DRC_NO_DSP forces
 * plain C on a DSP core. */
#ifndef RC_DSP_H
#define RC_DSP_H

#include <stdint.h>

#if defined(RC_EMULATE_DSP)
#define RC_USE_DSP 1
static inline uint32_t rc_sxtb16(uint32_t x)
{
    const uint32_t lo = (uint32_t)(int32_t)(int8_t)(uint8_t)(x & 0xFFu) & 0xFFFFu;
    const uint32_t hi = (uint32_t)(int32_t)(int8_t)(uint8_t)((x >> 16) & 0xFFu) & 0xFFFFu;
    return lo | (hi << 16);
}
static inline uint32_t rc_sxtb16_r8(uint32_t x)
{
    return rc_sxtb16((x >> 8) | (x << 24));
}
static inline int32_t rc_smlad(uint32_t x, uint32_t y, int32_t acc)
{
    const int32_t lo = (int32_t)(int16_t)(uint16_t)(x & 0xFFFFu) * (int32_t)(int16_t)(uint16_t)(y & 0xFFFFu);
    const int32_t hi = (int32_t)(int16_t)(uint16_t)(x >> 16) * (int32_t)(int16_t)(uint16_t)(y >> 16);
    return (int32_t)((uint32_t)acc + (uint32_t)lo + (uint32_t)hi);
}
#elif defined(__ARM_FEATURE_DSP) && !defined(RC_NO_DSP)
#define RC_USE_DSP 1
#include <arm_acle.h>
static inline uint32_t rc_sxtb16(uint32_t x)
{
    return (uint32_t)__sxtb16((int8x4_t)x);
}
static inline uint32_t rc_sxtb16_r8(uint32_t x)
{
#if defined(__GNUC__) && !defined(__clang__)
    /* gcc 12's arm_acle.h has no __ror, and gcc does not fold a rotate into SXTB16's ROR #8 operand: one
     * instruction instead of two (ROR + SXTB16) in the kernel's inner loop */
    uint32_t r;
    __asm__("sxtb16 %0, %1, ror #8" : "=r"(r) : "r"(x));
    return r;
#else
    return (uint32_t)__sxtb16((int8x4_t)__ror(x, 8));
#endif
}
static inline int32_t rc_smlad(uint32_t x, uint32_t y, int32_t acc)
{
    return __smlad((int16x2_t)x, (int16x2_t)y, acc);
}
#else
#define RC_USE_DSP 0
#endif

#endif /* RC_DSP_H */
