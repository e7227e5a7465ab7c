/*
 * alloc_loop.c - the allocator-bound loop of bench/rest.sh and
 * bench/malloc_rest.sh: each thread keeps a small window of live blocks
 * and, per step, frees one at random and allocates a new one of 16 B to
 * 16 KiB, writing its first byte.  Nothing else: the time goes to malloc
 * and free, the worst case for an interposer.  No output; exit 0.
 * Sizes are drawn uniformly (bench/rest.sh), or, built with -DLOG_SIZES
 * (bench/malloc_rest.sh), as a power of two from 16 to 16384 times a
 * random factor in [1, 2), capped: small blocks as often as large ones.
 *   alloc_loop [threads] [steps per thread] [live window]
 */
#include <stdint.h>
#include <stdlib.h>

#include "bench_common.h"

#define SIZE_MIN 16
#define SIZE_MAX_BYTES 16384

static long steps = 2000000;
static long window = 64;

static size_t pick_size(uint64_t r)
{
#ifdef LOG_SIZES
    size_t base = (size_t)SIZE_MIN << ((r >> 16) % 11); /* 16 B .. 16 KiB */
    size_t size = base + (size_t)((r >> 24) % base);

    return size > SIZE_MAX_BYTES ? SIZE_MAX_BYTES : size;
#else
    return SIZE_MIN + (size_t)((r >> 20) % (SIZE_MAX_BYTES - SIZE_MIN + 1));
#endif
}

static void *worker(void *arg)
{
    uint64_t seed = 0x2545f4914f6cdd1dULL * ((uintptr_t)arg + 1);
    char **live = calloc((size_t)window, sizeof(char *));
    uintptr_t sum = 0;

    if (live == NULL) {
        return NULL;
    }
    for (long i = 0; i < steps; i++) {
        uint64_t r = bench_next(&seed);
        long slot = (long)(r % (uint64_t)window);
        size_t size = pick_size(r);

        free(live[slot]);
        live[slot] = malloc(size);
        if (live[slot] != NULL) {
            live[slot][0] = (char)i;
            sum += (unsigned char)live[slot][0];
        }
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
                      "alloc_loop [threads] [steps] [window]");
}
