/*
 * main.c - lynx-demo: a LogLynx-like Traefik access-log analyzer that
 * lynxprof is pointed at in tests, benchmarks and scripts.
 *
 * The main thread parses flags, starts --threads workers (worker.c), then
 * only watches the clock and the stop signal, printing a throughput line
 * every --report seconds; on SIGINT/SIGTERM or after --duration seconds it
 * stops and joins the workers, prints the final line that benchmarks parse,
 *     lines=<total> lines_per_sec=<rate> seconds=<elapsed>
 * frees everything and exits 0.  With --http PORT a server thread
 * (http.c) answers on 127.0.0.1:PORT until the same stop.  See README.md
 * for the workloads.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "signals.h"
#include "stats.h"
#include "worker.h"
#include "workloads.h"

#define MAX_THREADS 256
#define POLL_NS 20000000 /* main loop tick: bounds stop and report latency */

typedef struct options {
    unsigned nthreads;      /* 1..MAX_THREADS */
    unsigned intensity_pct; /* 1..100 */
    unsigned duration_s;    /* 0 = until SIGINT/SIGTERM */
    unsigned nbatch_lines;  /* >= 1 */
    unsigned report_s;      /* 0 = never */
    unsigned http_port;     /* 0..65535, 0 = no HTTP server */
    int quiet;
    demo_workload_t workload;
} options_t;

static const char usage_text[] =
    "usage: lynx-demo [options]\n"
    "  --threads N          worker threads (default 2)\n"
    "  --intensity N        percent of wall time busy, 1..100 (default 100)\n"
    "  --duration SECONDS   stop after this long, 0 = on SIGINT/SIGTERM "
    "(default 0)\n"
    "  --batch N            log lines per batch (default 64)\n"
    "  --report SECONDS     throughput line on stderr every N s, 0 = never "
    "(default 0)\n"
    "  --workload NAME      log (default), cpu-split or heap-sites\n"
    "  --http PORT          serve stats on http://127.0.0.1:PORT/, 0 = off "
    "(default 0)\n"
    "  --quiet              nothing on stderr but errors\n"
    "  --help\n";

static int64_t
monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Parses s as an unsigned in [lo, hi] into *out.  Returns 0 or -EINVAL. */
static int
parse_uint(const char *s, unsigned lo, unsigned hi, unsigned *out)
{
    char *end;
    unsigned long v;

    errno = 0;
    v = strtoul(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || s[0] == '-' || v < lo
        || v > hi) {
        return -EINVAL;
    }
    *out = (unsigned) v;
    return 0;
}

