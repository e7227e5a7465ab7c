/*
 * malloc_loop.c - the allocator-bound loop of bench/malloc_rest.sh: each
 * thread keeps a small window of live blocks and replaces one per step
 * (free the old, malloc a new one of 16 B to 16 KiB: a power of two from
 * 16 to 16384 times a random factor in [1, 2), capped), touching its first
 * byte.  Nothing else: the cost of an interposer at its worst.
 *   malloc_loop [threads] [steps per thread] [live window]
 */
#include <stdint.h>
#include <stdlib.h>

#include "bench_common.h"

static long steps = 2000000;
static long window = 64;

static size_t pick_size(uint64_t r)
{
    size_t base = (size_t)16 << (r % 11);        /* 16 B .. 16 KiB */
    size_t size = base + (size_t)((r >> 8) % base);

    return size > 16384 ? 16384 : size;
}

static void *worker(void *arg)
{
    uint64_t seed = 0x9e3779b97f4a7c15ULL * ((uintptr_t)arg + 1);
    void **live = calloc((size_t)window, sizeof(void *));
    unsigned long sum = 0;

    for (long i = 0; i < steps; i++) {
        uint64_t r = bench_next(&seed);
        long slot = (long)(r % (uint64_t)window);
        char *p;
        free(live[slot]);
        p = malloc(pick_size(r >> 16));
        p[0] = (char)i;
        sum += (unsigned char)p[0];
        live[slot] = p;
    }
    for (long i = 0; i < window; i++) {
        free(live[i]);
    }
    free(live);
    return (void *)sum;
}

int main(int argc, char **argv)
{
    return bench_main(argc, argv, &steps, &window, worker,
                      "malloc_loop [threads] [steps] [window]");
}
