/*
 * stats.h - the analyzer's shared state: per-service and per-status
 * aggregates, a top-paths summary and a ring of recent requests, all
 * behind ONE mutex.
 *
 * Workload assumed: every worker calls demo_aggregate() once per parsed
 * line, so the lock is taken a few hundred thousand times per second and
 * contention grows with --threads; that contention is wanted (lynxprof's
 * lock profile is tested on it).  The number of services and statuses is
 * small and bounded (about 10 and 13), so their records live for the whole
 * run; recent-request entries live until DEMO_RECENT_DEFAULT newer ones
 * have replaced them.
 */
#ifndef DEMO_STATS_H
#define DEMO_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "parse.h"

#define DEMO_LATENCY_BUCKETS 8     /* <1,<5,<10,<50,<100,<500,<1000,>=1000 ms */
#define DEMO_RECENT_DEFAULT 16384  /* entries in the recent-request ring */
#define DEMO_TOP_PATHS 1024        /* Space-Saving counters for top paths */
#define DEMO_HASH_PATH_ROUNDS 192  /* FNV+fmix rounds in demo_hash_path() */

typedef struct demo_stats demo_stats_t;

/* Statistics of one group of requests; all sums since the start. */
typedef struct demo_agg {
    uint64_t nrequests;
    uint64_t size_bytes;     /* sum of DownstreamContentSize */
    uint64_t latency_sum_ns; /* sum of Duration */
    uint64_t latency_max_ns; /* largest Duration seen */
    uint64_t nlatency[DEMO_LATENCY_BUCKETS]; /* requests per latency bucket */
} demo_agg_t;

/* A snapshot taken by demo_stats_summary(). */
typedef struct demo_stats_summary {
    size_t nservices;
    size_t nstatuses;
    size_t nrecent;     /* ring entries in use, <= ring size */
    uint64_t nrequests; /* lines aggregated */
    uint64_t size_bytes;
    uint64_t latency_max_ns;
} demo_stats_summary_t;

/*
 * Creates empty statistics with a recent-request ring of nrecent entries
 * (> 0).  Returns NULL if out of memory.  The caller owns the result and
 * frees it with demo_stats_destroy().
 */
demo_stats_t *demo_stats_create(size_t nrecent);

/* Frees stats and every record and entry it holds; NULL is accepted.
   No other thread may be using stats. */
void demo_stats_destroy(demo_stats_t *stats);

/*
 * HOT, takes the shared lock.  Hashes req->path with demo_hash_path()
 * (outside the lock), copies req into a new recent-request entry (outside
 * the lock), then under the lock updates the service and status records
 * (creating them on first sight), the top-paths summary and the ring, and frees
 * the entry the ring dropped after unlocking.  req stays the caller's.
 *
 * The lock is held for demo_top_paths_update() (a scan of DEMO_TOP_PATHS
 * counters) plus two short hash-table lookups.
 *
 * Returns 0, or -ENOMEM (stats unchanged).  Thread-safe.
 */
int demo_aggregate(demo_stats_t *stats, const demo_request_t *req);

/*
 * HOTTEST LEAF.  A deliberately expensive 64-bit hash of len bytes at
 * path: DEMO_HASH_PATH_ROUNDS rounds of FNV-1a over every byte, each round
 * finished with the murmur3 fmix64 mixer.  Pure; thread-safe; signal-safe.
 */
uint64_t demo_hash_path(const char *path, size_t len);

/* Fills *out under the lock.  Thread-safe. */
void demo_stats_summary(demo_stats_t *stats, demo_stats_summary_t *out);

#endif
