/* rc_heap.c -- the peak of bytes in live malloc blocks (RCPROF "heap_live_peak"), next to the sbrk high-water of
 * startup.c ("heap_peak", which newlib's malloc grows in 4 KiB steps). The link wraps newlib's reentrant entry
 * points (-Wl,--wrap=_malloc_r,--wrap=_free_r,--wrap=_realloc_r): malloc, calloc, realloc and stdio's buffers
 * all end in them. A block counts with its usable size (malloc_usable_size: the request rounded up to malloc's
 * 8-byte granule, at least 12 bytes). realloc's own inner malloc/free are not counted twice. */
#include <malloc.h>
#include <reent.h>
#include <stddef.h>
#include <stdint.h>

#include "rc_port.h"

void *__real__malloc_r(struct _reent *r, size_t n);
void __real__free_r(struct _reent *r, void *p);
void *__real__realloc_r(struct _reent *r, void *p, size_t n);
void *__wrap__malloc_r(struct _reent *r, size_t n);
void __wrap__free_r(struct _reent *r, void *p);
void *__wrap__realloc_r(struct _reent *r, void *p, size_t n);

static uint32_t live, live_peak;
static int in_realloc;

static void add(struct _reent *r, void *p)
{
    if (p != NULL) {
        live += (uint32_t)_malloc_usable_size_r(r, p);
        if (live > live_peak) {
            live_peak = live;
        }
    }
}

static void sub(struct _reent *r, void *p)
{
    if (p != NULL) {
        live -= (uint32_t)_malloc_usable_size_r(r, p);
    }
}

void *__wrap__malloc_r(struct _reent *r, size_t n)
{
    void *p = __real__malloc_r(r, n);
    if (!in_realloc) {
        add(r, p);
    }
    return p;
}

void __wrap__free_r(struct _reent *r, void *p)
{
    if (!in_realloc) {
        sub(r, p);
    }
    __real__free_r(r, p);
}

void *__wrap__realloc_r(struct _reent *r, void *p, size_t n)
{
    uint32_t before = p != NULL ? (uint32_t)_malloc_usable_size_r(r, p) : 0u;
    void *q;
    in_realloc = 1;
    q = __real__realloc_r(r, p, n);
    in_realloc = 0;
    if (q != NULL || n == 0) {
        live -= before;
        add(r, q);
    }
    return q;
}

uint32_t rc_port_heap_live_peak(void)
{
    return live_peak;
}
