/*
 * heap_overhead.c - a malloc-heavy multi-threaded workload for
 * bench/heap_overhead.sh: each thread keeps a window of live blocks and
 * replaces one at random per step (free the old, allocate a new one of a
 * mixed size: mostly 16-512 B, some 1-8 KiB, a few 32-256 KiB), touching
 * each new block's first bytes.  No output; exit 0.
 *   heap_overhead [threads] [steps per thread] [live window]
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long steps = 4000000;
static int window = 512;

static uint64_t next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ULL;
}

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
        uint64_t r = next(&seed);
        int slot = (int)(r % (uint64_t)window);
        size_t size = pick_size(next(&seed));
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
    int nthreads = argc > 1 ? atoi(argv[1]) : 4;
    pthread_t th[64];

    if (argc > 2) {
        steps = atol(argv[2]);
    }
    if (argc > 3) {
        window = atoi(argv[3]);
    }
    if (nthreads < 1 || nthreads > 64 || steps < 1 || window < 1) {
        fprintf(stderr, "usage: heap_overhead [threads] [steps] [window]\n");
        return 2;
    }
    for (int i = 0; i < nthreads; i++) {
        pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i);
    }
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
    }
    return 0;
}
