/*
 * bench_common.h - for the benchmark programs: their command line, running
 * a worker on n threads (each gets its index as the argument), and a
 * small per-thread random generator (xorshift64*).
 */
#ifndef BENCH_COMMON_H
#define BENCH_COMMON_H

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define BENCH_MAX_THREADS 64

static inline uint64_t bench_next(uint64_t *s)
{
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 2685821657736338717ULL;
}

static inline int bench_run_threads(int n, void *(*worker)(void *))
{
    pthread_t th[BENCH_MAX_THREADS];

    if (n < 1 || n > BENCH_MAX_THREADS) {
        fprintf(stderr, "threads: 1..%d\n", BENCH_MAX_THREADS);
        return 2;
    }
    for (int i = 0; i < n; i++) {
        if (pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)i) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
    }
    return 0;
}

/* The programs' common command line: [threads] [count] [param], each
 * optional (threads default 4; count and param keep their defaults);
 * then run the worker on that many threads. */
static inline int bench_main(int argc, char **argv, long *count, long *param,
                             void *(*worker)(void *), const char *usage)
{
    int nthreads = argc > 1 ? atoi(argv[1]) : 4;

    if (argc > 2) {
        *count = atol(argv[2]);
    }
    if (argc > 3) {
        *param = atol(argv[3]);
    }
    if (*count < 1 || *param < 1) {
        fprintf(stderr, "usage: %s\n", usage);
        return 2;
    }
    return bench_run_threads(nthreads, worker);
}

#endif
