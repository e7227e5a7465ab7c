/*
 * fuzz_common.h - helpers shared by the libFuzzer harnesses of tests/fuzz:
 * an invariant check that aborts (libFuzzer then saves the input), a fixed
 * module list for the decoders whose answers carry only addresses, and a
 * pass over everything the endpoints do with a filled pprof builder
 * (protobuf encoding, decoded back; folded text; flame JSON; Go's text),
 * without symbols: the harnesses never open files named by their input.
 *
 * Included by one harness each (static functions); built by run.sh.
 */
#ifndef LYNX_FUZZ_COMMON_H
#define LYNX_FUZZ_COMMON_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "client/pprof.h"
#include "client/profiles.h"
#include "client/profile.pb-c.h"

#define FUZZ_CHECK(cond)                                                   \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond,       \
                    __FILE__, __LINE__);                                   \
            abort();                                                       \
        }                                                                  \
    } while (0)

/* Split an input into a command's answer as lynx_mailbox_call() hands it
 * over: the fixed-size inline reply, then the bulk in a malloc'd copy of
 * its exact length (NULL when empty; the caller frees it).  -1 when the
 * input is shorter than the reply. */
static int fuzz_answer(const uint8_t *data, size_t size, void *reply,
                       size_t reply_size, void **bulk, size_t *bulk_len)
{
    if (size < reply_size) {
        return -1;
    }
    memcpy(reply, data, reply_size);
    *bulk_len = size - reply_size;
    *bulk = NULL;
    if (*bulk_len > 0) {
        *bulk = malloc(*bulk_len);
        FUZZ_CHECK(*bulk != NULL);
        memcpy(*bulk, data + reply_size, *bulk_len);
    }
    return 0;
}

/* Two modules, the shapes of an executable and a shared library; the seed
 * corpora put their addresses in these ranges. */
static const lynx_module_t *fuzz_modules(size_t *n)
{
    static lynx_module_t mods[2];

    if (mods[0].limit == 0) {
        mods[0].start = 0x400000;
        mods[0].limit = 0x500000;
        mods[0].file_offset = 0x1000;
        mods[0].build_id_len = 20;
        memset(mods[0].build_id, 0xab, 20);
        snprintf(mods[0].path, sizeof(mods[0].path), "/usr/bin/fuzz-target");
        mods[1].start = 0x7f0000001000;
        mods[1].limit = 0x7f0000100000;
        mods[1].load_bias = 0x7f0000000000;
        snprintf(mods[1].path, sizeof(mods[1].path), "[vdso]");
    }
    *n = 2;
    return mods;
}

/* Encode p (plain protobuf) and check that the bytes decode as a profile
 * with as many samples as p holds; then its folded text, flame JSON and
 * the kind's (or the generic) debug text.  Failures other than ENOMEM are
 * bugs of the builder: the decoders must not hand it anything it
 * refuses. */
static void fuzz_exercise(lynx_pprof_t *p, lynx_profile_text_cb text)
{
    uint8_t *pb = NULL;
    size_t pb_len = 0;
    char *out = NULL;
    size_t out_len = 0;
    json_object *flame = NULL;
    Perftools__Profiles__Profile *prof;
    int rc;

    rc = lynx_pprof_encode(p, NULL, 0, &pb, &pb_len);
    FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
    if (rc == 0) {
        prof = perftools__profiles__profile__unpack(NULL, pb_len, pb);
        FUZZ_CHECK(prof != NULL);
        FUZZ_CHECK(prof->n_sample == lynx_pprof_nsamples(p));
        perftools__profiles__profile__free_unpacked(prof, NULL);
        free(pb);
    }
    /* All samples, then those of one label (a numeric one matches too). */
    for (int focus = 0; focus < 2; focus++) {
        rc = lynx_pprof_folded(p, NULL, -1, focus ? "thread=1" : NULL, &out,
                               &out_len);
        FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
        if (rc == 0) {
            FUZZ_CHECK(strlen(out) == out_len);
            free(out);
        }
    }
    rc = lynx_pprof_flame_json(p, NULL, &flame);
    FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
    json_object_put(flame);
    if (text != NULL) {
        rc = text(p, NULL, &out, &out_len);
    } else {
        rc = lynx_pprof_debug_text(p, NULL, NULL, NULL, 0, &out, &out_len);
    }
    FUZZ_CHECK(rc == 0 || rc == -ENOMEM);
    if (rc == 0) {
        FUZZ_CHECK(strlen(out) == out_len);
        free(out);
    }
}

#ifdef LYNX_CLIENT_CPU_H
/* 1 if two sessions say the same (strings compared up to their NUL: what
 * follows it is never read). */
static int fuzz_same_session(const lynx_cpu_session_t *a,
                             const lynx_cpu_session_t *b)
{
    return strcmp(a->id, b->id) == 0 && strcmp(a->target, b->target) == 0 &&
           a->pid == b->pid && a->state == b->state &&
           a->origin == b->origin && a->hz == b->hz &&
           a->started_unix_ns == b->started_unix_ns &&
           a->duration_ns == b->duration_ns &&
           a->ended_unix_ns == b->ended_unix_ns &&
           a->samples == b->samples && a->lost_samples == b->lost_samples &&
           a->data_size_bytes == b->data_size_bytes &&
           a->spooled == b->spooled && strcmp(a->error, b->error) == 0;
}
#endif

/* A builder with the fixed modules and these sample types. */
static lynx_pprof_t *fuzz_builder(const char *const *types, size_t ntypes)
{
    lynx_pprof_t *p = lynx_pprof_create();
    const lynx_module_t *mods;
    size_t nmods;

    FUZZ_CHECK(p != NULL);
    for (size_t i = 0; i < ntypes; i++) {
        FUZZ_CHECK(lynx_pprof_add_sample_type(p, types[2 * i],
                                              types[2 * i + 1]) == 0);
    }
    mods = fuzz_modules(&nmods);
    FUZZ_CHECK(lynx_pprof_set_modules(p, mods, nmods) == 0);
    return p;
}

#endif
