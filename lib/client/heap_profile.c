/*
 * client/heap_profile.c - the "heap" and "allocs" profile kinds (client/profiles.h):
 * the agent's table of sampled allocations (LYNX_CMD_HEAP_SNAPSHOT) as pprof
 * with Go's sample types, a delta between two snapshots for ?seconds=N,
 * and Go's legacy text for ?debug=1.
 *
 * Workload: one snapshot per request, up to the agent's 16,384 stacks of
 * up to 64 frames (about 9 MiB of bulk); endpoint side, one request at a
 * time per process.  Everything read from the agent is checked: record
 * depths and lengths against the bulk size, estimates for being finite
 * and not negative.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protocol/block_heap.h"
#include "client/attach.h"
#include "client/buf.h"
#include "client/profiles.h"
#include "client/sample_labels.h"
#include "client/target.h"
#include "protocol/clock.h"

/* Sample types in Go's order; the text lists them inuse first. */
enum { T_ALLOC_OBJECTS, T_ALLOC_SPACE, T_INUSE_OBJECTS, T_INUSE_SPACE };

typedef struct heap_snap {
    lynx_heap_snapshot_reply_t rep;
    uint8_t *bulk;
    size_t bulk_len;
} heap_snap_t;

/* The rate of the profile built last in this process, for the text form
 * (whose callback sees only the builder). */
static struct {
    const lynx_pprof_t *p;
    uint64_t rate;
} last_built;

/* Walk the records of a heap table; cb may be NULL (validation only).
 * 0 or LYNX_EPROTO. */
typedef int (*record_cb)(const lynx_heap_record_t *r, const uint64_t *pcs,
                         void *ctx);

static int valid_estimate(double v)
{
    return isfinite(v) && v >= 0.0 && v < 9.2e18;
}

static int walk(const uint8_t *bulk, size_t bulk_len, uint32_t nrecords,
                record_cb cb, void *ctx)
{
    uint64_t pcs[LYNX_HEAP_MAX_DEPTH];
    size_t off = 0;
    uint32_t n = 0;

    while (off < bulk_len) {
        lynx_heap_record_t r;
        int rc;
        if (bulk_len - off < sizeof(r)) {
            return LYNX_EPROTO;
        }
        memcpy(&r, bulk + off, sizeof(r));
        off += sizeof(r);
        if (r.depth > LYNX_HEAP_MAX_DEPTH ||
            (bulk_len - off) / sizeof(uint64_t) < r.depth ||
            !valid_estimate(r.alloc_objects) ||
            !valid_estimate(r.alloc_bytes) ||
            !valid_estimate(r.inuse_objects) ||
            !valid_estimate(r.inuse_bytes)) {
            return LYNX_EPROTO;
        }
        memcpy(pcs, bulk + off, r.depth * sizeof(uint64_t));
        off += r.depth * sizeof(uint64_t);
        n++;
        if (cb != NULL) {
            rc = cb(&r, pcs, ctx);
            if (rc != 0) {
                return rc;
            }
        }
    }
    return n == nrecords ? 0 : LYNX_EPROTO;
}

static void snap_fini(heap_snap_t *s)
{
    free(s->bulk);
    s->bulk = NULL;
}

static int fetch(lynx_target_t *t, int gc, int64_t timeout_ns, heap_snap_t *s,
                 char *msg, size_t msg_size)
{
    lynx_heap_snapshot_arg_t arg = {gc ? LYNX_HEAP_GC : 0u, 0u};
    void *bulk = NULL;
    size_t n = 0;
    int rc;

    memset(s, 0, sizeof(*s));
    /* Records are multiples of 8 bytes; walk() checks the rest. */
    rc = lynx_target_call(t, LYNX_CMD_HEAP_SNAPSHOT, &arg, sizeof(arg),
                          &s->rep, sizeof(s->rep), &bulk, sizeof(uint64_t),
                          &n, timeout_ns, msg, msg_size);
    if (rc != 0) {
        return rc;
    }
    s->bulk = bulk;
    s->bulk_len = n * sizeof(uint64_t);
    rc = lynx_heap_table_add(NULL, s->bulk, s->bulk_len, s->rep.nrecords,
                             0);
    if (rc != 0) {
        snprintf(msg, msg_size, "malformed heap table from the agent");
        snap_fini(s);
    }
    return rc;
}

typedef struct add_ctx {
    lynx_pprof_t *p;
    int64_t sign;      /* +1, or -1 for the earlier snapshot of a delta */
    int with_inuse;
} add_ctx_t;

