/*
 * many_stacks.c - a CPU-bound program whose samples land on a very large
 * number of distinct call stacks, for measuring what it costs to build a
 * profile from them (bench/cpu_build.sh).
 *
 * Each thread walks a random path DEPTH levels deep through FANOUT
 * distinct functions per level (FANOUT^DEPTH possible stacks) and burns a
 * little CPU at the bottom.  Built -O2 without frame pointers like the demo.
 *   many_stacks SECONDS THREADS
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define DEPTH 8
#define FANOUT 16

static volatile int stop;
static volatile uint64_t sink;

typedef void (*step_fn)(uint64_t rng, int level);
static void descend(uint64_t rng, int level);

#define STEP(n)                                                                \
    __attribute__((noinline)) static void step_##n(uint64_t rng, int level)   \
    {                                                                          \
        descend(rng * 6364136223846793005ULL + (n), level + 1);               \
        __asm__ volatile("" ::: "memory");                                     \
    }
STEP(0) STEP(1) STEP(2) STEP(3) STEP(4) STEP(5) STEP(6) STEP(7)
STEP(8) STEP(9) STEP(10) STEP(11) STEP(12) STEP(13) STEP(14) STEP(15)

static const step_fn steps[FANOUT] = {
    step_0, step_1, step_2,  step_3,  step_4,  step_5,  step_6,  step_7,
    step_8, step_9, step_10, step_11, step_12, step_13, step_14, step_15,
};

__attribute__((noinline)) static void descend(uint64_t rng, int level)
{
    if (level == DEPTH) {
        uint64_t x = rng;
        for (int i = 0; i < 20000; i++) {
            x = x * 2862933555777941757ULL + 3037000493ULL;
        }
        sink = x;
        return;
    }
    steps[(rng >> 59) % FANOUT](rng ^ (rng >> 17), level);
}

static void *worker(void *arg)
{
    uint64_t rng = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ULL + 1;

    while (!stop) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        descend(rng, 0);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int secs = argc > 1 ? atoi(argv[1]) : 10;
    int n = argc > 2 ? atoi(argv[2]) : 2;
    pthread_t th[64];
    struct timespec ts = {secs, 0};

    if (n < 1 || n > 64 || secs < 1) {
        fprintf(stderr, "usage: many_stacks SECONDS THREADS(1-64)\n");
        return 2;
    }
    for (int i = 0; i < n; i++) {
        pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1));
    }
    nanosleep(&ts, NULL);
    stop = 1;
    for (int i = 0; i < n; i++) {
        pthread_join(th[i], NULL);
    }
    return 0;
}
