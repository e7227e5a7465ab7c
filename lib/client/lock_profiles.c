/*
 * client/lock_profiles.c - the "block" and "mutex" profile kinds, endpoint side.
 *
 * The agent records contention only while a window is open, and keeps
 * cumulative, debiased counts per stack over all windows (agent/lock_hooks.c).
 * A request copies them (LYNX_CMD_LOCKS); with ?seconds=N it opens a
 * window (LYNX_CMD_LOCKS_WINDOW), copies them, waits N seconds, copies
 * them again, closes the window and keeps the difference.
 * Sample types contentions/count and delay/nanoseconds, period type
 * contentions/count, as Go writes them.  Workload: a few requests a minute,
 * at most a few thousand stacks.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/attach.h"
#include "protocol/block_threads.h"
#include "client/profiles.h"
#include "client/target.h"
#include "protocol/clock.h"

/* Rate of the profile last built, for its text (an endpoint process
 * serves one request at a time). */
static int64_t last_rate[3];

int lynx_locks_decode(const lynx_locks_reply_t *rep, void *bulk,
                      size_t bulk_len, size_t *n)
{
    lynx_lock_rec_t *recs = bulk;

    *n = 0;
    if (bulk_len % sizeof(lynx_lock_rec_t) != 0 ||
        bulk_len / sizeof(lynx_lock_rec_t) != rep->nrecords) {
        return LYNX_EPROTO;
    }
    for (size_t i = 0; i < rep->nrecords; i++) {
        if (recs[i].depth > LYNX_STACK_MAX_DEPTH) {
            recs[i].depth = 0;
        }
    }
    *n = rep->nrecords;
    return 0;
}

static int fetch(lynx_target_t *t, uint32_t kind, uint32_t flags,
                 int64_t timeout_ns, lynx_locks_reply_t *rep,
                 lynx_lock_rec_t **recs, size_t *n, char *msg,
                 size_t msg_size)
{
    lynx_locks_arg_t arg = {kind, flags};
    void *bulk = NULL;
    size_t nbulk = 0;
    int rc = lynx_target_call(t, LYNX_CMD_LOCKS, &arg, sizeof(arg), rep,
                              sizeof(*rep), recs != NULL ? &bulk : NULL,
                              sizeof(lynx_lock_rec_t), &nbulk, timeout_ns,
                              msg, msg_size);

    if (rc == 0 && recs != NULL) {
        rc = lynx_locks_decode(rep, bulk, nbulk * sizeof(lynx_lock_rec_t),
                               n);
        if (rc != 0) {
            free(bulk);
            bulk = NULL;
        }
        *recs = bulk;
    }
    return rc;
}

/* Slack on the window's own expiry over the request's seconds: it closes
 * itself only if this endpoint never gets to close it. */
#define WINDOW_SLACK_NS (10LL * 1000 * 1000 * 1000)

static int window(lynx_target_t *t, uint32_t op, int64_t duration_ns,
                  uint64_t *id, int64_t timeout_ns, char *msg,
                  size_t msg_size)
{
    lynx_locks_window_arg_t arg;
    lynx_locks_window_reply_t rep;
    int rc;

    memset(&arg, 0, sizeof(arg));
    arg.op = op;
    arg.duration_ns = duration_ns;
    arg.id = *id;
    rc = lynx_target_call(t, LYNX_CMD_LOCKS_WINDOW, &arg, sizeof(arg), &rep,
                          sizeof(rep), NULL, 0, NULL, timeout_ns, msg,
                          msg_size);
    if (rc == 0 && op == LYNX_LOCKS_WINDOW_OPEN) {
        *id = rep.id;
    }
    return rc;
}

static int by_stack(const void *a, const void *b)
{
    const lynx_lock_rec_t *x = a;
    const lynx_lock_rec_t *y = b;

    if (x->depth != y->depth) {
        return x->depth < y->depth ? -1 : 1;
    }
    return memcmp(x->pcs, y->pcs, x->depth * sizeof(uint64_t));
}