static int add_record(const lynx_heap_record_t *r, const uint64_t *pcs,
                      void *ctxp)
{
    add_ctx_t *ctx = ctxp;
    lynx_sample_label_buf_t lb;
    size_t nl;
    int64_t v[4];

    v[T_ALLOC_OBJECTS] = ctx->sign * llround(r->alloc_objects);
    v[T_ALLOC_SPACE] = ctx->sign * llround(r->alloc_bytes);
    v[T_INUSE_OBJECTS] = ctx->with_inuse ? llround(r->inuse_objects) : 0;
    v[T_INUSE_SPACE] = ctx->with_inuse ? llround(r->inuse_bytes) : 0;
    /* The allocating thread's name and request labels (untrusted bytes,
     * made safe); no tid: the agent keeps none for heap samples. */
    nl = lynx_sample_labels_decode(&r->labels, &lb);
    /* Every pc is a return address: none is an exact leaf. */
    return lynx_pprof_add_sample(ctx->p, pcs, r->depth, 0, v, 4, lb.labels,
                                 nl);
}

int lynx_heap_table_add(lynx_pprof_t *p, const void *bulk, size_t bulk_len,
                        uint32_t nrecords, int earlier)
{
    add_ctx_t ctx = {p, earlier ? -1 : 1, !earlier};

    return walk(bulk, bulk_len, nrecords, p != NULL ? add_record : NULL,
                &ctx);
}

static int build(lynx_target_t *t, const lynx_profile_req_t *req,
                 lynx_pprof_t *p, char *msg, size_t msg_size)
{
    heap_snap_t a;
    heap_snap_t b;
    lynx_module_t *mods = NULL;
    size_t nmods = 0;
    char note[512];
    char pace[160] = "";
    int rc;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    if (lynx_pprof_add_sample_type(p, "alloc_objects", "count") != 0 ||
        lynx_pprof_add_sample_type(p, "alloc_space", "bytes") != 0 ||
        lynx_pprof_add_sample_type(p, "inuse_objects", "count") != 0 ||
        lynx_pprof_add_sample_type(p, "inuse_space", "bytes") != 0) {
        return -ENOMEM;
    }
    rc = fetch(t, req->gc, req->timeout_ns, &b, msg, msg_size);
    if (rc != 0) {
        return rc;
    }
    if (req->seconds > 0) {
        /* A delta: allocations between the two, in use at the end. */
        a = b;
        lynx_sleep_seconds(req->seconds);
        rc = fetch(t, req->gc, req->timeout_ns, &b, msg, msg_size);
        if (rc != 0) {
            goto out;
        }
    }
    rc = lynx_target_modules(t, &mods, &nmods);
    if (rc != 0) {
        goto out;
    }
    rc = lynx_pprof_set_modules(p, mods, nmods);
    if (rc == 0) {
        rc = lynx_heap_table_add(p, b.bulk, b.bulk_len, b.rep.nrecords, 0);
    }
    if (rc == 0 && a.bulk != NULL) {
        rc = lynx_heap_table_add(p, a.bulk, a.bulk_len, a.rep.nrecords, 1);
    }
    if (rc != 0) {
        goto out;
    }
    lynx_pprof_set_period(p, "space", "bytes", (int64_t)b.rep.rate_bytes);
    if (a.bulk != NULL || req->seconds > 0) {
        lynx_pprof_set_time(p, a.rep.taken_unix_ns,
                            b.rep.taken_unix_ns - a.rep.taken_unix_ns);
    } else {
        lynx_pprof_set_time(p, b.rep.taken_unix_ns, 0);
    }
    if (b.rep.rate_bytes == 0) {
        lynx_pprof_add_comment(p, "heap sampling is off in the target "
                                  "(LYNXPROF_HEAP_RATE=0)");
    }
    if (b.rep.sample_limit > 0) {
        snprintf(pace, sizeof(pace),
                 "%" PRIu64 " at a longer interval (their thread sampled "
                 "over %" PRIu32 " times a second) and weighed by it; ",
                 b.rep.paced_samples, b.rep.sample_limit);
    }
    snprintf(note, sizeof(note),
             "lynxprof: mean sampling interval %" PRIu64
             " bytes; %" PRIu64 " samples, %" PRIu64 " live; %s%" PRIu64
             " not tracked (live table full), %" PRIu64
             " without stack (stack table full)%s",
             b.rep.rate_bytes, b.rep.samples, b.rep.live_samples, pace,
             b.rep.untracked_samples, b.rep.overflow_samples,
             (b.rep.flags & LYNX_HEAP_SNAP_TRUNCATED) ? "; truncated" : "");
    lynx_pprof_add_comment(p, note);
    last_built.p = p;
    last_built.rate = b.rep.rate_bytes;
out:
    free(mods);
    snap_fini(&a);
    snap_fini(&b);
    return rc;
}

static int count_records(lynx_target_t *t, int64_t timeout_ns, int64_t *count)
{
    heap_snap_t s;
    char msg[LYNX_MSG_MAX];
    int rc = fetch(t, 0, timeout_ns, &s, msg, sizeof(msg));

    if (rc == 0) {
        *count = s.rep.nrecords;
        snap_fini(&s);
    }
    return rc;
}

