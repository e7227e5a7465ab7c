/*
 * worker.h - the worker threads of lynx-demo and what they share.
 *
 * Workload assumed: --threads workers run the selected workload back to
 * back until the main thread sets stop; with --intensity below 100 each
 * worker sleeps after every unit of work for long enough that it is busy
 * that percentage of wall-clock time.
 */
#ifndef DEMO_WORKER_H
#define DEMO_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <json_tokener.h>

#include "rng.h"
#include "stats.h"

typedef enum demo_workload {
    DEMO_WORKLOAD_LOG,        /* generate, parse, aggregate log lines */
    DEMO_WORKLOAD_CPU_SPLIT,  /* split_alpha/beta/gamma 50/30/20 */
    DEMO_WORKLOAD_HEAP_SITES, /* heap_churn; sites are held by main */
} demo_workload_t;

/* Read-only for workers once they run, except stop. */
typedef struct demo_shared {
    demo_workload_t workload;
    unsigned intensity_pct; /* 1..100, busy share of wall-clock time */
    unsigned nbatch_lines;  /* lines per demo_process_batch(), >= 1 */
    demo_stats_t *stats;    /* log workload only, else NULL */
    atomic_int stop;        /* 0 = run; set to 1 by main to stop, or by
                               a worker that failed */
} demo_shared_t;

/* One worker; main owns it, the worker writes only nunits and error. */
typedef struct demo_worker_ctx {
    demo_shared_t *shared;
    unsigned id;                /* 0-based, seeds the worker's rng */
    pthread_t thread;
    _Atomic uint64_t nunits;    /* lines (log), cpu-split cycles, or
                                   heap_churn rounds done so far */
    int error;                  /* 0, or the negative code it stopped on;
                                   read by main only after join */
} demo_worker_ctx_t;

/*
 * Thread start routine; arg is a demo_worker_ctx_t *.  Runs the shared
 * workload until shared->stop is set or an error occurs (then it records
 * the code in error and sets shared->stop), frees everything it
 * allocated, and returns NULL.
 */
void *demo_worker(void *arg);

/*
 * HOT (log workload).  Generates, parses and aggregates one batch of
 * w->shared->nbatch_lines lines, copying them into a batch buffer of a
 * random size between 64 KiB and 1 MiB that is freed at the end of the
 * batch.  *seq is the worker's running line number.
 *
 * Returns the number of lines done (>= 0), or a negative code: -ENOMEM,
 * or DEMO_PARSE_* if a generated line did not parse.  Thread-safe with a
 * per-thread tok and rng.
 */
int demo_process_batch(demo_worker_ctx_t *w, json_tokener *tok,
                       demo_rng_t *rng, uint64_t *seq);

#endif