/* Merge records with equal stacks (the agent may keep duplicates). */
static size_t merge_equal(lynx_lock_rec_t *r, size_t n)
{
    size_t k = 0;

    if (n < 2) {
        return n; /* r may be NULL when n is 0 */
    }
    qsort(r, n, sizeof(*r), by_stack);
    for (size_t i = 0; i < n; i++) {
        if (k > 0 && by_stack(&r[k - 1], &r[i]) == 0) {
            r[k - 1].contentions += r[i].contentions;
            r[k - 1].delay_ns += r[i].delay_ns;
        } else {
            r[k++] = r[i];
        }
    }
    return k;
}

/* later -= earlier, per stack; both sorted and merged. */
static void subtract(lynx_lock_rec_t *later, size_t nl,
                     const lynx_lock_rec_t *earlier, size_t ne)
{
    size_t j = 0;

    for (size_t i = 0; i < nl; i++) {
        int c = 1;
        while (j < ne && (c = by_stack(&earlier[j], &later[i])) < 0) {
            j++;
        }
        if (j < ne && c == 0) {
            later[i].contentions =
                later[i].contentions > earlier[j].contentions
                    ? later[i].contentions - earlier[j].contentions
                    : 0;
            later[i].delay_ns = later[i].delay_ns > earlier[j].delay_ns
                                    ? later[i].delay_ns - earlier[j].delay_ns
                                    : 0;
        }
    }
}

int lynx_locks_add(lynx_pprof_t *p, lynx_lock_rec_t *recs, size_t n,
                   lynx_lock_rec_t *before, size_t nbefore)
{
    int rc = 0;

    if (before != NULL) {
        nbefore = merge_equal(before, nbefore);
    }
    n = merge_equal(recs, n);
    subtract(recs, n, before, nbefore);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int64_t v[2] = {(int64_t)recs[i].contentions,
                        (int64_t)recs[i].delay_ns};
        if (recs[i].depth == 0 || (v[0] == 0 && v[1] == 0)) {
            continue;
        }
        rc = lynx_pprof_add_sample(p, recs[i].pcs, recs[i].depth, 0, v, 2,
                                   NULL, 0);
    }
    return rc;
}

static int build(uint32_t kind, lynx_target_t *t,
                 const lynx_profile_req_t *req, lynx_pprof_t *p, char *msg,
                 size_t msg_size)
{
    lynx_locks_reply_t rep;
    lynx_lock_rec_t *before = NULL;
    lynx_lock_rec_t *recs = NULL;
    lynx_module_t *mods = NULL;
    size_t nbefore = 0;
    size_t n = 0;
    size_t nmods = 0;
    int64_t start = lynx_real_ns();
    char note[160];
    uint64_t id = 0;
    int rc = 0;

    if (req->seconds > 0) {
        rc = window(t, LYNX_LOCKS_WINDOW_OPEN,
                    req->seconds * 1000000000LL + WINDOW_SLACK_NS, &id,
                    req->timeout_ns, msg, msg_size);
        if (rc == 0) {
            rc = fetch(t, kind, 0, req->timeout_ns, &rep, &before, &nbefore,
                       msg, msg_size);
        }
        if (rc == 0) {
            lynx_sleep_seconds(req->seconds);
        }
    }
    if (rc == 0) {
        rc = fetch(t, kind, 0, req->timeout_ns, &rep, &recs, &n, msg,
                   msg_size);
    }
    if (id != 0) {
        /* A failure here leaves the window to expire on its own. */
        window(t, LYNX_LOCKS_WINDOW_CLOSE, 0, &id, req->timeout_ns, NULL, 0);
    }
    if (rc != 0) {
        free(before);
        return rc;
    }
    if (rc == 0) {
        rc = lynx_target_modules(t, &mods, &nmods);
    }
    if (rc == 0) {
        rc = lynx_pprof_add_sample_type(p, "contentions", "count");
    }
    if (rc == 0) {
        rc = lynx_pprof_add_sample_type(p, "delay", "nanoseconds");
    }
    if (rc == 0) {
        rc = lynx_pprof_set_period(p, "contentions", "count", 1);
    }
    if (rc == 0) {
        rc = lynx_pprof_set_modules(p, mods, nmods);
    }
    lynx_pprof_set_time(p, req->seconds > 0 ? start : lynx_real_ns(),
                        req->seconds > 0 ? lynx_real_ns() - start : 0);
    if (rc == 0) {
        rc = lynx_locks_add(p, recs, n, before, nbefore);
    }
    if (rc == 0) {
        if (kind == LYNX_LOCKS_BLOCK) {
            snprintf(note, sizeof(note),
                     "block profile rate %" PRId64 " ns (LYNXPROF_BLOCK_RATE)"
                     "%s; %" PRIu64 " events lost",
                     rep.rate, rep.rate == 0 ? ": off" : "", rep.lost);
        } else {
            snprintf(note, sizeof(note),
                     "mutex profile fraction 1/%" PRId64
                     " (LYNXPROF_MUTEX_FRACTION)%s; %" PRIu64
                     " events lost, %" PRIu64 " waits on untracked locks",
                     rep.rate, rep.rate == 0 ? ": off" : "", rep.lost,
                     rep.untracked);
        }
        rc = lynx_pprof_add_comment(p, note);
    }
    last_rate[kind] = rep.rate;
    free(before);
    free(recs);
    free(mods);
    return rc;
}

