/*
 * workloads.h - the two synthetic workloads lynxprof's accuracy tests use
 * instead of the log analyzer:
 *
 *   cpu-split   every worker spends its thread CPU time in split_alpha,
 *               split_beta and split_gamma in the ratio 50:30:20, measured
 *               with CLOCK_THREAD_CPUTIME_ID (so it is a split of CPU time,
 *               not of iterations), in cycles of 5+3+2 ms.
 *   heap-sites  heap_site_small/medium/large keep known byte totals live
 *               from the start to the end of the run, while heap_churn
 *               allocates and frees short-lived blocks.
 */
#ifndef DEMO_WORKLOADS_H
#define DEMO_WORKLOADS_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/* CPU budget of one cpu-split cycle per function, in ns of thread CPU. */
#define DEMO_SPLIT_ALPHA_NS 5000000
#define DEMO_SPLIT_BETA_NS 3000000
#define DEMO_SPLIT_GAMMA_NS 2000000

/* Blocks kept live by the heap-sites workload (requested sizes). */
#define DEMO_HEAP_SMALL_COUNT 100000
#define DEMO_HEAP_SMALL_BYTES 64                  /* 6,400,000 B in all */
#define DEMO_HEAP_MEDIUM_COUNT 2000
#define DEMO_HEAP_MEDIUM_BYTES (16 * 1024)        /* 32,768,000 B in all */
#define DEMO_HEAP_LARGE_COUNT 20
#define DEMO_HEAP_LARGE_BYTES (4 * 1024 * 1024)   /* 83,886,080 B in all */

/* heap_churn: blocks per round, their size range, how many live at once. */
#define DEMO_CHURN_ALLOCS 2000
#define DEMO_CHURN_MIN_BYTES 16
#define DEMO_CHURN_MAX_BYTES 8192
#define DEMO_CHURN_WINDOW 32

/* Per-thread state of cpu-split; zero-initialise it before the first cycle. */
typedef struct demo_split {
    int64_t owed_ns[3]; /* CPU time alpha/beta/gamma are still owed; the
                           overshoot of one cycle is taken off the next, so
                           the long-run split is exact */
    uint64_t value;     /* arithmetic result, kept so it cannot be elided */
} demo_split_t;

/* The live blocks of heap-sites, each list chained through its first word. */
typedef struct demo_heap_sites {
    void *small;  /* DEMO_HEAP_SMALL_COUNT blocks */
    void *medium; /* DEMO_HEAP_MEDIUM_COUNT blocks */
    void *large;  /* DEMO_HEAP_LARGE_COUNT blocks */
    size_t small_bytes;  /* requested bytes live, exact */
    size_t medium_bytes;
    size_t large_bytes;
} demo_heap_sites_t;

/*
 * Runs one cpu-split cycle on the calling thread: split_alpha for 5 ms,
 * split_beta for 3 ms, split_gamma for 2 ms of thread CPU time (minus what
 * earlier cycles overshot).  Thread-safe with one demo_split_t per thread.
 */
void demo_cpu_split_cycle(demo_split_t *split);

/*
 * HOT in cpu-split.  Each does integer arithmetic until it has consumed at
 * least budget_ns of the calling thread's CPU time and returns the CPU time
 * it really consumed, in ns; *value carries the arithmetic in and out.
 * Thread-safe.
 */
int64_t split_alpha(uint64_t *value, int64_t budget_ns);
int64_t split_beta(uint64_t *value, int64_t budget_ns);
int64_t split_gamma(uint64_t *value, int64_t budget_ns);

/*
 * Allocation sites of heap-sites: each allocates count blocks of
 * size_bytes (>= sizeof(void *)) with malloc() called from its own body,
 * fills them, and chains them into a list it returns; the caller owns the
 * list and frees it with demo_heap_list_free().  Returns NULL, with
 * nothing left allocated, if malloc failed.
 */
void *heap_site_small(size_t count, size_t size_bytes);
void *heap_site_medium(size_t count, size_t size_bytes);
void *heap_site_large(size_t count, size_t size_bytes);

/* Frees a list built by a heap_site_* function; NULL is accepted. */
void demo_heap_list_free(void *list);

/*
 * Fills *sites with the three lists at the sizes defined above.
 * Returns 0, or -ENOMEM with nothing left allocated.
 */
int demo_heap_sites_init(demo_heap_sites_t *sites);

/* Frees what demo_heap_sites_init() allocated; safe on a zeroed struct. */
void demo_heap_sites_fini(demo_heap_sites_t *sites);

/*
 * One round of short-lived allocations: DEMO_CHURN_ALLOCS blocks of random
 * size, at most DEMO_CHURN_WINDOW live at a time, all freed before it
 * returns.  Returns 0 or -ENOMEM.  Thread-safe with one rng per thread.
 */
int heap_churn(demo_rng_t *rng);

#endif
