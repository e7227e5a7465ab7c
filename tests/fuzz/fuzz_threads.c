/*
 * fuzz_threads.c - the thread dump answer (LYNX_CMD_THREAD_DUMP): input =
 * lynx_thread_dump_reply_t, then the bulk (lynx_thread_rec_t[nthreads]).
 * Decoded by lynx_thread_dump_decode(), then printed as the per-thread
 * text (debug=2) and built as the goroutine profile.
 */
#include "fuzz_common.h"
#include "client/thread_dump.h"

static const char *const types[] = {"thread", "count"};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lynx_thread_dump_t d;
    void *bulk;
    size_t bulk_len;
    char *text = NULL;
    size_t text_len = 0;
    lynx_pprof_t *p;
    int rc;

    memset(&d, 0, sizeof(d));
    if (fuzz_answer(data, size, &d.info, sizeof(d.info), &bulk,
                    &bulk_len) != 0) {
        return 0;
    }
    rc = lynx_thread_dump_decode(&d, bulk, bulk_len);
    FUZZ_CHECK(rc == 0 || rc == LYNX_EPROTO);
    if (rc != 0) {
        lynx_thread_dump_fini(&d);
        return 0;
    }
    FUZZ_CHECK(d.nthreads == d.info.nthreads &&
               d.nthreads * sizeof(lynx_thread_rec_t) == bulk_len);
    for (size_t i = 0; i < d.nthreads; i++) {
        FUZZ_CHECK(d.threads[i].depth <= LYNX_STACK_MAX_DEPTH);
        FUZZ_CHECK(memchr(d.threads[i].name, '\0',
                          sizeof(d.threads[i].name)) != NULL);
    }
    snprintf(d.target, sizeof(d.target), "fuzz");
    d.pid = 4242;
    /* The fixed modules, copied: fini frees them. */
    {
        const lynx_module_t *mods = fuzz_modules(&d.nmods);
        d.mods = malloc(d.nmods * sizeof(*d.mods));
        FUZZ_CHECK(d.mods != NULL);
        memcpy(d.mods, mods, d.nmods * sizeof(*d.mods));
    }
    rc = lynx_thread_dump_text(&d, NULL, &text, &text_len);
    FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
    if (rc == 0) {
        FUZZ_CHECK(strlen(text) == text_len);
        free(text);
    }
    p = fuzz_builder(types, 1);
    rc = lynx_thread_dump_add(p, &d);
    FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
    FUZZ_CHECK(lynx_pprof_nsamples(p) <= d.nthreads);
    fuzz_exercise(p, lynx_profile_goroutine.text);
    lynx_pprof_destroy(p);
    lynx_thread_dump_fini(&d);
    return 0;
}
