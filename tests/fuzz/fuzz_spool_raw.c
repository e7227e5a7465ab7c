/*
 * fuzz_spool_raw.c - a session's raw stacks (<id>.stacks, "LYNXSTK3" with
 * labels, or "LYNXSTK2"/"LYNXSTK1" of older versions) in the spool
 * directory: input = the file.  Decoded by cpu_raw_decode(); what it
 * accepts must encode back to the same bytes (an older file: to a version
 * 3 file that decodes and encodes to itself), and is then built into the
 * session's pprof (cpu_raw_pprof, with the labels made safe), encoded and
 * printed.
 */
#include "fuzz_common.h"
#include "client/cpu_spool.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cpu_raw_t raw;
    uint8_t *again = NULL;
    size_t again_len = 0;
    lynx_pprof_t *p;
    int rc;

    rc = cpu_raw_decode(data, size, &raw);
    FUZZ_CHECK(rc == 0 || rc == -EINVAL || rc == -ENOMEM);
    if (rc != 0) {
        FUZZ_CHECK(raw.mods == NULL && raw.stacks == NULL);
        return 0;
    }
    FUZZ_CHECK(raw.period_ns > 0 && raw.duration_nanos >= 0);
    FUZZ_CHECK(raw.nmods <= LYNX_MAX_MODULES);
    for (size_t i = 0; i < raw.nstacks; i++) {
        FUZZ_CHECK(raw.stacks[i].depth >= 1 &&
                   raw.stacks[i].depth <= LYNX_CPU_MAX_DEPTH);
    }
    FUZZ_CHECK(cpu_raw_encode(&raw, &again, &again_len) == 0);
    if (size >= 8 && (memcmp(data, "LYNXSTK1", 8) == 0 ||
                      memcmp(data, "LYNXSTK2", 8) == 0)) {
        cpu_raw_t v2;
        uint8_t *twice = NULL;
        size_t twice_len = 0;

        FUZZ_CHECK(cpu_raw_decode(again, again_len, &v2) == 0);
        FUZZ_CHECK(cpu_raw_encode(&v2, &twice, &twice_len) == 0);
        FUZZ_CHECK(twice_len == again_len &&
                   memcmp(twice, again, again_len) == 0);
        free(twice);
        cpu_raw_fini(&v2);
    } else {
        FUZZ_CHECK(again_len == size && memcmp(again, data, size) == 0);
    }
    free(again);
    p = cpu_raw_pprof(&raw, raw.nstacks, &rc);
    /* Module records are not checked by the decoder: the builder refuses
     * a bad one (-EINVAL), and the flame endpoint reports that. */
    FUZZ_CHECK((p != NULL && rc == 0) ||
               (p == NULL && (rc == -EINVAL || rc == -ENOMEM)));
    if (p != NULL) {
        FUZZ_CHECK(lynx_pprof_nsamples(p) <= raw.nstacks);
        fuzz_exercise(p, NULL);
        lynx_pprof_destroy(p);
    }
    cpu_raw_fini(&raw);
    return 0;
}
