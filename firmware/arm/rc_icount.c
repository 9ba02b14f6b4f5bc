/* rc_icount.c -- instruction counting with SysTick under `qemu-system-arm -icount shift=0`, the library's
 * profiling hooks (rc_profile.h: rc_profile_enter / rc_profile_leave) and the exit report.
 *
 * What SysTick counts (measured, see firmware/arm/README.md and `--rc-calibrate`): with -icount shift=0 QEMU's
 * virtual clock advances 1 ns per guest instruction (2^shift ns), and SysTick with CLKSOURCE = processor
 * clock decrements at the board's CPU clock in that virtual time: 25 MHz on mps2-an386, 32 MHz on
 * mps3-an547. So one tick is 1e9 / RC_CPU_HZ instructions (40 on the M4, 31.25 on the M55), not one: the
 * count is exact in the mean with a resolution of one tick per read. The 24-bit counter wraps every 2^24
 * ticks (671M instructions on the M4); the SysTick interrupt counts the wraps.
 *
 * Report at a successful exit (status 0; startup.c), one line on stderr (unbuffered; QEMU prints it on its stderr):
 *   RCPROF {"board":..., "cpu_hz":..., "ticks":..., "instructions":..., "stack_peak":..., "stack_size":...,
 *           "heap_peak":..., "heap_live_peak":..., "stages":{"conv1":{"calls":..,"ticks":..,"instructions":..}, ...}}
 * "instructions" = ticks * 1e9 / cpu_hz (icount shift 0). Stage figures are sums over all frames.
 */
#include <stdint.h>
#include <stdio.h>

#include "rc_port.h"
#include "rc_profile.h"

#ifndef RC_CPU_HZ
#error "RC_CPU_HZ (the board's SysTick processor clock) must be defined"
#endif
#ifndef RC_BOARD
#error "RC_BOARD (the QEMU machine name) must be defined"
#endif

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SCB_ICSR (*(volatile uint32_t *)0xE000ED04u)
#define SYST_RELOAD 0x00FFFFFFu
#define ICSR_PENDSTSET (1u << 26)

static volatile uint32_t systick_wraps;
static const char *const stage_names[RC_PROF_COUNT] = {"conv1", "conv2", "conv3", "quant", "entropy"};
static uint64_t stage_ticks[RC_PROF_COUNT];
static uint64_t stage_start[RC_PROF_COUNT];
static uint32_t stage_calls[RC_PROF_COUNT];

void SysTick_Handler(void)
{
    systick_wraps++;
}

void rc_icount_start(void)
{
    SYST_CSR = 0;
    SYST_RVR = SYST_RELOAD;
    SYST_CVR = 0;
    SYST_CSR = 7u; /* CLKSOURCE = processor clock, TICKINT, ENABLE */
}

/* Ticks since rc_icount_start. With interrupts masked, a wrap that happened but whose interrupt is still
 * pending shows as PENDSTSET: count it here and re-read the (reloaded) counter. */
uint64_t rc_icount_ticks(void)
{
    uint32_t wraps, val;
    __asm__ volatile("cpsid i" ::: "memory");
    wraps = systick_wraps;
    val = SYST_CVR;
    if (SCB_ICSR & ICSR_PENDSTSET) {
        wraps++;
        val = SYST_CVR;
    }
    __asm__ volatile("cpsie i" ::: "memory");
    return (uint64_t)wraps * (SYST_RELOAD + 1u) + (SYST_RELOAD - val);
}

static uint64_t to_instructions(uint64_t ticks)
{
    return ticks * 1000000000ull / (uint64_t)RC_CPU_HZ;
}

void rc_profile_enter(int id)
{
    if (id >= 0 && id < RC_PROF_COUNT) {
        stage_start[id] = rc_icount_ticks();
        stage_calls[id]++;
    }
}

void rc_profile_leave(int id)
{
    if (id >= 0 && id < RC_PROF_COUNT) {
        stage_ticks[id] += rc_icount_ticks() - stage_start[id];
    }
}

void rc_icount_report(void)
{
    uint64_t ticks = rc_icount_ticks();
    int i;
    fprintf(stderr,
            "RCPROF {\"board\":\"%s\",\"cpu_hz\":%lu,\"ticks\":%llu,\"instructions\":%llu,\"stack_peak\":%lu,"
            "\"stack_size\":%lu,\"heap_peak\":%lu,\"heap_live_peak\":%lu,\"stages\":{",
            RC_BOARD, (unsigned long)RC_CPU_HZ, (unsigned long long)ticks,
            (unsigned long long)to_instructions(ticks), (unsigned long)rc_port_stack_peak(),
            (unsigned long)rc_port_stack_size(), (unsigned long)rc_port_heap_peak(),
            (unsigned long)rc_port_heap_live_peak());
    for (i = 0; i < RC_PROF_COUNT; i++) {
        fprintf(stderr, "%s\"%s\":{\"calls\":%lu,\"ticks\":%llu,\"instructions\":%llu}", i ? "," : "",
                stage_names[i], (unsigned long)stage_calls[i], (unsigned long long)stage_ticks[i],
                (unsigned long long)to_instructions(stage_ticks[i]));
    }
    fprintf(stderr, "}}\n");
}
