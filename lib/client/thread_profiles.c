/*
 * client/thread_profiles.c - the "goroutine" (threads) and "threadcreate" profile
 * kinds, and the per-thread dump text, endpoint side.
 *
 * goroutine: one snapshot of every thread's stack (LYNX_CMD_THREAD_DUMP),
 * counted per distinct stack (goroutine/count, as Go writes it); threads
 * that did not answer in time are named in a comment.  threadcreate: the
 * stack that called pthread_create() for each thread created since the
 * agent was loaded (threadcreate/count).  Workload: a few requests a
 * minute, a few thousand threads at most.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client/attach.h"
#include "client/buf.h"
#include "client/profiles.h"
#include "client/sample_labels.h"
#include "client/target.h"
#include "client/thread_dump.h"
#include "protocol/clock.h"

#define DUMP_TIMEOUT_MS 100u

/* ---- the snapshot ---------------------------------------------------------- */

int lynx_thread_dump_decode(lynx_thread_dump_t *d, void *bulk,
                            size_t bulk_len)
{
    d->threads = bulk;
    d->nthreads = 0;
    if (bulk_len % sizeof(lynx_thread_rec_t) != 0 ||
        bulk_len / sizeof(lynx_thread_rec_t) != d->info.nthreads) {
        return LYNX_EPROTO;
    }
    d->nthreads = d->info.nthreads;
    for (size_t i = 0; i < d->nthreads; i++) {
        lynx_thread_rec_t *r = &d->threads[i];
        if (r->status == LYNX_THREAD_BLOCKED) {
            r->depth = 0;
            r->wchan[sizeof(r->wchan) - 1] = '\0';
        } else if (r->depth > LYNX_STACK_MAX_DEPTH) {
            r->depth = 0;
            r->status = LYNX_THREAD_NO_ANSWER;
        }
        r->name[sizeof(r->name) - 1] = '\0';
    }
    return 0;
}

int lynx_thread_dump_take(lynx_target_t *t, int64_t timeout_ns,
                          uint32_t flags, lynx_thread_dump_t *d, char *msg,
                          size_t msg_size)
{
    lynx_thread_dump_arg_t arg = {DUMP_TIMEOUT_MS, flags};
    void *bulk = NULL;
    size_t n = 0;
    int rc;

    memset(d, 0, sizeof(*d));
    rc = lynx_target_call(t, LYNX_CMD_THREAD_DUMP, &arg, sizeof(arg),
                          &d->info, sizeof(d->info), &bulk,
                          sizeof(lynx_thread_rec_t), &n, timeout_ns, msg,
                          msg_size);
    if (rc != 0) {
        return rc;
    }
    rc = lynx_thread_dump_decode(d, bulk, n * sizeof(lynx_thread_rec_t));
    if (rc != 0) {
        lynx_thread_dump_fini(d);
        return rc;
    }
    snprintf(d->target, sizeof(d->target), "%s", lynx_target_name(t));
    d->pid = lynx_target_pid(t);
    rc = lynx_target_modules(t, &d->mods, &d->nmods);
    if (rc != 0) {
        lynx_thread_dump_fini(d);
    }
    return rc;
}

void lynx_thread_dump_fini(lynx_thread_dump_t *d)
{
    if (d == NULL) {
        return;
    }
    free(d->threads);
    free(d->mods);
    d->threads = NULL;
    d->mods = NULL;
    d->nthreads = d->nmods = 0;
}

const char *lynx_thread_state_name(char state)
{
    switch (state) {
    case 'R': return "R (running)";
    case 'S': return "S (sleeping)";
    case 'D': return "D (disk sleep)";
    case 'T': return "T (stopped)";
    case 't': return "t (tracing stop)";
    case 'Z': return "Z (zombie)";
    case 'X': return "X (dead)";
    case 'I': return "I (idle)";
    default: return "? (unknown)";
    }
}