/* ---- Go's legacy text -------------------------------------------------------- */

/* The sampled count and bytes behind an estimate: Go's text carries raw
 * sample counts and pprof scales them back by 1/(1-exp(-avg/rate)) when it
 * reads them (avg: bytes per object of the record).  Exact when every
 * allocation of the stack had one size. */
static void unscale(int64_t objects, int64_t bytes, uint64_t rate,
                    int64_t *raw_objects, int64_t *raw_bytes)
{
    double avg;
    double k;

    if (rate <= 1 || objects <= 0) {
        *raw_objects = objects;
        *raw_bytes = bytes;
        return;
    }
    avg = (double)bytes / (double)objects;
    k = (double)objects * -expm1(-avg / (double)rate);
    *raw_objects = k < 1.0 ? 1 : llround(k);
    *raw_bytes = llround((double)*raw_objects * avg);
}

static int heap_text(lynx_pprof_t *p, lynx_symbolizer_t *sym, char **out,
                     size_t *out_len)
{
    static const size_t order[4] = {T_INUSE_OBJECTS, T_INUSE_SPACE,
                                    T_ALLOC_OBJECTS, T_ALLOC_SPACE};
    uint64_t rate = last_built.p == p ? last_built.rate
                                      : LYNX_HEAP_RATE_DEFAULT;
    lynx_buf_t body = LYNX_BUF_INIT;
    lynx_buf_t all = LYNX_BUF_INIT;
    int64_t tot[4] = {0, 0, 0, 0};
    char *generic = NULL;
    size_t generic_len = 0;
    char *line;
    int rc;

    /* The generic text has "io is ao as @ 0x..." record lines: rewrite
     * them into Go's "io: is [ao: as] @ 0x..." with raw sample counts. */
    rc = lynx_pprof_debug_text(p, sym, NULL, order, 4, &generic,
                               &generic_len);
    if (rc != 0) {
        return rc;
    }
    line = generic;
    while (rc == 0 && line < generic + generic_len) {
        char *nl = memchr(line, '\n', (size_t)(generic + generic_len - line));
        size_t n = nl != NULL ? (size_t)(nl - line) + 1
                              : (size_t)(generic + generic_len - line);
        long long v[4];
        int used = 0;
        int record;
        /* Parse within the line: sscanf's blanks would match the newline
         * of a blank line and read the next record, past this line. */
        if (nl != NULL) {
            *nl = '\0';
        }
        record = line[0] != '#' &&
                 sscanf(line, "%lld %lld %lld %lld @%n", &v[0], &v[1],
                        &v[2], &v[3], &used) == 4 &&
                 used > 0;
        if (nl != NULL) {
            *nl = '\n';
        }
        if (record) {
            int64_t r[4];
            char rec[128];
            int len;
            unscale(v[0], v[1], rate, &r[0], &r[1]);
            unscale(v[2], v[3], rate, &r[2], &r[3]);
            if (r[0] == 0 && r[1] == 0 && r[2] == 0 && r[3] == 0) {
                /* Nothing left after a delta: skip the record (its "#"
                 * lines and blank line go with it). */
                char *end = strstr(line, "\n\n");
                line = end != NULL ? end + 2 : generic + generic_len;
                continue;
            }
            for (int k = 0; k < 4; k++) {
                /* Wrap rather than overflow, as the builder does. */
                tot[k] = (int64_t)((uint64_t)tot[k] + (uint64_t)r[k]);
            }
            len = snprintf(rec, sizeof(rec),
                           "%" PRId64 ": %" PRId64 " [%" PRId64 ": %" PRId64
                           "] @",
                           r[0], r[1], r[2], r[3]);
            lynx_buf_append(&body, rec, (size_t)len);
            rc = lynx_buf_append(&body, line + used, n - (size_t)used);
        } else {
            rc = lynx_buf_append(&body, line, n);
        }
        line += n;
    }
    free(generic);
    lynx_buf_printf(&all,
                    "heap profile: %" PRId64 ": %" PRId64 " [%" PRId64
                    ": %" PRId64 "] @ heap/%" PRIu64 "\n",
                    tot[0], tot[1], tot[2], tot[3], 2 * rate);
    lynx_buf_append(&all, body.data, body.len);
    lynx_buf_fini(&body);
    if (rc != 0) {
        lynx_buf_fini(&all);
        return rc;
    }
    return lynx_buf_steal(&all, out, out_len);
}

const lynx_profile_kind_t lynx_profile_heap = {
    "heap",
    "A sampling of memory allocations of live objects.",
    "inuse_space",
    build,
    count_records,
    heap_text,
};

const lynx_profile_kind_t lynx_profile_allocs = {
    "allocs",
    "A sampling of all past memory allocations.",
    "alloc_space",
    build,
    count_records,
    heap_text,
};
