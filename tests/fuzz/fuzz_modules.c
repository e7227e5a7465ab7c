/*
 * fuzz_modules.c - the modules region of a block (lynx_modules_t and its
 * records) as an agent could write it: input = the region.  Decoded by
 * lynx_modules_decode(); every record it keeps must be one the pprof
 * builder accepts, and the builder then maps addresses in each module.
 */
#include "fuzz_common.h"
#include "protocol/block.h"
#include "client/symbolize.h"
#include "client/target.h"

static const char *const types[] = {"samples", "count"};

static lynx_module_t out[LYNX_MAX_MODULES];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    void *region;
    size_t n = 0;
    lynx_pprof_t *p;
    int rc;

    /* The region is 64-byte aligned in the block. */
    region = aligned_alloc(64, size / 64 * 64 + 64);
    FUZZ_CHECK(region != NULL);
    memcpy(region, data, size);
    /* A small out_cap sometimes, as a reader with less room. */
    rc = lynx_modules_decode(region, size, out,
                             size > 0 && data[0] == 0x5a ? 3
                                                         : LYNX_MAX_MODULES,
                             &n);
    FUZZ_CHECK(rc == 0 || rc == LYNX_EBADSIZE);
    if (rc != 0) {
        FUZZ_CHECK(n == 0);
        free(region);
        return 0;
    }
    FUZZ_CHECK(n <= LYNX_MAX_MODULES &&
               sizeof(lynx_modules_t) + n * sizeof(lynx_module_t) <= size);
    p = lynx_pprof_create();
    FUZZ_CHECK(p != NULL);
    FUZZ_CHECK(lynx_pprof_add_sample_type(p, types[0], types[1]) == 0);
    FUZZ_CHECK(lynx_pprof_set_modules(p, out, n) == 0);
    for (size_t i = 0; i < n; i++) {
        uint64_t pcs[3] = {out[i].start, out[i].limit - 1,
                           out[i].start + (out[i].limit - out[i].start) / 2};
        int64_t one = 1;
        const lynx_module_t *m = lynx_module_find(out, n, pcs[0]);
        FUZZ_CHECK(m != NULL && pcs[0] >= m->start && pcs[0] < m->limit);
        FUZZ_CHECK(memchr(out[i].path, '\0', sizeof(out[i].path)) != NULL);
        rc = lynx_pprof_add_sample(p, pcs, 3, 1, &one, 1, NULL, 0);
        FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
    }
    fuzz_exercise(p, NULL);
    lynx_pprof_destroy(p);
    free(region);
    return 0;
}