static const char *status_note(const lynx_thread_rec_t *r, uint32_t ms)
{
    static char buf[160];

    switch (r->status) {
    case LYNX_THREAD_NO_ANSWER:
        snprintf(buf, sizeof(buf), "did not answer within %u ms", ms);
        return buf;
    case LYNX_THREAD_GONE:
        return "ended while the dump was taken";
    case LYNX_THREAD_SKIPPED:
        return "not asked: too many threads";
    case LYNX_THREAD_BLOCKED:
        snprintf(buf, sizeof(buf),
                 "blocked in syscall: %s; not interrupted (running_only)",
                 r->wchan[0] != '\0' ? r->wchan : "?");
        return buf;
    default:
        return "no stack";
    }
}

/* ---- text (debug=2) ----------------------------------------------------------- */

int lynx_thread_dump_text(const lynx_thread_dump_t *d, lynx_symbolizer_t *sym,
                          char **out, size_t *out_len)
{
    lynx_buf_t b = LYNX_BUF_INIT;
    lynx_frame_t frames[LYNX_SYM_MAX_FRAMES];
    char note[LYNX_MODULE_PATH_MAX + 200];
    /* Why each module gave no symbols (0: it did, or was not needed). */
    int *why = calloc(d->nmods + 1, sizeof(*why));

    if (why == NULL) {
        return -ENOMEM;
    }

    lynx_buf_printf(&b, "threads of %s (pid %d): %zu, %u answered in %.1f ms",
                    d->target, (int)d->pid, d->nthreads, d->info.nanswered,
                    (double)d->info.elapsed_ns / 1e6);
    if (d->info.nmissing > 0) {
        lynx_buf_printf(&b, ", %u did not answer", d->info.nmissing);
    }
    if (lynx_thread_dump_nblocked(d) > 0) {
        lynx_buf_printf(&b, ", %zu blocked in syscalls not interrupted",
                        lynx_thread_dump_nblocked(d));
    }
    lynx_buf_printf(&b, "\n\n");
    for (size_t i = 0; i < d->nthreads; i++) {
        const lynx_thread_rec_t *r = &d->threads[i];

        lynx_buf_printf(&b, "thread %d \"%s\" [%s]%s:\n", (int)r->tid, r->name,
                        lynx_thread_state_name(r->state),
                        (r->flags & LYNX_THREAD_AGENT) ? " (lynxprof agent)"
                                                       : "");
        if (r->status != LYNX_THREAD_OK) {
            lynx_buf_printf(&b, "\t(%s)\n\n",
                            status_note(r, d->info.timeout_ms));
            continue;
        }
        for (uint32_t k = 0; k < r->depth; k++) {
            /* The leaf is the interrupted instruction; the others are
             * return addresses: look up the call. */
            uint64_t pc = k == 0 ? r->pcs[k] : r->pcs[k] - 1;
            const lynx_module_t *m = lynx_module_find(d->mods, d->nmods, pc);
            size_t nf = 0;

            if (m != NULL && sym != NULL) {
                int rc = lynx_symbolize(sym, m, pc, frames,
                                        LYNX_SYM_MAX_FRAMES, &nf);
                if (rc != 0) {
                    why[m - d->mods] = rc;
                }
            }
            if (nf == 0) {
                const char *base = m != NULL ? strrchr(m->path, '/') : NULL;
                if (m != NULL) {
                    lynx_buf_printf(&b,
                                    "%s+0x%" PRIx64 "()\n\tpc=0x%" PRIx64 "\n",
                                    base != NULL ? base + 1 : m->path,
                                    pc - m->start + m->file_offset, r->pcs[k]);
                } else {
                    lynx_buf_printf(&b, "?()\n\tpc=0x%" PRIx64 "\n", r->pcs[k]);
                }
                continue;
            }
            for (size_t f = 0; f < nf; f++) {
                lynx_buf_printf(
                    &b, "%s()%s\n\t%s:%" PRId64 " pc=0x%" PRIx64 "\n",
                    frames[f].function != NULL ? frames[f].function : "?",
                    f + 1 < nf ? " (inlined)" : "",
                    frames[f].file != NULL ? frames[f].file : "?",
                    frames[f].line, r->pcs[k]);
            }
        }
        if (r->flags & LYNX_STACK_TRUNCATED) {
            lynx_buf_printf(&b, "...additional frames elided...\n");
        }
        lynx_buf_printf(&b, "\n");
    }
    /* Say why frames are bare (the vDSO has no file to fix). */
    for (size_t i = 0; i < d->nmods; i++) {
        if (why[i] != 0 && d->mods[i].path[0] == '/') {
            lynx_buf_printf(&b, "# %s\n",
                            lynx_symbolize_note(d->mods[i].path, why[i], note,
                                                sizeof(note)));
        }
    }
    free(why);
    return lynx_buf_steal(&b, out, out_len);
}

