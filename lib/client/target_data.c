/*
 * client/target_data.c - fetching profile data from a target (see
 * client/target_data.h).
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/attach.h"
#include "client/target_data.h"
#include "protocol/clock.h"

#define SEQLOCK_MAX_NS (100LL * 1000 * 1000)

int lynx_target_call(lynx_target_t *t, uint32_t cmd, const void *arg,
                     size_t arg_len, void *reply, size_t reply_len,
                     void **bulk, size_t rec_size, size_t *nrecs,
                     int64_t timeout_ns, char *msg, size_t msg_size)
{
    lynx_call_t call;
    void *data = NULL;
    int rc;

    if (bulk != NULL) {
        *bulk = NULL;
    }
    if (nrecs != NULL) {
        *nrecs = 0;
    }
    rc = lynx_mailbox_call(lynx_target_block(t), cmd, arg, arg_len, reply,
                           reply_len, bulk != NULL ? &data : NULL, &call,
                           timeout_ns);
    if (rc != 0) {
        return rc;
    }
    if (msg != NULL && msg_size > 0) {
        snprintf(msg, msg_size, "%s", call.message);
    }
    if (call.result != 0) {
        free(data);
        return call.result;
    }
    if (call.reply_len != reply_len ||
        (bulk != NULL && (rec_size == 0 || call.bulk_len % rec_size != 0))) {
        free(data);
        return LYNX_EPROTO;
    }
    if (bulk != NULL) {
        *bulk = data;
        if (nrecs != NULL) {
            *nrecs = call.bulk_len / rec_size;
        }
    }
    return 0;
}

static int module_ok(const lynx_module_t *m)
{
    return m->limit > m->start && m->build_id_len <= LYNX_BUILD_ID_MAX &&
           memchr(m->path, '\0', sizeof(m->path)) != NULL;
}

int lynx_modules_decode(const void *region, size_t size_bytes,
                        lynx_module_t *out, size_t out_cap, size_t *nmods)
{
    const lynx_modules_t *m = region;
    uint32_t cap;
    uint32_t n;
    size_t k = 0;

    *nmods = 0;
    if (size_bytes < sizeof(*m)) {
        return LYNX_EBADSIZE;
    }
    /* Each shared field is read once, into a local. */
    cap = m->capacity;
    n = m->nmodules;
    if (cap > LYNX_MAX_MODULES ||
        (size_bytes - sizeof(*m)) / sizeof(lynx_module_t) < cap) {
        return LYNX_EBADSIZE;
    }
    if (n > cap) {
        n = cap;
    }
    if (n > out_cap) {
        n = (uint32_t)out_cap;
    }
    memcpy(out, m->modules, n * sizeof(*out));
    for (uint32_t i = 0; i < n; i++) {
        if (module_ok(&out[i])) {
            out[k++] = out[i];
        }
    }
    *nmods = k;
    return 0;
}

int lynx_target_modules(lynx_target_t *t, lynx_module_t **mods,
                        size_t *nmods)
{
    return lynx_block_modules(lynx_target_block(t), mods, nmods);
}

int lynx_block_modules(const lynx_block_t *b, lynx_module_t **mods,
                       size_t *nmods)
{
    size_t size = 0;
    lynx_modules_t *m = lynx_block_region_ptr(b, LYNX_REGION_MODULES,
                                              sizeof(lynx_modules_t), &size);
    int64_t deadline = lynx_mono_ns() + SEQLOCK_MAX_NS;
    lynx_module_t *out;
    uint32_t cap;
    size_t k = 0;
    int rc;

    *mods = NULL;
    *nmods = 0;
    if (m == NULL) {
        return 0;
    }
    /* Room for the capacity seen now; a capacity that changes later
     * cannot make the copy overflow it (out_cap bounds it). */
    cap = *(volatile uint32_t *)&m->capacity;
    if (cap > LYNX_MAX_MODULES ||
        (size - sizeof(*m)) / sizeof(lynx_module_t) < cap) {
        return LYNX_EBADSIZE;
    }
    out = calloc((size_t)cap + 1, sizeof(*out));
    if (out == NULL) {
        return -ENOMEM;
    }
    for (;;) {
        uint32_t g1 = atomic_load_explicit(&m->generation,
                                           memory_order_acquire);
        uint32_t g2;
        rc = lynx_modules_decode(m, size, out, cap, &k);
        atomic_thread_fence(memory_order_acquire);
        g2 = atomic_load_explicit(&m->generation, memory_order_relaxed);
        if (rc != 0 || (g1 == g2 && (g1 & 1u) == 0) ||
            lynx_mono_ns() > deadline) {
            break;
        }
        sched_yield();
    }
    if (rc != 0) {
        free(out);
        return rc;
    }
    if (lynx_block_check_size(b) != 0) {
        /* The object shrank under the copy: the records are zeros. */
        free(out);
        return LYNX_EBADSIZE;
    }
    *mods = out;
    *nmods = k;
    return 0;
}

lynx_symbolizer_t *lynx_target_symbolizer(lynx_target_t *t)
{
    static lynx_symbolizer_t *sym;
    lynx_modfiles_t *files;

    if (sym == NULL) {
        sym = lynx_symbolizer_create();
        if (sym == NULL) {
            return NULL;
        }
    }
    files = lynx_modfiles_create(lynx_target_pid(t));
    if (files == NULL) {
        return NULL; /* unbound would trust the records: symbolize nothing */
    }
    lynx_symbolizer_set_files(sym, files);
    return sym;
}
