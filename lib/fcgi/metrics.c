/*
 * fcgi/metrics.c - the Prometheus exposition of every target (see
 * fcgi/metrics.h).  Samples of one metric family are written together
 * (the format requires it), so everything is fetched first: one memory
 * statistics call, two lock summaries and one thread-creation summary per
 * target, all cheap (no stacks are copied).  Names carry their unit
 * (_bytes, _seconds) and counters end in _total.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protocol/block_threads.h"
#include "fcgi/metrics.h"
#include "client/target.h"
#include "protocol/clock.h"

typedef struct tdata {
    char name[LYNX_TARGET_NAME_MAX];
    int up;
    int asked;         /* fetch() ran for it (a live target) */
    int timed_out;     /* an agent call timed out, or the deadline passed */
    int have_mem;
    lynx_memstats_t ms;
    int64_t started_unix_ns;
    int cpu_running;
    int have_locks;
    lynx_locks_reply_t locks[2];   /* block, mutex */
    int have_tc;
    lynx_threadcreate_reply_t tc;
} tdata_t;

/* What a call may wait: timeout_ns, but not past the scrape's deadline. */
static int64_t budget(int64_t timeout_ns, int64_t deadline)
{
    int64_t left = deadline - lynx_mono_ns();

    return left < timeout_ns ? left : timeout_ns;
}

/* A call that timed out marks the target and ends its fetch: it is not
 * asked again during this scrape. */
static int timed_out(tdata_t *d, int rc)
{
    if (rc == LYNX_ETIMEOUT) {
        d->timed_out = 1;
    }
    return d->timed_out;
}

static void fetch(tdata_t *d, lynx_target_t *t, int64_t timeout_ns,
                  int64_t deadline)
{
    lynx_sessions_t *ss;
    int rc;

    d->asked = 1;
    if (budget(timeout_ns, deadline) <= 0) {
        d->timed_out = 1;
        return;
    }
    d->started_unix_ns = lynx_target_started_unix_ns(t);
    rc = lynx_target_memstats(t, &d->ms, budget(timeout_ns, deadline));
    d->have_mem = rc == 0;
    d->up = d->have_mem;
    if (timed_out(d, rc)) {
        return;
    }
    ss = lynx_block_region_ptr(lynx_target_block(t), LYNX_REGION_SESSIONS,
                               sizeof(*ss), NULL);
    for (int i = 0; ss != NULL && i < LYNX_MAX_SESSIONS; i++) {
        if (((volatile lynx_session_t *)&ss->sessions[i])->state ==
            LYNX_SESSION_RUNNING) {
            d->cpu_running = 1;
        }
    }
    d->have_locks = 1;
    for (uint32_t k = 0; k < 2 && d->have_locks; k++) {
        lynx_locks_arg_t arg = {k == 0 ? LYNX_LOCKS_BLOCK : LYNX_LOCKS_MUTEX,
                                LYNX_LOCKS_SUMMARY};
        rc = lynx_target_call(t, LYNX_CMD_LOCKS, &arg, sizeof(arg),
                              &d->locks[k], sizeof(d->locks[k]), NULL, 0,
                              NULL, budget(timeout_ns, deadline), NULL, 0);
        d->have_locks = rc == 0;
        if (timed_out(d, rc)) {
            return;
        }
    }
    {
        lynx_threadcreate_arg_t arg = {LYNX_LOCKS_SUMMARY, 0};
        rc = lynx_target_call(t, LYNX_CMD_THREADCREATE, &arg, sizeof(arg),
                              &d->tc, sizeof(d->tc), NULL, 0, NULL,
                              budget(timeout_ns, deadline), NULL, 0);
        d->have_tc = rc == 0;
        timed_out(d, rc);
    }
}

typedef enum { GAUGE, COUNTER } mtype_t;

/* What a metric reads from a target: a value, or < 0 when absent. */
typedef double (*getter_cb)(const tdata_t *d);

typedef struct metric {
    const char *name;
    mtype_t type;
    const char *help;
    getter_cb get;
} metric_t;

#define NA (-1.0)
#define MS(field) \
    static double get_##field(const tdata_t *d) \
    { \
        return d->have_mem && d->ms.field >= 0 ? (double)d->ms.field : NA; \
    }
#define MS_NS(field) \
    static double get_##field(const tdata_t *d) \
    { \
        return d->have_mem && d->ms.field >= 0 ? (double)d->ms.field / 1e9 \
                                               : NA; \
    }
#define ALLOC(field) \
    static double get_##field(const tdata_t *d) \
    { \
        return d->have_mem && \
                       (d->ms.flags & LYNX_MEMSTATS_HAVE_ALLOC_COUNTERS) && \
                       d->ms.field >= 0 \
                   ? (double)d->ms.field \
                   : NA; \
    }