/* ---- goroutine --------------------------------------------------------------- */

size_t lynx_thread_dump_nblocked(const lynx_thread_dump_t *d)
{
    size_t n = 0;

    for (size_t i = 0; i < d->nthreads; i++) {
        n += d->threads[i].status == LYNX_THREAD_BLOCKED;
    }
    return n;
}

int lynx_thread_dump_add(lynx_pprof_t *p, const lynx_thread_dump_t *d)
{
    int64_t one = 1;
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < d->nthreads; i++) {
        const lynx_thread_rec_t *r = &d->threads[i];
        /* Each thread's own name and id, as on CPU samples, and the
         * request labels it had pushed when it answered. */
        lynx_sample_labels_t own = r->labels;
        lynx_sample_label_buf_t lb;
        lynx_label_t labels[LYNX_SAMPLE_LABELS_MAX + 2];
        size_t nl;

        memcpy(own.thread, r->name, sizeof(own.thread));
        own.tid = r->tid;
        if (r->status != LYNX_THREAD_OK) {
            own.nlabels = 0;
        }
        nl = lynx_sample_labels_decode(&own, &lb);
        memcpy(labels, lb.labels, nl * sizeof(labels[0]));
        if (r->status == LYNX_THREAD_OK && r->depth > 0) {
            rc = lynx_pprof_add_sample(p, r->pcs, r->depth, 1, &one, 1,
                                       labels, nl);
        } else if (r->status == LYNX_THREAD_BLOCKED) {
            /* No stack: one pseudo-frame that says where it waits. */
            char state[2] = {r->state, '\0'};
            char frame[LYNX_THREAD_WCHAN_MAX + 32];
            const char *wchan = r->wchan[0] != '\0' ? r->wchan : "?";

            labels[nl++] = (lynx_label_t){"thread_state", state, 0, NULL};
            labels[nl++] = (lynx_label_t){"wchan", wchan, 0, NULL};
            snprintf(frame, sizeof(frame), "[blocked in syscall: %s]",
                     wchan);
            rc = lynx_pprof_add_named_sample(p, frame, &one, 1, labels, nl);
        } else if (r->status != LYNX_THREAD_GONE) {
            /* Alive but without a stack (did not answer in time, not
             * asked): still one thread, as Go counts every goroutine. */
            char frame[192];

            snprintf(frame, sizeof(frame), "[no stack: %s]",
                     status_note(r, d->info.timeout_ms));
            rc = lynx_pprof_add_named_sample(p, frame, &one, 1, labels, nl);
        }
    }
    return rc;
}

/* One comment per thread left alone: Go's text shows no labels. */
static int blocked_comments(lynx_pprof_t *p, const lynx_thread_dump_t *d)
{
    char note[256];
    int rc = 0;

    for (size_t i = 0; rc == 0 && i < d->nthreads; i++) {
        const lynx_thread_rec_t *r = &d->threads[i];
        if (r->status == LYNX_THREAD_BLOCKED) {
            snprintf(note, sizeof(note),
                     "thread %d \"%s\" [%s] %s", (int)r->tid, r->name,
                     lynx_thread_state_name(r->state),
                     status_note(r, d->info.timeout_ms));
            rc = lynx_pprof_add_comment(p, note);
        }
    }
    return rc;
}

