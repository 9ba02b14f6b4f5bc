/* rc_selftest.c -- self-tests of the QEMU port, run instead of the program's main when the first argument starts
 * with "--rc-" (tests/test_firmware_qemu.py runs them on both cores):
 *
 *   --rc-calibrate N...  for each N, the SysTick ticks of a loop of exactly 2N instructions (subs + bne per
 *                        iteration): `RCCAL {"n":N,"loop_instructions":2N,"ticks":T}`. The slope of T over 2N is
 *                        SysTick's rate per instruction (1e9 / cpu_hz under -icount shift=0).
 *   --rc-profile N       the same loop between rc_profile_enter/leave(RC_PROF_CONV1), the library's hooks: the
 *                        RCPROF line's conv1 stage must hold about 2N instructions, one call.
 *   --rc-stack N         touches N bytes of stack in a callee: RCPROF's stack_peak must be at least N (painting).
 *   --rc-heap N          mallocs and touches N bytes: RCPROF's heap_peak must be at least N (sbrk high-water).
 *   --rc-mkdir PATH      mkdir(PATH) (startup.c: `mkdir -p` on the host through SYS_SYSTEM), then writes PATH/ok.
 *   --rc-nocp            disables the FPU in CPACR, then does a float operation: the UsageFault (NOCP) that the
 *                        reset code avoids by enabling CPACR first; the fault handler reports it, exit 134.
 *   --rc-fault           reads an address with nothing behind it: a BusFault/HardFault, reported, exit 134.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "rc_port.h"
#include "rc_profile.h"

static void spin(uint32_t n)
{
    __asm__ volatile("1: subs %0, %0, #1\n"
                     "bne 1b\n"
                     : "+r"(n)
                     :
                     : "cc");
}

static int calibrate(int argc, char **argv)
{
    int i;
    for (i = 2; i < argc; i++) {
        uint32_t n = (uint32_t)strtoul(argv[i], NULL, 10);
        uint64_t t0, t1;
        if (n == 0) {
            return 2;
        }
        t0 = rc_icount_ticks();
        spin(n);
        t1 = rc_icount_ticks();
        fprintf(stderr, "RCCAL {\"n\":%lu,\"loop_instructions\":%llu,\"ticks\":%llu}\n", (unsigned long)n,
                2ull * n, (unsigned long long)(t1 - t0));
    }
    return 0;
}

__attribute__((noinline)) static uint32_t use_stack(uint32_t n)
{
    volatile uint8_t buf[256 * 1024];
    uint32_t i, sum = 0;
    if (n > sizeof(buf)) {
        n = sizeof(buf);
    }
    /* write from the far end of buf (lowest address used = deepest stack) */
    for (i = 0; i < n; i++) {
        buf[sizeof(buf) - n + i] = (uint8_t)i;
    }
    for (i = 0; i < n; i++) {
        sum += buf[sizeof(buf) - n + i];
    }
    return sum;
}

int rc_port_selftest(int argc, char **argv)
{
    const char *t = argv[1];
    uint32_t n = argc > 2 ? (uint32_t)strtoul(argv[2], NULL, 10) : 0;
    if (strcmp(t, "--rc-calibrate") == 0) {
        return calibrate(argc, argv);
    }
    if (strcmp(t, "--rc-profile") == 0 && n > 0) {
        rc_profile_enter(RC_PROF_CONV1);
        spin(n);
        rc_profile_leave(RC_PROF_CONV1);
        return 0;
    }
    if (strcmp(t, "--rc-stack") == 0 && n > 0 && n + 4096 < rc_port_stack_size()) {
        return use_stack(n) == 0xFFFFFFFFu;
    }
    if (strcmp(t, "--rc-heap") == 0 && n > 0) {
        uint8_t *p = (uint8_t *)malloc(n);
        if (p == NULL) {
            return 1;
        }
        memset(p, 0x5A, n);
        free(p);
        return 0;
    }
    if (strcmp(t, "--rc-mkdir") == 0 && argc > 2) {
        char path[512];
        FILE *f;
        if (mkdir(argv[2], 0777) != 0 || (size_t)snprintf(path, sizeof(path), "%s/ok", argv[2]) >= sizeof(path)) {
            return 1;
        }
        f = fopen(path, "wb");
        return f == NULL || fclose(f) != 0;
    }
    if (strcmp(t, "--rc-nocp") == 0) {
        volatile float x = 1.5f;
        *(volatile uint32_t *)0xE000ED88u &= ~0x00F00000u;
        __asm__ volatile("dsb\nisb" ::: "memory");
        x = x * 3.0f;
        return (int)x;
    }
    if (strcmp(t, "--rc-fault") == 0) {
        return (int)*(volatile uint32_t *)0xF0000000u;
    }
    fprintf(stderr, "rc_port: unknown self-test %s\n", t);
    return 2;
}
