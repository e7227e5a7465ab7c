/*
 * fuzz_threadcreate.c - the thread-creation answer (LYNX_CMD_THREADCREATE):
 * input = lynx_threadcreate_reply_t, then the bulk
 * (lynx_threadcreate_rec_t[nrecords]).  Checked and added by
 * lynx_threadcreate_add(), with reply.capacity as the number of records
 * an earlier copy had (the delta of ?seconds=N); then encoded and printed.
 */
#include "fuzz_common.h"
#include "protocol/block_threads.h"

static const char *const types[] = {"threadcreate", "count"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lynx_threadcreate_reply_t rep;
    void *bulk;
    size_t bulk_len;
    lynx_pprof_t *p;
    int rc;

    if (fuzz_answer(data, size, &rep, sizeof(rep), &bulk, &bulk_len) != 0) {
        return 0;
    }
    rc = lynx_threadcreate_add(NULL, &rep, bulk, bulk_len, 0);
    FUZZ_CHECK(rc == 0 || rc == LYNX_EPROTO);
    if (rc != 0) {
        free(bulk);
        return 0;
    }
    FUZZ_CHECK((uint64_t)rep.nrecords * sizeof(lynx_threadcreate_rec_t) ==
               bulk_len);
    p = fuzz_builder(types, 1);
    rc = lynx_threadcreate_add(p, &rep, bulk, bulk_len, rep.capacity);
    FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
    FUZZ_CHECK(lynx_pprof_nsamples(p) <= rep.nrecords);
    fuzz_exercise(p, lynx_profile_threadcreate.text);
    lynx_pprof_destroy(p);
    free(bulk);
    return 0;
}
