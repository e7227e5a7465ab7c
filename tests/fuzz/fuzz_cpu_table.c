/*
 * fuzz_cpu_table.c - the CPU table of a block (lynx_cpu_table_t and its
 * stacks) as an agent could write it when an endpoint spools a session:
 * input = the region.  Copied by cpu_raw_from_table() for record 0; what
 * it keeps must be in bounds, must sum to the samples it reports, must
 * survive the spool's raw file (written and read back the same) and is
 * then built into the session's pprof, encoded and printed.
 */
#include "client/cpu_spool.h"
#include "fuzz_common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cpu_raw_t raw;
    cpu_raw_t back;
    uint64_t samples = 0;
    uint64_t lost = 0;
    uint64_t sum = 0;
    uint8_t *bytes = NULL;
    size_t len = 0;
    lynx_pprof_t *p;
    void *region;
    int rc;

    region = aligned_alloc(64, size / 64 * 64 + 64);
    FUZZ_CHECK(region != NULL);
    memcpy(region, data, size);
    memset(&raw, 0, sizeof(raw));
    rc = cpu_raw_from_table(region, size, 0, &raw, &samples, &lost);
    free(region);
    FUZZ_CHECK(rc == 0 || rc == LYNX_ENOSESSION || rc == LYNX_EBADSIZE);
    if (rc != 0) {
        FUZZ_CHECK(raw.stacks == NULL && raw.nstacks == 0);
        return 0;
    }
    FUZZ_CHECK(sizeof(lynx_cpu_table_t) +
                   raw.nstacks * sizeof(lynx_cpu_stack_t) <= size);
    for (size_t i = 0; i < raw.nstacks; i++) {
        FUZZ_CHECK(raw.stacks[i].depth >= 1 &&
                   raw.stacks[i].depth <= LYNX_CPU_MAX_DEPTH &&
                   raw.stacks[i].count >= 1 &&
                   raw.stacks[i].count <= CPU_RAW_COUNT_MAX);
        sum += raw.stacks[i].count;
    }
    FUZZ_CHECK(sum == samples);
    /* As the endpoint spools it: 100 Hz, the fixed modules. */
    raw.period_ns = 10000000;
    raw.time_nanos = 1700000000000000000LL;
    raw.duration_nanos = 30LL * 1000000000;
    raw.mods = calloc(2, sizeof(lynx_module_t));
    FUZZ_CHECK(raw.mods != NULL);
    memcpy(raw.mods, fuzz_modules(&raw.nmods), 2 * sizeof(lynx_module_t));
    FUZZ_CHECK(cpu_raw_encode(&raw, &bytes, &len) == 0);
    FUZZ_CHECK(cpu_raw_decode(bytes, len, &back) == 0);
    FUZZ_CHECK(back.nstacks == raw.nstacks && back.nmods == raw.nmods);
    cpu_raw_fini(&back);
    free(bytes);
    p = cpu_raw_pprof(&raw, lost, &rc);
    FUZZ_CHECK(p != NULL && rc == 0);
    FUZZ_CHECK(lynx_pprof_nsamples(p) <= raw.nstacks);
    fuzz_exercise(p, NULL);
    lynx_pprof_destroy(p);
    cpu_raw_fini(&raw);
    return 0;
}
