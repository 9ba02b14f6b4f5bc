/* startup.c -- vector table, reset handler and the newlib glue of the bare-metal QEMU port (mps2-an386
 * Cortex-M4F, mps3-an547 Cortex-M55). The program itself is the unmodified host front end (main.c of
 * firmware/src), linked against newlib with rdimon semihosting for stdio and files.
 *
 * Reset order matters: the FPU (and on the M55 the MVE unit, which shares coprocessors 10/11) is enabled in
 * CPACR by the assembly entry before any C runs, because gcc emits FP/MVE instructions (e.g. vectorised copy
 * loops) in ordinary C functions; on the M55 one would fault with a NOCP UsageFault otherwise.
 *
 * The C start: copy .data from its load address, zero .bss, paint the unused stack (for the high-water scan
 * at exit), start SysTick counting, set up the semihosting stdio handles, run the C++/constructor arrays,
 * read the command line with SYS_GET_CMDLINE, call main and exit(main's status); the RCPROF report (rc_icount.c)
 * is printed at exit when the status is 0. _exit ends QEMU with
 * SYS_EXIT_EXTENDED, so qemu-system-arm's exit status is the program's.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "rc_port.h"

/* From the linker script (mps2-an386.ld / mps3-an547.ld). */
extern uint32_t __data_load__, __data_start__, __data_end__, __bss_start__, __bss_end__;
extern uint32_t __stack_limit__, __stack_top__;
extern char __heap_start__, __heap_end__;

extern int main(int argc, char **argv);
extern void initialise_monitor_handles(void);
extern void __libc_init_array(void);

void Reset_Handler(void);
void rc_port_start(void) __attribute__((noreturn, used));
static void fault_handler(void);
void SysTick_Handler(void);

#define RC_STACK_PAINT 0xC5C5C5C5u
#define RC_CMDLINE_MAX 1024
#define RC_ARGV_MAX 64

/* Cortex-M vector table: initial SP, then the 15 system exceptions; no device interrupt is used. */
__attribute__((section(".vectors"), used)) void (*const rc_vectors[16])(void) = {
    (void (*)(void))(uintptr_t)&__stack_top__,
    Reset_Handler,
    fault_handler, /* NMI */
    fault_handler, /* HardFault */
    fault_handler, /* MemManage */
    fault_handler, /* BusFault */
    fault_handler, /* UsageFault */
    fault_handler, /* SecureFault (v8-M) */
    0, 0, 0,
    fault_handler, /* SVCall */
    fault_handler, /* DebugMonitor */
    0,
    fault_handler, /* PendSV */
    SysTick_Handler,
};

/* Entry: CPACR.CP10/CP11 = full access (FPU, and MVE on the M55), barriers, then C. No stack use before. */
__attribute__((naked, noreturn)) void Reset_Handler(void)
{
    __asm__ volatile("ldr r0, =0xE000ED88\n"
                     "ldr r1, [r0]\n"
                     "orr r1, r1, #0x00F00000\n"
                     "str r1, [r0]\n"
                     "dsb\n"
                     "isb\n"
                     "ldr r0, =__stack_top__\n"
                     "msr msp, r0\n"
                     "b rc_port_start\n");
}

static char cmdline[RC_CMDLINE_MAX];
static char *argv_buf[RC_ARGV_MAX + 1];

/* Splits the semihosting command line at spaces (QEMU joins its -append/arg= words with single spaces, so a
 * path that contains a space cannot come through: the wrapper run-qemu.sh refuses such arguments). */
static int split_cmdline(char *s, char **argv)
{
    int argc = 0;
    while (*s != '\0' && argc < RC_ARGV_MAX) {
        while (*s == ' ') {
            *s++ = '\0';
        }
        if (*s == '\0') {
            break;
        }
        argv[argc++] = s;
        while (*s != '\0' && *s != ' ') {
            s++;
        }
    }
    argv[argc] = NULL;
    return argc;
}

/* newlib's on_exit (not declared under -std=c99): like atexit, with the exit status. */
extern int on_exit(void (*fn)(int, void *), void *arg);

/* The RCPROF report for a successful run only: after a failure the program's own error stays the last line of
 * stderr (what a conformance runner shows as the reason). */
static void report_at_exit(int status, void *arg)
{
    (void)arg;
    if (status == 0) {
        rc_icount_report();
    }
}

void rc_port_start(void)
{
    uint32_t *src = &__data_load__, *dst = &__data_start__;
    uint32_t *p, sp;
    struct {
        char *buf;
        uint32_t len;
    } cmd = {cmdline, sizeof(cmdline) - 1};
    int argc;

    while (dst < &__data_end__) {
        *dst++ = *src++;
    }
    for (dst = &__bss_start__; dst < &__bss_end__; dst++) {
        *dst = 0;
    }
    /* paint the stack below the current frame (256 bytes of margin for this function) */
    __asm__ volatile("mov %0, sp" : "=r"(sp));
    for (p = &__stack_limit__; (uint32_t)(uintptr_t)p < sp - 256u; p++) {
        *p = RC_STACK_PAINT;
    }
    rc_icount_start();
    initialise_monitor_handles();
    __libc_init_array();
    if (rc_semihost(RC_SH_GET_CMDLINE, &cmd) != 0) {
        cmdline[0] = '\0';
    }
    cmdline[sizeof(cmdline) - 1] = '\0';
    argc = split_cmdline(cmdline, argv_buf);
    /* registered first: runs after every handler the program registers, before stdio is closed */
    on_exit(report_at_exit, NULL);
    if (argc > 1 && strncmp(argv_buf[1], "--rc-", 5) == 0) {
        exit(rc_port_selftest(argc, argv_buf));
    }
    exit(main(argc, argv_buf));
}

