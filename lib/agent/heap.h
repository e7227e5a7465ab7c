/*
 * agent/heap.h - the agent's malloc interposition (agent/malloc_hooks.c, which runs
 * inside the target's allocator calls) as seen by the rest of the agent.
 *
 * agent/malloc_hooks.c exports malloc, free, calloc, realloc, reallocarray,
 * posix_memalign, aligned_alloc, memalign, valloc, pvalloc and
 * malloc_usable_size, forwarding each to the next definition
 * (dlsym(RTLD_NEXT)), sampling allocations for the heap profile and, when
 * asked, counting every call exactly.  The functions below are for the agent thread.
 */
#ifndef LYNX_AGENT_HEAP_H
#define LYNX_AGENT_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/block_heap.h"

/* Sum the per-thread exact counters.  Returns 1 when the interposition is
 * active (the counters mean something), else 0 with *t zeroed.  Lock-free;
 * thread-safe; values of threads running meanwhile may be a few calls
 * behind. */
int lynx_heap_totals(lynx_heap_totals_t *t);

/* 1 when the exact counters are kept (the malloc functions interposed and
 * LYNXPROF_HEAP_COUNTERS=1, off by default); else lynx_heap_totals() gives
 * zeros. */
int lynx_heap_counting(void);

/* Copy the aggregated stack table into buf (cap bytes) as packed
 * lynx_heap_record_t records (see protocol/block_heap.h) and fill *rep (all but
 * totals and taken_unix_ns).  Holds the table lock while copying: sampled
 * allocations of other threads wait meanwhile, unsampled ones do not.
 * Returns the bytes written.  Thread-safe; not for signal handlers. */
size_t lynx_heap_copy(void *buf, size_t cap, lynx_heap_snapshot_reply_t *rep);

/* The sampling rate in force (mean bytes between samples; 0 = off). */
uint64_t lynx_heap_rate(void);

/* Where the heap sampler's unwind returns to, the first frame of every
 * stack it takes (always dropped from the sample), or NULL before the
 * first sample: a CPU sample or thread dump held back during that unwind
 * and delivered after it has it as its leaf. */
const void *lynx_heap_unwind_site(void);

/* A thread's mean sampling interval after a window of `samples` samples
 * over `elapsed_ns` (counted as 1 ms at least), under a limit of `limit`
 * samples a second (> 0): `mean` scaled by the rate seen over the limit,
 * kept within [rate, mean_max].  Pure; the sampler's pace. */
double lynx_heap_paced_mean(double mean, uint32_t samples, int64_t elapsed_ns,
                            uint32_t limit, double rate, double mean_max);

#endif
