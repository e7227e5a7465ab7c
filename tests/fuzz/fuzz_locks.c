/*
 * fuzz_locks.c - the lock contention answer (LYNX_CMD_LOCKS): input =
 * lynx_locks_reply_t, then the bulk (lynx_lock_rec_t[nrecords]).  Decoded
 * by lynx_locks_decode(); the first (reply.kind % (n + 1)) records also
 * serve as the earlier copy of a delta, so merging and subtracting run
 * too; then built, encoded and printed.
 */
#include "fuzz_common.h"
#include "protocol/block_threads.h"

static const char *const types[] = {
    "contentions", "count", "delay", "nanoseconds",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lynx_locks_reply_t rep;
    lynx_lock_rec_t *recs;
    lynx_lock_rec_t *before = NULL;
    size_t bulk_len;
    size_t n = 0;
    size_t nbefore;
    lynx_pprof_t *p;
    int rc;

    if (fuzz_answer(data, size, &rep, sizeof(rep), (void **)&recs,
                    &bulk_len) != 0) {
        return 0;
    }
    rc = lynx_locks_decode(&rep, recs, bulk_len, &n);
    FUZZ_CHECK(rc == 0 || rc == LYNX_EPROTO);
    if (rc != 0) {
        FUZZ_CHECK(n == 0);
        free(recs);
        return 0;
    }
    FUZZ_CHECK(n == rep.nrecords && n * sizeof(*recs) == bulk_len);
    for (size_t i = 0; i < n; i++) {
        FUZZ_CHECK(recs[i].depth <= LYNX_STACK_MAX_DEPTH);
    }
    nbefore = rep.kind % (n + 1);
    if (nbefore > 0) {
        before = malloc(nbefore * sizeof(*before));
        FUZZ_CHECK(before != NULL);
        memcpy(before, recs, nbefore * sizeof(*before));
    }
    p = fuzz_builder(types, 2);
    rc = lynx_locks_add(p, recs, n, before, nbefore);
    FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
    FUZZ_CHECK(lynx_pprof_nsamples(p) <= n);
    fuzz_exercise(p, rep.kind & 1 ? lynx_profile_block.text
                                  : lynx_profile_mutex.text);
    lynx_pprof_destroy(p);
    free(before);
    free(recs);
    return 0;
}
