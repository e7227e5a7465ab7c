/*
 * fuzz_heap.c - the heap snapshot answer (LYNX_CMD_HEAP_SNAPSHOT) as an
 * agent could send it: input = lynx_heap_snapshot_reply_t, then the bulk
 * (packed records with their pcs).  Decoded by lynx_heap_table_add() as
 * client/heap_profile.c does, then built, encoded and printed as Go's text, alone
 * and as a delta against itself.
 */
#include "fuzz_common.h"
#include "protocol/block_heap.h"

static const char *const types[] = {
    "alloc_objects", "count", "alloc_space", "bytes",
    "inuse_objects", "count", "inuse_space", "bytes",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lynx_heap_snapshot_reply_t rep;
    void *bulk;
    size_t bulk_len;
    lynx_pprof_t *p;
    int rc;

    /* The heap fetch takes whole 8-byte words only. */
    if (fuzz_answer(data, size / 8 * 8, &rep, sizeof(rep), &bulk,
                    &bulk_len) != 0) {
        return 0;
    }
    rc = lynx_heap_table_add(NULL, bulk, bulk_len, rep.nrecords, 0);
    FUZZ_CHECK(rc == 0 || rc == LYNX_EPROTO);
    if (rc != 0) {
        free(bulk);
        return 0;
    }
    /* Every record holds at least its header. */
    FUZZ_CHECK((uint64_t)rep.nrecords * sizeof(lynx_heap_record_t) <=
               bulk_len);
    p = fuzz_builder(types, 4);
    rc = lynx_heap_table_add(p, bulk, bulk_len, rep.nrecords, 0);
    FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
    FUZZ_CHECK(lynx_pprof_nsamples(p) <= rep.nrecords);
    fuzz_exercise(p, lynx_profile_heap.text);
    /* A delta against the same snapshot: nothing allocated in between. */
    rc = lynx_heap_table_add(p, bulk, bulk_len, rep.nrecords, 1);
    FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
    fuzz_exercise(p, lynx_profile_allocs.text);
    lynx_pprof_destroy(p);
    free(bulk);
    return 0;
}