static int goroutine_build(lynx_target_t *t, const lynx_profile_req_t *req,
                           lynx_pprof_t *p, char *msg, size_t msg_size)
{
    lynx_thread_dump_t d;
    char note[256];
    int rc;

    if (req->seconds > 0) {
        snprintf(msg, msg_size,
                 "seconds is not supported for the goroutine profile "
                 "(a snapshot of the threads)");
        return LYNX_EBADARG;
    }
    rc = lynx_thread_dump_take(t, req->timeout_ns,
                               req->running_only ? LYNX_DUMP_RUNNING_ONLY : 0,
                               &d, msg, msg_size);
    if (rc != 0) {
        return rc;
    }
    /* A C program has threads, not goroutines: the sample type says so
     * (the profile keeps Go's paths). */
    rc = lynx_pprof_add_sample_type(p, "thread", "count");
    if (rc == 0) {
        rc = lynx_pprof_set_period(p, "thread", "count", 1);
    }
    if (rc == 0) {
        rc = lynx_pprof_set_modules(p, d.mods, d.nmods);
    }
    lynx_pprof_set_time(p, d.info.taken_unix_ns, d.info.elapsed_ns);
    if (rc == 0) {
        rc = lynx_thread_dump_add(p, &d);
    }
    if (rc == 0) {
        snprintf(note, sizeof(note),
                 "threads of %s (pid %d): %zu, %u answered in %.1f ms, "
                 "%u did not answer, %zu blocked in syscalls not "
                 "interrupted",
                 d.target, (int)d.pid, d.nthreads, d.info.nanswered,
                 (double)d.info.elapsed_ns / 1e6, d.info.nmissing,
                 lynx_thread_dump_nblocked(&d));
        rc = lynx_pprof_add_comment(p, note);
    }
    if (rc == 0) {
        rc = blocked_comments(p, &d);
    }
    lynx_thread_dump_fini(&d);
    return rc;
}

static int goroutine_count(lynx_target_t *t, int64_t timeout_ns,
                           int64_t *count)
{
    lynx_memstats_t ms;
    int rc = lynx_target_memstats(t, &ms, timeout_ns);

    if (rc == 0) {
        *count = ms.threads;
    }
    return rc;
}

static int count_text(lynx_pprof_t *p, lynx_symbolizer_t *sym,
                      const char *name, char **out, size_t *out_len)
{
    char header[96];

    snprintf(header, sizeof(header), "%s profile: total %" PRId64 "\n", name,
             lynx_pprof_total(p, 0));
    return lynx_pprof_debug_text(p, sym, header, NULL, 0, out, out_len);
}

/* Go's text, then the dump's comments (how many threads answered, how
 * long it took) as "#" lines at the end, where Go puts its own notes. */
static int goroutine_text(lynx_pprof_t *p, lynx_symbolizer_t *sym,
                          char **out, size_t *out_len)
{
    int rc = count_text(p, sym, "goroutine", out, out_len);
    lynx_buf_t b = LYNX_BUF_INIT;

    if (rc != 0) {
        return rc;
    }
    rc = lynx_buf_adopt(&b, *out, *out_len);
    if (rc != 0) {
        free(*out);
        *out = NULL;
        return rc;
    }
    for (size_t i = 0; lynx_pprof_comment(p, i) != NULL; i++) {
        lynx_buf_printf(&b, "# %s\n", lynx_pprof_comment(p, i));
    }
    rc = lynx_buf_steal(&b, out, out_len);
    if (rc != 0) {
        *out = NULL;
    }
    return rc;
}

const lynx_profile_kind_t lynx_profile_goroutine = {
    "goroutine",
    "Stack traces of all current threads (one snapshot, counted per "
    "distinct stack)",
    "thread",
    goroutine_build,
    goroutine_count,
    goroutine_text,
};

/* ---- threadcreate ------------------------------------------------------------- */

static int threadcreate_fetch(lynx_target_t *t, uint32_t flags,
                              int64_t timeout_ns,
                              lynx_threadcreate_reply_t *rep,
                              lynx_threadcreate_rec_t **recs, size_t *n,
                              char *msg, size_t msg_size)
{
    lynx_threadcreate_arg_t arg = {flags, 0};
    void *bulk = NULL;
    int rc = lynx_target_call(t, LYNX_CMD_THREADCREATE, &arg, sizeof(arg), rep,
                              sizeof(*rep), recs != NULL ? &bulk : NULL,
                              sizeof(lynx_threadcreate_rec_t), n, timeout_ns,
                              msg, msg_size);

    if (rc == 0 && recs != NULL) {
        rc = lynx_threadcreate_add(NULL, rep, bulk,
                                   *n * sizeof(lynx_threadcreate_rec_t), 0);
        if (rc != 0) {
            free(bulk);
            bulk = NULL;
        }
        *recs = bulk;
    }
    return rc;
}