static double get_up(const tdata_t *d) { return d->up; }
static double get_timed_out(const tdata_t *d)
{
    return d->asked ? d->timed_out : NA;
}
static double get_start(const tdata_t *d)
{
    return d->started_unix_ns > 0 ? (double)d->started_unix_ns / 1e9 : NA;
}
MS_NS(uptime_ns)
MS(threads)
MS(open_fds)
MS(resident_bytes)
MS(resident_peak_bytes)
MS(resident_anon_bytes)
MS(resident_file_bytes)
MS(virtual_bytes)
MS(data_bytes)
MS(stack_bytes)
MS(swap_bytes)
MS_NS(cpu_user_ns)
MS_NS(cpu_system_ns)
MS(minor_faults)
MS(major_faults)
MS(heap_in_use_bytes)
MS(heap_free_bytes)
MS(heap_arena_bytes)
MS(heap_mmap_bytes)
MS(heap_mmap_chunks)
MS(heap_free_chunks)
MS(heap_releasable_bytes)
ALLOC(alloc_count)
ALLOC(free_count)
ALLOC(alloc_bytes_total)
ALLOC(live_bytes)
ALLOC(live_objects)

static double get_cpu_running(const tdata_t *d)
{
    return d->up ? d->cpu_running : NA;
}
static double get_block_events(const tdata_t *d)
{
    return d->have_locks ? (double)d->locks[0].contentions : NA;
}
static double get_block_delay(const tdata_t *d)
{
    return d->have_locks ? (double)d->locks[0].delay_ns / 1e9 : NA;
}
static double get_block_rate(const tdata_t *d)
{
    return d->have_locks ? (double)d->locks[0].rate / 1e9 : NA;
}
static double get_mutex_events(const tdata_t *d)
{
    return d->have_locks ? (double)d->locks[1].contentions : NA;
}
static double get_mutex_delay(const tdata_t *d)
{
    return d->have_locks ? (double)d->locks[1].delay_ns / 1e9 : NA;
}
static double get_mutex_fraction(const tdata_t *d)
{
    return d->have_locks ? (double)d->locks[1].rate : NA;
}
static double get_created(const tdata_t *d)
{
    return d->have_tc ? (double)d->tc.created : NA;
}

static const metric_t metrics[] = {
    {"lynxprof_target_up", GAUGE,
     "1 if the target's agent answered this scrape, else 0.", get_up},
    {"lynxprof_target_timed_out", GAUGE,
     "1 if the target's agent did not answer in time during this scrape "
     "(it was then asked nothing more), else 0.", get_timed_out},
    {"lynxprof_process_start_time_seconds", GAUGE,
     "Start time of the target process since the Unix epoch.", get_start},
    {"lynxprof_process_uptime_seconds", GAUGE,
     "Time since the target process started.", get_uptime_ns},
    {"lynxprof_process_threads", GAUGE, "Threads of the target process.",
     get_threads},
    {"lynxprof_process_open_fds", GAUGE, "Open file descriptors.",
     get_open_fds},
    {"lynxprof_process_resident_memory_bytes", GAUGE,
     "Resident set size (VmRSS).", get_resident_bytes},
    {"lynxprof_process_resident_memory_peak_bytes", GAUGE,
     "Peak resident set size (VmHWM).", get_resident_peak_bytes},
    {"lynxprof_process_resident_anon_bytes", GAUGE,
     "Resident anonymous memory (RssAnon).", get_resident_anon_bytes},
    {"lynxprof_process_resident_file_bytes", GAUGE,
     "Resident file-backed memory (RssFile).", get_resident_file_bytes},
    {"lynxprof_process_virtual_memory_bytes", GAUGE,
     "Virtual memory size (VmSize).", get_virtual_bytes},
    {"lynxprof_process_data_bytes", GAUGE,
     "Data, heap and anonymous mappings (VmData).", get_data_bytes},
    {"lynxprof_process_stack_bytes", GAUGE, "Main thread's stack (VmStk).",
     get_stack_bytes},
    {"lynxprof_process_swap_bytes", GAUGE, "Swapped-out memory (VmSwap).",
     get_swap_bytes},
    {"lynxprof_process_cpu_user_seconds_total", COUNTER,
     "User CPU time of the target process.", get_cpu_user_ns},
    {"lynxprof_process_cpu_system_seconds_total", COUNTER,
     "System CPU time of the target process.", get_cpu_system_ns},
    {"lynxprof_process_minor_faults_total", COUNTER, "Minor page faults.",
     get_minor_faults},
    {"lynxprof_process_major_faults_total", COUNTER, "Major page faults.",
     get_major_faults},
    {"lynxprof_heap_in_use_bytes", GAUGE,
     "Bytes in use by the allocator's callers (mallinfo2 uordblks + hblkhd).",
     get_heap_in_use_bytes},
    {"lynxprof_heap_free_bytes", GAUGE,
     "Free bytes inside the allocator's arenas (fordblks).",
     get_heap_free_bytes},
    {"lynxprof_heap_arena_bytes", GAUGE,
     "Bytes the allocator obtained for its arenas (arena).",
     get_heap_arena_bytes},
    {"lynxprof_heap_mmap_bytes", GAUGE,
     "Bytes in chunks mapped directly (hblkhd).", get_heap_mmap_bytes},
    {"lynxprof_heap_mmap_chunks", GAUGE, "Chunks mapped directly (hblks).",
     get_heap_mmap_chunks},
    {"lynxprof_heap_free_chunks", GAUGE, "Free chunks in arenas (ordblks).",
     get_heap_free_chunks},
    {"lynxprof_heap_releasable_bytes", GAUGE,
     "Trimmable bytes at the top of the main arena (keepcost).",
     get_heap_releasable_bytes},
    {"lynxprof_alloc_allocations_total", COUNTER,
     "Allocations made (exact, from the heap profiler).", get_alloc_count},
    {"lynxprof_alloc_frees_total", COUNTER,
     "Frees made (exact, from the heap profiler).", get_free_count},
    {"lynxprof_alloc_allocated_bytes_total", COUNTER,
     "Bytes allocated in total (exact).", get_alloc_bytes_total},
    {"lynxprof_alloc_live_bytes", GAUGE, "Bytes allocated and not freed.",
     get_live_bytes},
    {"lynxprof_alloc_live_objects", GAUGE,
     "Objects allocated and not freed.", get_live_objects},
    {"lynxprof_cpu_profile_running", GAUGE,
     "1 while a CPU profiling session runs on the target.",
     get_cpu_running},
    {"lynxprof_block_contentions_total", COUNTER,
     "Estimated waits on pthread locks and condition variables (block "
     "profile, debiased).", get_block_events},
    {"lynxprof_block_delay_seconds_total", COUNTER,
     "Estimated time spent waiting on them (block profile, debiased).",
     get_block_delay},
    {"lynxprof_block_profile_rate_seconds", GAUGE,
     "Block profile sampling rate (LYNXPROF_BLOCK_RATE); 0 = off.",
     get_block_rate},
    {"lynxprof_mutex_contentions_total", COUNTER,
     "Estimated contended releases of pthread mutexes and rwlocks (mutex "
     "profile, debiased).", get_mutex_events},
    {"lynxprof_mutex_delay_seconds_total", COUNTER,
     "Estimated waiting caused by the holders (mutex profile).",
     get_mutex_delay},
    {"lynxprof_mutex_profile_fraction", GAUGE,
     "Mutex profile sampling fraction 1/N (LYNXPROF_MUTEX_FRACTION); 0 = "
     "off.", get_mutex_fraction},
    {"lynxprof_threads_created_total", COUNTER,
     "Threads created with pthread_create since the agent was loaded.",
     get_created},
};

