/*
 * rng.h - a tiny per-thread pseudo-random generator (xorshift64*).
 *
 * Each worker owns one demo_rng_t; nothing is shared, so no function here
 * is thread-safe on a shared state and none needs to be.  Quality only has
 * to be good enough to make synthetic log lines look varied.
 */
#ifndef DEMO_RNG_H
#define DEMO_RNG_H

#include <stdint.h>

typedef struct demo_rng {
    uint64_t state; /* never 0 */
} demo_rng_t;

static inline void
demo_rng_init(demo_rng_t *rng, uint64_t seed)
{
    rng->state = seed * 0x9e3779b97f4a7c15ULL + 0x632be59bd9b4e019ULL;
    if (rng->state == 0) {
        rng->state = 1;
    }
}

/* Returns the next 64 random bits. */
static inline uint64_t
demo_rng_next(demo_rng_t *rng)
{
    uint64_t x = rng->state;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng->state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

/* Returns a value in [0, n); n must be > 0. */
static inline uint32_t
demo_rng_below(demo_rng_t *rng, uint32_t n)
{
    return (uint32_t) ((demo_rng_next(rng) >> 32) * n >> 32);
}

/* Returns a value in [lo, hi]; lo <= hi. */
static inline uint64_t
demo_rng_range(demo_rng_t *rng, uint64_t lo, uint64_t hi)
{
    return lo + demo_rng_next(rng) % (hi - lo + 1);
}

#endif
