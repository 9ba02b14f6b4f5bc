/* rc_profile.h -- optional profiling hooks of the encoder library. Without RC_PROFILE they compile to nothing.
 * A port that defines RC_PROFILE (e.g. the QEMU Cortex-M build, which counts instructions with SysTick)
 * implements rc_profile_enter / rc_profile_leave; the library brackets each stage of its work with them. */
#ifndef RC_PROFILE_H
#define RC_PROFILE_H

enum {
    RC_PROF_CONV1 = 0,   /* conv1 rows (including input conversion and padding) */
    RC_PROF_CONV2 = 1,   /* conv2 rows */
    RC_PROF_CONV3 = 2,   /* conv3 rows */
    RC_PROF_QUANT = 3,   /* latent quantizer and symbol packing */
    RC_PROF_ENTROPY = 4, /* entropy coding, packet, CRC, sink */
    RC_PROF_COUNT = 5
};

#ifdef RC_PROFILE
void rc_profile_enter(int id);
void rc_profile_leave(int id);
#define RC_PROF_ENTER(id) rc_profile_enter(id)
#define RC_PROF_LEAVE(id) rc_profile_leave(id)
#else
#define RC_PROF_ENTER(id) ((void)0)
#define RC_PROF_LEAVE(id) ((void)0)
#endif

#endif /* RC_PROFILE_H */
