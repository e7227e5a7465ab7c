/*
 * cpu_build.c - time and memory of building a CPU profile in an endpoint
 * process: a session of a target is started and let run, then the same
 * library call the download endpoint makes (lynx_cpu_get, which copies the
 * CPU table and the module list out of the control block, symbolizes with
 * libdw, encodes and gzips the pprof and writes it to the spool) is timed,
 * with the process's peak resident memory before and after.
 *   cpu_build TARGET SECONDS HZ SPOOL_DIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "client/attach.h"
#include "client/cpu.h"
#include "protocol/clock.h"

static long peak_kib(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_maxrss;
}

int main(int argc, char **argv)
{
    lynx_cpu_session_t s;
    lynx_cpu_t *c;
    lynx_block_t *b;
    lynx_cpu_table_t *t;
    uint8_t *data = NULL;
    size_t len = 0;
    long rss0;
    int64_t t0;
    int64_t t1;
    int64_t t2;
    uint32_t nstacks;
    int rc;

    if (argc != 5) {
        fprintf(stderr, "usage: cpu_build TARGET SECONDS HZ SPOOL_DIR\n");
        return 2;
    }
    c = lynx_cpu_create(argv[4], 5000000000LL);
    if (c == NULL) {
        return 1;
    }
    rc = lynx_cpu_start(c, argv[1], atoll(argv[2]) * 1000000000LL,
                        (uint32_t)atoi(argv[3]), LYNX_ORIGIN_API, &s);
    if (rc != 0) {
        fprintf(stderr, "start: %s\n", lynx_strerror(rc));
        return 1;
    }
    /* Let it finish in the agent, without touching it. */
    sleep((unsigned)atoi(argv[2]) + 1);
    if (lynx_block_attach(argv[1], LYNX_ATTACH_ALLOW_DEAD, &b) != 0) {
        return 1;
    }
    t = lynx_block_region_ptr(b, LYNX_REGION_CPU, sizeof(*t), NULL);
    nstacks = t != NULL ? atomic_load(&t->nstacks) : 0;
    lynx_block_detach(b);

    rss0 = peak_kib();
    t0 = lynx_mono_ns();
    rc = lynx_cpu_get(c, s.id, &s); /* spools: builds the profile */
    t1 = lynx_mono_ns();
    if (rc == 0) {
        rc = lynx_cpu_profile(c, s.id, &s, &data, &len); /* from the spool */
    }
    t2 = lynx_mono_ns();
    if (rc != 0) {
        fprintf(stderr, "profile: %s\n", lynx_strerror(rc));
        return 1;
    }
    printf("stacks=%u samples=%llu build_ms=%.1f serve_ms=%.2f "
           "peak_rss_before_kib=%ld peak_rss_after_kib=%ld pprof_bytes=%zu\n",
           nstacks, (unsigned long long)s.samples, (t1 - t0) / 1e6,
           (t2 - t1) / 1e6, rss0, peak_kib(), len);
    free(data);
    lynx_cpu_destroy(c);
    return 0;
}
