/* rc_port.h -- the bare-metal Cortex-M port under QEMU (mps2-an386 Cortex-M4F, mps3-an547 Cortex-M55):
 * Arm semihosting calls, SysTick instruction counting and the exit report. Not part of the encoder library. */
#ifndef RC_PORT_H
#define RC_PORT_H

#include <stdint.h>

/* Arm semihosting operation numbers (Arm "Semihosting for AArch32 and AArch64", version 2.0). */
#define RC_SH_WRITE0 0x04
#define RC_SH_SYSTEM 0x12
#define RC_SH_GET_CMDLINE 0x15
#define RC_SH_EXIT 0x18
#define RC_SH_EXIT_EXTENDED 0x20
#define RC_SH_ADP_STOPPED_APPLICATION_EXIT 0x20026u
#define RC_SH_ADP_STOPPED_RUNTIME_ERROR 0x20023u

/* On M-profile the semihosting trap is BKPT 0xAB with the operation in r0 and the argument in r1. */
static inline int32_t rc_semihost(uint32_t op, const void *arg)
{
    register uint32_t r0 __asm__("r0") = op;
    register const void *r1 __asm__("r1") = arg;
    __asm__ volatile("bkpt 0xAB" : "+r"(r0) : "r"(r1) : "memory");
    return (int32_t)r0;
}

/* Ends the run: QEMU exits with `status` (SYS_EXIT_EXTENDED, so a 32-bit guest can pass a status at all). */
void rc_port_exit(int status) __attribute__((noreturn));

/* SysTick as an instruction counter (rc_icount.c). */
void rc_icount_start(void);
uint64_t rc_icount_ticks(void);
void rc_icount_report(void);
/* the library's profiling hooks (rc_profile.h declares them when RC_PROFILE is defined, as this port builds) */
void rc_profile_enter(int id);
void rc_profile_leave(int id);

/* Self-tests of the port (rc_selftest.c), run instead of main when argv[1] starts with "--rc-". */
int rc_port_selftest(int argc, char **argv);

/* Stack painting (startup.c): bytes of the stack ever written, by scanning for the paint. */
uint32_t rc_port_stack_peak(void);
uint32_t rc_port_stack_size(void);
/* sbrk high-water: bytes of heap ever handed to malloc. */
uint32_t rc_port_heap_peak(void);
/* the peak of bytes in live malloc blocks (rc_heap.c) */
uint32_t rc_port_heap_live_peak(void);

#endif /* RC_PORT_H */
