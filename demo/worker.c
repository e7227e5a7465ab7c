/*
 * worker.c - worker threads and the per-batch pipeline (see worker.h).
 *
 * Call chains, as a profile of the log workload shows them:
 *   demo_worker -> demo_process_batch -> demo_generate_line
 *                                     -> demo_parse_line -> json-c
 *                                     -> demo_aggregate -> demo_hash_path
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pthread_setname_np */
#endif
#include "worker.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "demo.h"
#include "lynxprof-agent.h"
#include "loggen.h"
#include "parse.h"
#include "workloads.h"

#define BATCH_MIN_BYTES (64 * 1024)
#define BATCH_MAX_BYTES (1024 * 1024)
#define SLEEP_SLICE_NS 5000000      /* longest single sleep; bounds stop latency */
#define HEAP_CHURN_PAUSE_NS 10000000 /* heap-sites: sleep after each round */

/* Written once per unit of work so the optimizer keeps the batch buffer's
   contents and the cpu-split arithmetic; atomic because all workers
   write it. */
static _Atomic unsigned char work_sink;

static int64_t
monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
stopping(const demo_shared_t *sh)
{
    return atomic_load_explicit(&sh->stop, memory_order_relaxed);
}

/* Sleeps ns in slices, returning early once stop is set. */
static void
sleep_unless_stopped(const demo_shared_t *sh, int64_t ns)
{
    while (ns > 0 && !stopping(sh)) {
        int64_t slice = ns < SLEEP_SLICE_NS ? ns : SLEEP_SLICE_NS;
        struct timespec ts = { 0, (long) slice };

        nanosleep(&ts, NULL);
        ns -= slice;
    }
}

DEMO_NOINLINE int
demo_process_batch(demo_worker_ctx_t *w, json_tokener *tok, demo_rng_t *rng,
                   uint64_t *seq)
{
    size_t capacity = demo_rng_range(rng, BATCH_MIN_BYTES, BATCH_MAX_BYTES);
    char *batch = malloc(capacity);
    size_t used = 0;
    demo_request_t req;
    int ndone = 0;
    int rc = 0;

    if (batch == NULL) {
        return -ENOMEM;
    }
    for (unsigned i = 0; i < w->shared->nbatch_lines; i++) {
        size_t len;
        char *line;

        /* Each stage of a line under a request label of its own (a no-op
           without the profiler's agent). */
        lynx_label_push("stage", "generate");
        line = demo_generate_line(rng, (*seq)++, &len);
        lynx_label_pop();
        if (line == NULL) {
            rc = -ENOMEM;
            break;
        }
        lynx_label_push("stage", "parse");
        rc = demo_parse_line(tok, line, len, &req);
        lynx_label_pop();
        if (rc == 0 && used + len + 1 <= capacity) {
            memcpy(batch + used, line, len);
            used += len;
            batch[used++] = '\n';
        }
        free(line);
        if (rc != 0) {
            break;
        }
        lynx_label_push("stage", "aggregate");
        rc = demo_aggregate(w->shared->stats, &req);
        lynx_label_pop();
        if (rc != 0) {
            break;
        }
        ndone++;
    }
    if (used > 0) {
        atomic_store_explicit(&work_sink, (unsigned char) batch[used / 2],
                              memory_order_relaxed);
    }
    free(batch);
    return rc != 0 ? rc : ndone;
}

void *
demo_worker(void *arg)
{
    demo_worker_ctx_t *w = arg;
    demo_shared_t *sh = w->shared;
    json_tokener *tok = NULL;
    demo_split_t split;
    demo_rng_t rng;
    uint64_t seq = 0;
    int64_t sleep_debt_ns = 0;
    int rc = 0;

    /* All workers under one name: the profiler's thread label merges
       them. */
    pthread_setname_np(pthread_self(), "demo-worker");
    demo_rng_init(&rng, w->id + 1);
    memset(&split, 0, sizeof(split));
    split.value = w->id + 1;
    if (sh->workload == DEMO_WORKLOAD_LOG) {
        tok = json_tokener_new();
        if (tok == NULL) {
            w->error = -ENOMEM;
            return NULL;
        }
    }

    while (!stopping(sh)) {
        int64_t t0 = monotonic_ns();
        uint64_t nunits = 1;
        int64_t busy_ns;

        /* The request type of each unit of work, as a request label. */
        switch (sh->workload) {
        case DEMO_WORKLOAD_LOG:
            lynx_label_push("request", "log-batch");
            rc = demo_process_batch(w, tok, &rng, &seq);
            nunits = rc > 0 ? (uint64_t) rc : 0;
            break;
        case DEMO_WORKLOAD_CPU_SPLIT:
            lynx_label_push("request", "cpu-split");
            demo_cpu_split_cycle(&split);
            break;
        case DEMO_WORKLOAD_HEAP_SITES:
            lynx_label_push("request", "heap-churn");
            rc = heap_churn(&rng);
            break;
        }
        lynx_label_pop();
        if (rc < 0) {
            /* A broken pipeline would make every number meaningless:
               stop the whole run, main reports the error. */
            w->error = rc;
            atomic_store_explicit(&sh->stop, 1, memory_order_relaxed);
            break;
        }
        atomic_fetch_add_explicit(&w->nunits, nunits, memory_order_relaxed);
        busy_ns = monotonic_ns() - t0;

        if (sh->workload == DEMO_WORKLOAD_HEAP_SITES) {
            sleep_unless_stopped(sh, HEAP_CHURN_PAUSE_NS);
        }
        if (sh->intensity_pct < 100) {
            /* Busy b ns at intensity p% owes b * (100 - p) / p ns asleep;
               the debt carries over so short units average out. */
            sleep_debt_ns += busy_ns * (100 - (int64_t) sh->intensity_pct)
                             / (int64_t) sh->intensity_pct;
            if (sleep_debt_ns >= SLEEP_SLICE_NS) {
                int64_t t1 = monotonic_ns();

                sleep_unless_stopped(sh, sleep_debt_ns);
                sleep_debt_ns -= monotonic_ns() - t1;
            }
        }
    }

    atomic_store_explicit(&work_sink, (unsigned char) split.value,
                          memory_order_relaxed);
    if (tok != NULL) {
        json_tokener_free(tok);
    }
    return NULL;
}