static int count(uint32_t kind, lynx_target_t *t, int64_t timeout_ns,
                 int64_t *n)
{
    lynx_locks_reply_t rep;
    int rc = fetch(t, kind, LYNX_LOCKS_SUMMARY, timeout_ns, &rep, NULL, NULL,
                   NULL, 0);

    if (rc == 0) {
        *n = rep.nrecords;
    }
    return rc;
}

/* Go's text: "--- contention:", cycles/second (our cycles are ns), for
 * mutex the sampling period, then "<delay> <count> @ pcs" records. */
static int text(uint32_t kind, lynx_pprof_t *p, lynx_symbolizer_t *sym,
                char **out, size_t *out_len)
{
    static const size_t order[2] = {1, 0};
    char header[128];

    if (kind == LYNX_LOCKS_MUTEX) {
        snprintf(header, sizeof(header),
                 "--- mutex:\ncycles/second=1000000000\nsampling period=%"
                 PRId64 "\n", last_rate[kind]);
    } else {
        snprintf(header, sizeof(header),
                 "--- contention:\ncycles/second=1000000000\n");
    }
    return lynx_pprof_debug_text(p, sym, header, order, 2, out, out_len);
}

static int block_build(lynx_target_t *t, const lynx_profile_req_t *req,
                       lynx_pprof_t *p, char *msg, size_t msg_size)
{
    return build(LYNX_LOCKS_BLOCK, t, req, p, msg, msg_size);
}

static int block_count(lynx_target_t *t, int64_t timeout_ns, int64_t *n)
{
    return count(LYNX_LOCKS_BLOCK, t, timeout_ns, n);
}

static int block_text(lynx_pprof_t *p, lynx_symbolizer_t *sym, char **out,
                      size_t *out_len)
{
    return text(LYNX_LOCKS_BLOCK, p, sym, out, out_len);
}

static int mutex_build(lynx_target_t *t, const lynx_profile_req_t *req,
                       lynx_pprof_t *p, char *msg, size_t msg_size)
{
    return build(LYNX_LOCKS_MUTEX, t, req, p, msg, msg_size);
}

static int mutex_count(lynx_target_t *t, int64_t timeout_ns, int64_t *n)
{
    return count(LYNX_LOCKS_MUTEX, t, timeout_ns, n);
}

static int mutex_text(lynx_pprof_t *p, lynx_symbolizer_t *sym, char **out,
                      size_t *out_len)
{
    return text(LYNX_LOCKS_MUTEX, p, sym, out, out_len);
}

const lynx_profile_kind_t lynx_profile_block = {
    "block",
    "Stack traces that led to blocking on pthread mutexes, rwlocks and "
    "condition variables (waiter's stack). Recorded only while asked for: "
    "use ?seconds=N; without it, what all such windows recorded",
    "delay",
    block_build,
    block_count,
    block_text,
};

const lynx_profile_kind_t lynx_profile_mutex = {
    "mutex",
    "Stack traces of holders of contended pthread mutexes and rwlocks "
    "(where they released them). Recorded only while asked for: use "
    "?seconds=N; without it, what all such windows recorded",
    "delay",
    mutex_build,
    mutex_count,
    mutex_text,
};
