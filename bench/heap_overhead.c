/*
 * heap_overhead.c - a malloc-heavy multi-threaded workload for
 * bench/heap_overhead.sh: each thread keeps a window of live blocks and
 * replaces one at random per step (free the old, allocate a new one of a
 * mixed size: mostly 16-512 B, some 1-8 KiB, a few 32-256 KiB), touching
 * each new block's first bytes.  No output; exit 0.
 *   heap_overhead [threads] [steps per thread] [live window]
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_common.h"

static long steps = 4000000;
static long window = 512;

static size_t pick_size(uint64_t r)
{
    unsigned k = (unsigned)(r % 1000);
    if (k < 900) {
        return 16 + (size_t)((r >> 10) % 497);        /* 16-512 B */
    }
    if (k < 995) {
        return 1024 + (size_t)((r >> 10) % 7169);     /* 1-8 KiB */
    }
    return 32768 + (size_t)((r >> 10) % 229377);      /* 32-256 KiB */
}

static void *worker(void *arg)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL * ((uintptr_t)arg + 1);
    void **live = calloc((size_t)window, sizeof(void *));
    unsigned long sum = 0;

    for (long i = 0; i < steps; i++) {
        uint64_t r = bench_next(&seed);
        int slot = (int)(r % (uint64_t)window);
        size_t size = pick_size(bench_next(&seed));
        char *p;
        free(live[slot]);
        p = malloc(size);
        memset(p, (int)i, size < 64 ? size : 64);
        sum += (unsigned char)p[size - 1 < 63 ? size - 1 : 63];
        live[slot] = p;
    }
    for (int i = 0; i < window; i++) {
        free(live[i]);
    }
    free(live);
    return (void *)sum;
}

int main(int argc, char **argv)
{
    return bench_main(argc, argv, &steps, &window, worker,
                      "heap_overhead [threads] [steps] [window]");
}