/* Returns 0, 1 if --help was given, or -EINVAL (message printed). */
static int
parse_options(int argc, char **argv, options_t *o)
{
    static const struct option longopts[] = {
        { "threads", required_argument, NULL, 't' },
        { "intensity", required_argument, NULL, 'i' },
        { "duration", required_argument, NULL, 'd' },
        { "batch", required_argument, NULL, 'b' },
        { "report", required_argument, NULL, 'r' },
        { "workload", required_argument, NULL, 'w' },
        { "http", required_argument, NULL, 'H' },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    int c;
    int idx;
    int rc = 0;

    o->nthreads = 2;
    o->intensity_pct = 100;
    o->duration_s = 0;
    o->nbatch_lines = 64;
    o->report_s = 0;
    o->http_port = 0;
    o->quiet = 0;
    o->workload = DEMO_WORKLOAD_LOG;

    for (;;) {
        idx = 0;
        c = getopt_long(argc, argv, "", longopts, &idx);
        if (c == -1) {
            break;
        }
        switch (c) {
        case 't':
            rc = parse_uint(optarg, 1, MAX_THREADS, &o->nthreads);
            break;
        case 'i':
            rc = parse_uint(optarg, 1, 100, &o->intensity_pct);
            break;
        case 'd':
            rc = parse_uint(optarg, 0, 86400 * 365, &o->duration_s);
            break;
        case 'b':
            rc = parse_uint(optarg, 1, 1000000, &o->nbatch_lines);
            break;
        case 'r':
            rc = parse_uint(optarg, 0, 86400, &o->report_s);
            break;
        case 'w':
            if (strcmp(optarg, "log") == 0) {
                o->workload = DEMO_WORKLOAD_LOG;
            } else if (strcmp(optarg, "cpu-split") == 0) {
                o->workload = DEMO_WORKLOAD_CPU_SPLIT;
            } else if (strcmp(optarg, "heap-sites") == 0) {
                o->workload = DEMO_WORKLOAD_HEAP_SITES;
            } else {
                rc = -EINVAL;
            }
            break;
        case 'H':
            rc = parse_uint(optarg, 0, 65535, &o->http_port);
            break;
        case 'q':
            o->quiet = 1;
            break;
        case 'h':
            fputs(usage_text, stdout);
            return 1;
        default:
            fputs(usage_text, stderr);
            return -EINVAL;
        }
        if (rc != 0) {
            fprintf(stderr, "lynx-demo: invalid value '%s' for --%s\n%s",
                    optarg, longopts[idx].name, usage_text);
            return -EINVAL;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "lynx-demo: unexpected argument '%s'\n%s",
                argv[optind], usage_text);
        return -EINVAL;
    }
    return 0;
}

static uint64_t
total_units(demo_worker_ctx_t *workers, unsigned n)
{
    uint64_t total = 0;

    for (unsigned i = 0; i < n; i++) {
        total += atomic_load_explicit(&workers[i].nunits,
                                      memory_order_relaxed);
    }
    return total;
}

/*
 * Starts o->nthreads workers with SIGINT/SIGTERM blocked in them.
 * Returns the number started; fewer than asked means pthread_create
 * failed (its code in *err).
 */
static unsigned
start_workers(demo_worker_ctx_t *workers, const options_t *o, int *err)
{
    sigset_t stop_set;
    sigset_t old_set;
    unsigned n;

    *err = 0;
    demo_signals_set(&stop_set);
    pthread_sigmask(SIG_BLOCK, &stop_set, &old_set);
    for (n = 0; n < o->nthreads; n++) {
        *err = pthread_create(&workers[n].thread, NULL, demo_worker,
                              &workers[n]);
        if (*err != 0) {
            break;
        }
    }
    pthread_sigmask(SIG_SETMASK, &old_set, NULL);
    return n;
}

/* Sleeps until a stop signal, the end of --duration, or a failed worker,
   printing --report lines on the way. */
static void
watch(demo_shared_t *sh, demo_worker_ctx_t *workers, const options_t *o,
      int64_t start_ns)
{
    int64_t end_ns = start_ns + (int64_t) o->duration_s * 1000000000;
    int64_t report_ns = (int64_t) o->report_s * 1000000000;
    int64_t next_report_ns = start_ns + report_ns;
    int64_t last_report_ns = start_ns;
    uint64_t last_units = 0;

    while (demo_signals_stop_requested() == 0) {
        struct timespec tick = { 0, POLL_NS };
        int64_t now;

        nanosleep(&tick, NULL);
        now = monotonic_ns();
        if (o->duration_s > 0 && now >= end_ns) {
            break;
        }
        if (atomic_load_explicit(&sh->stop, memory_order_relaxed)) {
            break;
        }
        if (report_ns > 0 && now >= next_report_ns) {
            uint64_t units = total_units(workers, o->nthreads);
            double dt = (double) (now - last_report_ns) / 1e9;

            if (!o->quiet) {
                fprintf(stderr,
                        "lynx-demo: t=%.1fs lines=%" PRIu64
                        " lines_per_sec=%.1f\n",
                        (double) (now - start_ns) / 1e9, units,
                        (double) (units - last_units) / dt);
            }
            last_units = units;
            last_report_ns = now;
            next_report_ns += report_ns;
        }
    }
}

int
main(int argc, char **argv)
{
    demo_shared_t shared;
    demo_heap_sites_t sites;
    demo_worker_ctx_t *workers = NULL;
    demo_http_t *http = NULL;
    options_t o;
    unsigned nstarted = 0;
    int64_t start_ns = 0;
    int exit_code = 1;
    int rc;

    rc = parse_options(argc, argv, &o);
    if (rc != 0) {
        return rc > 0 ? 0 : 2;
    }
    memset(&shared, 0, sizeof(shared));
    memset(&sites, 0, sizeof(sites));
    shared.workload = o.workload;
    shared.intensity_pct = o.intensity_pct;
    shared.nbatch_lines = o.nbatch_lines;
    atomic_init(&shared.stop, 0);

    rc = demo_signals_install();
    if (rc != 0) {
        fprintf(stderr, "lynx-demo: sigaction: %s\n", strerror(-rc));
        goto cleanup;
    }
    if (o.workload == DEMO_WORKLOAD_LOG) {
        shared.stats = demo_stats_create(DEMO_RECENT_DEFAULT);
        if (shared.stats == NULL) {
            fprintf(stderr, "lynx-demo: out of memory\n");
            goto cleanup;
        }
    }
    if (o.http_port != 0) {
        const char *what = "";

        http = demo_http_create((uint16_t) o.http_port, shared.stats,
                                o.nthreads, &rc, &what);
        if (http == NULL) {
            fprintf(stderr, "lynx-demo: --http %u: cannot %s 127.0.0.1:%u: "
                    "%s\n", o.http_port, what, o.http_port, strerror(-rc));
            goto cleanup;
        }
    }
    if (o.workload == DEMO_WORKLOAD_HEAP_SITES) {
        if (demo_heap_sites_init(&sites) != 0) {
            fprintf(stderr, "lynx-demo: out of memory for heap sites\n");
            goto cleanup;
        }
        printf("heap_sites small_bytes=%zu medium_bytes=%zu "
               "large_bytes=%zu\n",
               sites.small_bytes, sites.medium_bytes, sites.large_bytes);
        fflush(stdout);
    }

    workers = calloc(o.nthreads, sizeof(*workers));
    if (workers == NULL) {
        fprintf(stderr, "lynx-demo: out of memory\n");
        goto cleanup;
    }
    for (unsigned i = 0; i < o.nthreads; i++) {
        workers[i].shared = &shared;
        workers[i].id = i;
        atomic_init(&workers[i].nunits, 0);
    }

    start_ns = monotonic_ns();
    nstarted = start_workers(workers, &o, &rc);
    if (nstarted < o.nthreads) {
        fprintf(stderr, "lynx-demo: pthread_create: %s\n", strerror(rc));
        goto cleanup;
    }
    if (!o.quiet) {
        fprintf(stderr, "lynx-demo: pid %ld, %u threads, workload %s\n",
                (long) getpid(), o.nthreads,
                o.workload == DEMO_WORKLOAD_LOG         ? "log"
                : o.workload == DEMO_WORKLOAD_CPU_SPLIT ? "cpu-split"
                                                        : "heap-sites");
        if (http != NULL) {
            fprintf(stderr, "lynx-demo: http://127.0.0.1:%u/\n",
                    o.http_port);
        }
    }
    watch(&shared, workers, &o, start_ns);
    exit_code = 0;

cleanup:
    atomic_store_explicit(&shared.stop, 1, memory_order_release);
    for (unsigned i = 0; i < nstarted; i++) {
        pthread_join(workers[i].thread, NULL);
        if (workers[i].error != 0) {
            fprintf(stderr, "lynx-demo: worker %u stopped: error %d\n", i,
                    workers[i].error);
            exit_code = 1;
        }
    }
    if (exit_code == 0) {
        double seconds = (double) (monotonic_ns() - start_ns) / 1e9;
        uint64_t nlines = total_units(workers, nstarted);

        printf("lines=%" PRIu64 " lines_per_sec=%.1f seconds=%.3f\n", nlines,
               seconds > 0 ? (double) nlines / seconds : 0.0, seconds);
        if (!o.quiet && shared.stats != NULL) {
            demo_stats_summary_t sum;

            demo_stats_summary(shared.stats, &sum);
            fprintf(stderr,
                    "lynx-demo: services=%zu statuses=%zu recent=%zu "
                    "requests=%" PRIu64 " bytes=%" PRIu64
                    " latency_max_ms=%.1f\n",
                    sum.nservices, sum.nstatuses, sum.nrecent, sum.nrequests,
                    sum.size_bytes, (double) sum.latency_max_ns / 1e6);
        }
    }
    /* After the final line, so its ~200 ms stop latency is not counted in
       seconds=; before demo_stats_destroy(), because it reads the stats. */
    demo_http_destroy(http);
    free(workers);
    demo_stats_destroy(shared.stats);
    demo_heap_sites_fini(&sites);
    return exit_code;
}