typedef struct scrape {
    tdata_t *d;          /* LYNX_TARGETS_MAX entries */
    size_t nd;
    size_t nlive;
    int64_t timeout_ns;  /* per call */
    int64_t deadline;    /* of the whole scrape, monotonic */
} scrape_t;

static int scrape_one(lynx_target_t *t, const char *name, int status,
                      void *arg)
{
    scrape_t *s = arg;
    tdata_t *d;

    if (status != 0 && status != LYNX_ESTALE) {
        return 0; /* dead blocks are not targets */
    }
    d = &s->d[s->nd++];
    snprintf(d->name, sizeof(d->name), "%s", name);
    if (status == 0) {
        fetch(d, t, s->timeout_ns, s->deadline);
        s->nlive++;
    } /* else hung (stopped, wedged): reported down, not asked */
    return 0;
}

int lynx_metrics_text(int64_t timeout_ns, char **out, size_t *out_len)
{
    scrape_t s = {NULL, 0, 0, timeout_ns, lynx_mono_ns() + 2 * timeout_ns};
    tdata_t *d;
    size_t nd;
    size_t nlive;
    char *buf = NULL;
    size_t len = 0;
    FILE *f;
    int rc;

    s.d = calloc(LYNX_TARGETS_MAX, sizeof(*s.d));
    if (s.d == NULL) {
        return -ENOMEM;
    }
    rc = lynx_target_foreach(LYNX_VISIT_ATTACHED, scrape_one, &s);
    if (rc != 0) {
        free(s.d);
        return rc;
    }
    d = s.d;
    nd = s.nd;
    nlive = s.nlive;
    f = open_memstream(&buf, &len);
    if (f == NULL) {
        free(d);
        return -ENOMEM;
    }
    fprintf(f, "# HELP lynxprof_targets Targets with a live agent on this "
               "host.\n# TYPE lynxprof_targets gauge\nlynxprof_targets %zu\n",
            nlive);
    for (size_t m = 0; m < sizeof(metrics) / sizeof(metrics[0]); m++) {
        int header = 0;
        for (size_t i = 0; i < nd; i++) {
            double v = metrics[m].get(&d[i]);
            if (v < 0) {
                continue;
            }
            if (!header) {
                fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", metrics[m].name,
                        metrics[m].help, metrics[m].name,
                        metrics[m].type == GAUGE ? "gauge" : "counter");
                header = 1;
            }
            /* Names are [A-Za-z0-9._-]: nothing to escape in the label. */
            fprintf(f, "%s{target=\"%s\"} %.17g\n", metrics[m].name,
                    d[i].name, v);
        }
    }
    free(d);
    if (fclose(f) != 0 || buf == NULL) {
        free(buf);
        return -ENOMEM;
    }
    *out = buf;
    *out_len = len;
    return 0;
}