uint32_t rc_port_stack_peak(void)
{
    const uint32_t *p = &__stack_limit__;
    while (p < &__stack_top__ && *p == RC_STACK_PAINT) {
        p++;
    }
    return (uint32_t)((uintptr_t)&__stack_top__ - (uintptr_t)p);
}

uint32_t rc_port_stack_size(void)
{
    return (uint32_t)((uintptr_t)&__stack_top__ - (uintptr_t)&__stack_limit__);
}

void rc_port_exit(int status)
{
    uint32_t block[2] = {RC_SH_ADP_STOPPED_APPLICATION_EXIT, (uint32_t)status};
    rc_semihost(RC_SH_EXIT_EXTENDED, block);
    /* a host without the extension: the plain call (success or failure only) */
    block[0] = status == 0 ? RC_SH_ADP_STOPPED_APPLICATION_EXIT : RC_SH_ADP_STOPPED_RUNTIME_ERROR;
    rc_semihost(RC_SH_EXIT, (const void *)(uintptr_t)block[0]);
    for (;;) {
    }
}

/* newlib: exit() ends here after the atexit handlers and the stdio flush. Replaces rdimon's _exit. */
void _exit(int status)
{
    rc_port_exit(status);
}

/* Any fault or unexpected exception: say which and where, then exit with 134 (an abort), never hang. */
static void put_hex(char *s, uint32_t v)
{
    int i;
    for (i = 7; i >= 0; i--) {
        s[7 - i] = "0123456789abcdef"[(v >> (4 * i)) & 15u];
    }
}

__attribute__((used)) static void fault_report(uint32_t *frame)
{
    static char msg[] = "rc_port: exception ipsr=........ pc=........ cfsr=........\n";
    uint32_t ipsr;
    __asm__ volatile("mrs %0, ipsr" : "=r"(ipsr));
    put_hex(msg + 24, ipsr);
    put_hex(msg + 36, frame[6]);
    put_hex(msg + 50, *(volatile uint32_t *)0xE000ED28u);
    rc_semihost(RC_SH_WRITE0, msg);
    rc_port_exit(134);
}

__attribute__((naked)) static void fault_handler(void)
{
    __asm__ volatile("tst lr, #4\n"
                     "ite eq\n"
                     "mrseq r0, msp\n"
                     "mrsne r0, psp\n"
                     "b fault_report\n");
}

/* newlib malloc's heap: the region between __heap_start__ and __heap_end__ of the linker script (not the
 * stack pointer, which rdimon's weak _sbrk compares with: the heap lies in another RAM bank here). */
static char *heap_brk;
static uint32_t heap_peak;

void *_sbrk(ptrdiff_t incr)
{
    char *prev;
    if (heap_brk == NULL) {
        heap_brk = &__heap_start__;
    }
    if (incr > 0 ? (&__heap_end__ - heap_brk < incr) : (heap_brk - &__heap_start__ < -incr)) {
        errno = ENOMEM;
        return (void *)-1;
    }
    prev = heap_brk;
    heap_brk += incr;
    if ((uint32_t)(heap_brk - &__heap_start__) > heap_peak) {
        heap_peak = (uint32_t)(heap_brk - &__heap_start__);
    }
    return prev;
}

uint32_t rc_port_heap_peak(void)
{
    return heap_peak;
}

/* mkdir (for -d DUMP_DIR): semihosting has no mkdir; SYS_SYSTEM runs `mkdir -p` on the host (QEMU with
 * target=native). Paths with a quote are refused rather than escaped. The command is built on the stack (1 KiB,
 * only when dumping), not in static RAM. */
int mkdir(const char *path, mode_t mode)
{
    char cmd[RC_CMDLINE_MAX];
    struct {
        const char *s;
        uint32_t len;
    } arg = {cmd, 0};
    size_t n = strlen(path);
    (void)mode;
    if (strchr(path, '\'') != NULL || n + 20 > sizeof(cmd)) {
        errno = EINVAL;
        return -1;
    }
    strcpy(cmd, "mkdir -p -- '");
    strcat(cmd, path);
    strcat(cmd, "'");
    arg.len = (uint32_t)strlen(cmd);
    if (rc_semihost(RC_SH_SYSTEM, &arg) != 0) {
        errno = EACCES;
        return -1;
    }
    return 0;
}

/* -nostartfiles leaves out crti/crtn; newlib's __libc_init_array still calls _init. */
void _init(void)
{
}

void _fini(void)
{
}