int lynx_threadcreate_add(lynx_pprof_t *p,
                          const lynx_threadcreate_reply_t *rep,
                          const void *bulk, size_t bulk_len, size_t skip)
{
    const lynx_threadcreate_rec_t *recs = bulk;
    size_t n = bulk_len / sizeof(lynx_threadcreate_rec_t);
    int rc = 0;

    if (bulk_len % sizeof(lynx_threadcreate_rec_t) != 0 ||
        n != rep->nrecords) {
        return LYNX_EPROTO;
    }
    for (size_t i = skip; p != NULL && rc == 0 && i < n; i++) {
        int64_t one = 1;
        if (recs[i].depth == 0 || recs[i].depth > LYNX_STACK_MAX_DEPTH) {
            continue;
        }
        rc = lynx_pprof_add_sample(p, recs[i].pcs, recs[i].depth, 0, &one, 1,
                                   NULL, 0);
    }
    return rc;
}

static int threadcreate_build(lynx_target_t *t, const lynx_profile_req_t *req,
                              lynx_pprof_t *p, char *msg, size_t msg_size)
{
    lynx_threadcreate_reply_t rep;
    lynx_threadcreate_rec_t *recs = NULL;
    lynx_module_t *mods = NULL;
    size_t nmods = 0;
    size_t n = 0;
    size_t skip = 0;
    int64_t start = lynx_real_ns();
    char note[128];
    int rc;

    if (req->seconds > 0) {
        /* Records only grow: the delta is what was added meanwhile. */
        rc = threadcreate_fetch(t, LYNX_LOCKS_SUMMARY, req->timeout_ns, &rep,
                                NULL, NULL, msg, msg_size);
        if (rc != 0) {
            return rc;
        }
        skip = rep.nrecords;
        struct timespec ts = {(time_t)req->seconds, 0};
        nanosleep(&ts, NULL);
    }
    rc = threadcreate_fetch(t, 0, req->timeout_ns, &rep, &recs, &n, msg,
                            msg_size);
    if (rc == 0) {
        rc = lynx_target_modules(t, &mods, &nmods);
    }
    if (rc == 0) {
        rc = lynx_pprof_add_sample_type(p, "threadcreate", "count");
    }
    if (rc == 0) {
        rc = lynx_pprof_set_period(p, "threadcreate", "count", 1);
    }
    if (rc == 0) {
        rc = lynx_pprof_set_modules(p, mods, nmods);
    }
    lynx_pprof_set_time(p, start, lynx_real_ns() - start);
    if (rc == 0) {
        rc = lynx_threadcreate_add(p, &rep, recs,
                                   n * sizeof(lynx_threadcreate_rec_t), skip);
    }
    if (rc == 0 && rep.overflow > 0) {
        snprintf(note, sizeof(note),
                 "%" PRIu64 " threads created but not recorded (table of %u "
                 "full)", rep.overflow, rep.capacity);
        rc = lynx_pprof_add_comment(p, note);
    }
    free(recs);
    free(mods);
    return rc;
}

static int threadcreate_count(lynx_target_t *t, int64_t timeout_ns,
                              int64_t *count)
{
    lynx_threadcreate_reply_t rep;
    int rc = threadcreate_fetch(t, LYNX_LOCKS_SUMMARY, timeout_ns, &rep, NULL,
                                NULL, NULL, 0);

    if (rc == 0) {
        *count = (int64_t)rep.created;
    }
    return rc;
}

static int threadcreate_text(lynx_pprof_t *p, lynx_symbolizer_t *sym,
                             char **out, size_t *out_len)
{
    return count_text(p, sym, "threadcreate", out, out_len);
}

const lynx_profile_kind_t lynx_profile_threadcreate = {
    "threadcreate",
    "Stack traces that led to the creation of new threads "
    "(pthread_create)",
    "threadcreate",
    threadcreate_build,
    threadcreate_count,
    threadcreate_text,
};
