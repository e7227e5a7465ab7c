/*
 * workloads.c - cpu-split and heap-sites (see workloads.h).
 *
 * split_* check the thread CPU clock once per SPLIT_CHUNK iterations
 * (about 30-100 us of work), so the clock_gettime() system call costs under
 * 1% of their time and is charged to them; each call overshoots its budget
 * by less than one chunk and demo_cpu_split_cycle() takes that overshoot
 * off the next cycle.
 */
#include "workloads.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo.h"

#define SPLIT_CHUNK 32768 /* iterations between two reads of the CPU clock */

static int64_t
thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The three differ in their arithmetic so that no compiler can fold them
   into one function. */
DEMO_NOINLINE int64_t
split_alpha(uint64_t *value, int64_t budget_ns)
{
    int64_t start = thread_cpu_ns();
    int64_t now;
    uint64_t x = *value;

    do {
        for (unsigned i = 0; i < SPLIT_CHUNK; i++) {
            x = x * 6364136223846793005ULL + 1442695040888963407ULL;
            x ^= x >> 29;
        }
        now = thread_cpu_ns();
    } while (now - start < budget_ns);
    *value = x;
    return now - start;
}

DEMO_NOINLINE int64_t
split_beta(uint64_t *value, int64_t budget_ns)
{
    int64_t start = thread_cpu_ns();
    int64_t now;
    uint64_t x = *value;

    do {
        for (unsigned i = 0; i < SPLIT_CHUNK; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x *= 0x9e3779b97f4a7c15ULL;
        }
        now = thread_cpu_ns();
    } while (now - start < budget_ns);
    *value = x;
    return now - start;
}

DEMO_NOINLINE int64_t
split_gamma(uint64_t *value, int64_t budget_ns)
{
    int64_t start = thread_cpu_ns();
    int64_t now;
    uint64_t x = *value;

    do {
        for (unsigned i = 0; i < SPLIT_CHUNK; i++) {
            x += 0xbf58476d1ce4e5b9ULL;
            x = (x ^ (x >> 31)) * 0x94d049bb133111ebULL;
        }
        now = thread_cpu_ns();
    } while (now - start < budget_ns);
    *value = x;
    return now - start;
}

/* Each cycle is stretched by a pseudo-random factor of 50-150% (the same
   for the three, so the split stays exact): a profiler whose sampling period
   is a multiple of the cycle would otherwise always land in the same phase
   and see a distorted split. */
DEMO_NOINLINE void
demo_cpu_split_cycle(demo_split_t *split)
{
    int64_t pct = 50 + (int64_t) ((split->value * 0x9e3779b97f4a7c15ULL) >> 33) % 101;

    split->owed_ns[0] += DEMO_SPLIT_ALPHA_NS * pct / 100;
    split->owed_ns[0] -= split_alpha(&split->value, split->owed_ns[0]);
    split->owed_ns[1] += DEMO_SPLIT_BETA_NS * pct / 100;
    split->owed_ns[1] -= split_beta(&split->value, split->owed_ns[1]);
    split->owed_ns[2] += DEMO_SPLIT_GAMMA_NS * pct / 100;
    split->owed_ns[2] -= split_gamma(&split->value, split->owed_ns[2]);
}

void
demo_heap_list_free(void *list)
{
    while (list != NULL) {
        void *next = *(void **) list;

        free(list);
        list = next;
    }
}

/*
 * Always inlined into each heap_site_* so that malloc()'s caller is the
 * site function itself, which is what a heap profile shows.
 */
static inline __attribute__((always_inline)) void *
build_list(size_t count, size_t size_bytes, int fill)
{
    void *head = NULL;

    for (size_t i = 0; i < count; i++) {
        void *block = malloc(size_bytes);

        if (block == NULL) {
            demo_heap_list_free(head);
            return NULL;
        }
        /* Touch every page so the blocks are resident, not just reserved. */
        memset(block, fill, size_bytes);
        *(void **) block = head;
        head = block;
    }
    return head;
}

DEMO_NOINLINE void *
heap_site_small(size_t count, size_t size_bytes)
{
    return build_list(count, size_bytes, 0x11);
}

DEMO_NOINLINE void *
heap_site_medium(size_t count, size_t size_bytes)
{
    return build_list(count, size_bytes, 0x22);
}

DEMO_NOINLINE void *
heap_site_large(size_t count, size_t size_bytes)
{
    return build_list(count, size_bytes, 0x33);
}

int
demo_heap_sites_init(demo_heap_sites_t *sites)
{
    memset(sites, 0, sizeof(*sites));
    sites->small = heap_site_small(DEMO_HEAP_SMALL_COUNT,
                                   DEMO_HEAP_SMALL_BYTES);
    sites->medium = heap_site_medium(DEMO_HEAP_MEDIUM_COUNT,
                                     DEMO_HEAP_MEDIUM_BYTES);
    sites->large = heap_site_large(DEMO_HEAP_LARGE_COUNT,
                                   DEMO_HEAP_LARGE_BYTES);
    if (sites->small == NULL || sites->medium == NULL
        || sites->large == NULL) {
        demo_heap_sites_fini(sites);
        return -ENOMEM;
    }
    sites->small_bytes = (size_t) DEMO_HEAP_SMALL_COUNT * DEMO_HEAP_SMALL_BYTES;
    sites->medium_bytes =
        (size_t) DEMO_HEAP_MEDIUM_COUNT * DEMO_HEAP_MEDIUM_BYTES;
    sites->large_bytes = (size_t) DEMO_HEAP_LARGE_COUNT * DEMO_HEAP_LARGE_BYTES;
    return 0;
}

void
demo_heap_sites_fini(demo_heap_sites_t *sites)
{
    demo_heap_list_free(sites->small);
    demo_heap_list_free(sites->medium);
    demo_heap_list_free(sites->large);
    memset(sites, 0, sizeof(*sites));
}

DEMO_NOINLINE int
heap_churn(demo_rng_t *rng)
{
    unsigned char *window[DEMO_CHURN_WINDOW] = { NULL };
    int rc = 0;

    for (unsigned i = 0; i < DEMO_CHURN_ALLOCS; i++) {
        unsigned slot = i % DEMO_CHURN_WINDOW;
        size_t n = demo_rng_range(rng, DEMO_CHURN_MIN_BYTES,
                                  DEMO_CHURN_MAX_BYTES);

        free(window[slot]);
        window[slot] = malloc(n);
        if (window[slot] == NULL) {
            rc = -ENOMEM;
            break;
        }
        window[slot][0] = (unsigned char) i;
        window[slot][n - 1] = (unsigned char) n;
    }
    for (unsigned i = 0; i < DEMO_CHURN_WINDOW; i++) {
        free(window[i]);
    }
    return rc;
}
