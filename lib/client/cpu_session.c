/*
 * client/cpu_session.c - CPU sessions, endpoint side (see client/cpu.h): starting
 * and stopping them through the mailbox, reading their records out of the
 * control blocks, spooling finished ones, lookups across every target and
 * housekeeping.
 *
 * Workload: a few requests per second at most; a lookup attaches to every
 * block on the host (a handful) and reads 16 records of each.  Spooling a
 * session symbolizes up to a few thousand distinct addresses with the
 * context's cached symbolizer.  The agent is untrusted: every record, table
 * entry and module read from a block is checked before use, and nothing
 * waits on the agent without a timeout.
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/buf.h"
#include "client/cpu_spool.h"
#include "client/cpu.h"
#include "client/pprof.h"
#include "client/symbolize.h"
#include "client/target.h"
#include "protocol/clock.h"

#define EXPORT __attribute__((visibility("default")))
#define SEQLOCK_TRIES 100000     /* retries of a seqlock copy */
#define SEQLOCK_MAX_NS (100LL * 1000 * 1000)
#define STOP_WAIT_NS (2LL * 1000 * 1000 * 1000)
#define STALL_GRACE_NS (5LL * 1000 * 1000 * 1000)
#define TMP_MAX_AGE_NS (600LL * 1000 * 1000 * 1000)
#define SPOOL_LOCK ".spool.lock"
#define HOUSEKEEP_LOCK ".housekeep.lock"
#define CLEANUP_STAMP ".cleanup-stamp"
#define SAVE_POLL_NS (50L * 1000 * 1000) /* a reader's look at the spool */

_Static_assert(LYNX_CPU_ID_MAX == LYNX_SESSION_ID_MAX, "id sizes");
_Static_assert(LYNX_CPU_ERROR_MAX == sizeof(((lynx_session_t *)0)->error),
               "error sizes");
_Static_assert(LYNX_TARGET_NAME_MAX == LYNX_NAME_MAX, "name sizes");

struct lynx_cpu {
    char spool_dir[256];
    int64_t timeout_ns;
    pthread_mutex_t sym_lock;   /* guards sym */
    lynx_symbolizer_t *sym;     /* modules cached across sessions */
    int64_t save_wait_ns;       /* < 0: a lookup saves a finished session
                                   (the library's default); >= 0: a
                                   reader, waits this long for another
                                   process to save it (lynx_cpu_set_reader) */
    char label_key[32];         /* common label of the profiles it spools */
    char label_value[256];      /* ("" key: none); set before first use */
};

/* ---- context ---------------------------------------------------------------- */

EXPORT lynx_cpu_t *lynx_cpu_create(const char *spool_dir,
                                   int64_t agent_timeout_ns)
{
    lynx_cpu_t *c;

    if (spool_dir == NULL || spool_dir[0] != '/' || agent_timeout_ns <= 0 ||
        strlen(spool_dir) >= sizeof(c->spool_dir)) {
        return NULL;
    }
    c = calloc(1, sizeof(*c));
    if (c == NULL) {
        return NULL;
    }
    snprintf(c->spool_dir, sizeof(c->spool_dir), "%s", spool_dir);
    c->timeout_ns = agent_timeout_ns;
    c->save_wait_ns = -1;
    pthread_mutex_init(&c->sym_lock, NULL);
    c->sym = lynx_symbolizer_create();
    if (c->sym == NULL) {
        pthread_mutex_destroy(&c->sym_lock);
        free(c);
        return NULL;
    }
    /* Best effort: the directory usually exists already. */
    mkdir(spool_dir, 0750);
    return c;
}

int lynx_cpu_set_common_label(lynx_cpu_t *c, const char *key,
                              const char *value)
{
    if (c == NULL || key == NULL || value == NULL ||
        strlen(key) >= sizeof(c->label_key) ||
        strlen(value) >= sizeof(c->label_value)) {
        return -EINVAL;
    }
    snprintf(c->label_key, sizeof(c->label_key), "%s", key);
    snprintf(c->label_value, sizeof(c->label_value), "%s", value);
    return 0;
}

EXPORT void lynx_cpu_destroy(lynx_cpu_t *c)
{
    if (c == NULL) {
        return;
    }
    lynx_symbolizer_destroy(c->sym);
    pthread_mutex_destroy(&c->sym_lock);
    free(c);
}

EXPORT const char *lynx_cpu_spool_dir(const lynx_cpu_t *c)
{
    return c->spool_dir;
}

EXPORT int lynx_cpu_id_valid(const char *id)
{
    size_t n;

    if (id == NULL || strncmp(id, "cpu_", 4) != 0) {
        return 0;
    }
    for (n = 0; id[4 + n] != '\0'; n++) {
        if (id[4 + n] < '0' || id[4 + n] > '9' || n >= LYNX_CPU_ID_DIGITS) {
            return 0;
        }
    }
    return n >= 1;
}

EXPORT const char *lynx_cpu_state_name(int state)
{
    switch (state) {
    case LYNX_CPU_RUNNING: return "running";
    case LYNX_CPU_COMPLETED: return "completed";
    case LYNX_CPU_CANCELLED: return "cancelled";
    case LYNX_CPU_FAILED: return "failed";
    case LYNX_CPU_DAMAGED: return "damaged";
    default: return "unknown";
    }
}

/* ---- records ------------------------------------------------------------------ */

int lynx_cpu_record_check(const lynx_session_t *s)
{
    if (s->state == LYNX_SESSION_FREE) {
        return LYNX_ENOSESSION;
    }
    if (s->state > LYNX_SESSION_FAILED ||
        memchr(s->id, '\0', sizeof(s->id)) == NULL ||
        !lynx_cpu_id_valid(s->id) ||
        memchr(s->error, '\0', sizeof(s->error)) == NULL ||
        s->hz < LYNX_CPU_HZ_MIN || s->hz > LYNX_CPU_HZ_MAX ||
        (s->origin != LYNX_ORIGIN_API && s->origin != LYNX_ORIGIN_DEBUG) ||
        s->duration_ns <= 0 || s->started_unix_ns <= 0 ||
        s->samples > INT64_MAX || s->lost_samples > INT64_MAX ||
        s->in_table > 1 || s->spooled > 1) {
        return LYNX_EPROTO;
    }
    if (s->state == LYNX_SESSION_RUNNING) {
        if (s->ended_unix_ns != 0) {
            return LYNX_EPROTO;
        }
    } else if (s->ended_unix_ns < s->started_unix_ns) {
        return LYNX_EPROTO;
    }
    return 0;
}

int lynx_cpu_record_read(const lynx_session_t *shared, lynx_session_t *out)
{
    int64_t deadline = lynx_mono_ns() + SEQLOCK_MAX_NS;

    for (int tries = 0; tries < SEQLOCK_TRIES; tries++) {
        uint32_t g1 = atomic_load_explicit(&shared->gen, memory_order_acquire);
        uint32_t g2;
        if ((g1 & 1u) == 0) {
            /* The copy races with the writer by design; gen tells. */
            memcpy((char *)out + sizeof(out->gen),
                   (const char *)shared + sizeof(shared->gen),
                   sizeof(*out) - sizeof(out->gen));
            atomic_thread_fence(memory_order_acquire);
            g2 = atomic_load_explicit(&shared->gen, memory_order_relaxed);
            if (g1 == g2) {
                atomic_store_explicit(&out->gen, g1, memory_order_relaxed);
                return lynx_cpu_record_check(out);
            }
        }
        if (lynx_mono_ns() > deadline) {
            break;
        }
        sched_yield();
    }
    return LYNX_EBUSY;
}

/* The sessions region of b, or NULL. */
static lynx_sessions_t *sessions_of(const lynx_block_t *b, uint32_t *cap)
{
    lynx_sessions_t *ss = lynx_block_region_ptr(b, LYNX_REGION_SESSIONS,
                                                sizeof(lynx_sessions_t), NULL);
    uint32_t n;

    if (ss == NULL) {
        return NULL;
    }
    /* Read once: the check and the use must see the same value. */
    n = *(volatile uint32_t *)&ss->capacity;
    *cap = n < LYNX_MAX_SESSIONS ? n : LYNX_MAX_SESSIONS;
    return ss;
}

/* Index of the valid record with this id in b, or -1; *rec the copy. */
static int find_record(const lynx_block_t *b, const char *id,
                       lynx_session_t *rec)
{
    uint32_t cap = 0;
    lynx_sessions_t *ss = sessions_of(b, &cap);

    for (uint32_t i = 0; ss != NULL && i < cap; i++) {
        if (lynx_cpu_record_read(&ss->sessions[i], rec) == 0 &&
            strcmp(rec->id, id) == 0) {
            return (int)i;
        }
    }
    return -1;
}

enum { TARGET_EXITED = 1, TARGET_STALLED = 2 }; /* see record_gone */

/* Real time at which a dead target's agent last beat (its end, roughly),
 * clamped to the session. */
static int64_t death_time(const lynx_block_t *b, const lynx_session_t *r)
{
    const lynx_block_header_t *live = b->base;
    int64_t beat = atomic_load(&live->heartbeat_ns);
    int64_t t = lynx_real_ns() - (lynx_mono_ns() - beat);

    if (t > r->started_unix_ns + r->duration_ns) {
        t = r->started_unix_ns + r->duration_ns;
    }
    if (t > lynx_real_ns()) {
        t = lynx_real_ns();
    }
    return t < r->started_unix_ns ? r->started_unix_ns : t;
}

/* What a record says, as a session of target b.  A RUNNING record of a
 * gone target (record_gone) is a failed session. */
static void session_from_record(const lynx_block_t *b,
                                const lynx_session_t *r, int gone,
                                lynx_cpu_session_t *s)
{
    memset(s, 0, sizeof(*s));
    memcpy(s->id, r->id, sizeof(s->id));
    snprintf(s->target, sizeof(s->target), "%s", b->name);
    s->pid = b->header->pid;
    s->state = (int32_t)r->state;
    s->origin = (int32_t)r->origin;
    s->hz = r->hz;
    s->started_unix_ns = r->started_unix_ns;
    s->duration_ns = r->duration_ns;
    s->ended_unix_ns = r->ended_unix_ns;
    s->samples = r->samples;
    s->lost_samples = r->lost_samples;
    s->data_size_bytes = -1;
    memcpy(s->error, r->error, sizeof(s->error));
    if (r->state == LYNX_SESSION_RUNNING && gone == TARGET_STALLED) {
        s->state = LYNX_CPU_FAILED;
        s->ended_unix_ns = death_time(b, r);
        snprintf(s->error, sizeof(s->error), "target stopped responding");
    } else if (r->state == LYNX_SESSION_RUNNING && gone) {
        s->state = LYNX_CPU_FAILED;
        s->ended_unix_ns = death_time(b, r);
        snprintf(s->error, sizeof(s->error), "target process exited (pid %d)",
                 (int)b->header->pid);
    }
}

static int is_dead(const lynx_block_t *b)
{
    return lynx_block_check_alive(b) == LYNX_EDEAD;
}

/* Whether record r of b can no longer end by itself: TARGET_EXITED when
 * the process is dead, TARGET_STALLED when r runs, its agent has not beaten
 * for LYNX_STALE_NS and the session should have ended STALL_GRACE_NS ago
 * (a stopped or wedged process: its samples so far are kept, as for a dead
 * one), else 0. */
static int record_gone(const lynx_block_t *b, const lynx_session_t *r)
{
    int alive = lynx_block_check_alive(b);

    if (alive == LYNX_EDEAD) {
        return TARGET_EXITED;
    }
    if (alive == LYNX_ESTALE && r->state == LYNX_SESSION_RUNNING &&
        lynx_real_ns() > r->started_unix_ns + r->duration_ns +
                             STALL_GRACE_NS) {
        return TARGET_STALLED;
    }
    return 0;
}

/* ---- copying the samples out ---------------------------------------------------- */

/* Copy the CPU table if it holds record `index`'s data.  Entries that do
 * not make sense are left out.  *samples gets the sum of the counts.
 * LYNX_ENOTREADY if the table was reused meanwhile, LYNX_ENOSESSION if it
 * is not this session's. */
static int copy_table(const lynx_block_t *b, uint32_t index, cpu_raw_t *raw,
                      uint64_t *samples, uint64_t *lost)
{
    size_t size;
    lynx_cpu_table_t *t = lynx_block_region_ptr(b, LYNX_REGION_CPU,
                                                sizeof(lynx_cpu_table_t),
                                                &size);
    uint32_t g1;
    int rc;

    *samples = 0;
    *lost = 0;
    if (t == NULL) {
        return LYNX_ENOSESSION;
    }
    g1 = atomic_load_explicit(&t->gen, memory_order_acquire);
    rc = cpu_raw_from_table(t, size, index, raw, samples, lost);
    if (rc != 0) {
        return rc;
    }
    atomic_thread_fence(memory_order_acquire);
    rc = lynx_block_check_size(b) != 0 ? LYNX_EBADSIZE : 0;
    if (rc == 0 && atomic_load_explicit(&t->gen, memory_order_relaxed) != g1) {
        rc = LYNX_ENOTREADY;
    }
    if (rc != 0) {
        /* The object shrank under the copy, or the table was reused. */
        free(raw->stacks);
        raw->stacks = NULL;
        raw->nstacks = 0;
        return rc;
    }
    return 0;
}

/* ---- spooling -------------------------------------------------------------------- */

static int call_session(lynx_cpu_t *c, lynx_target_t *t, uint32_t command,
                        const char *id)
{
    lynx_session_arg_t arg;

    memset(&arg, 0, sizeof(arg));
    snprintf(arg.id, sizeof(arg.id), "%s", id);
    return lynx_target_call(t, command, &arg, sizeof(arg), NULL, 0, NULL, 0,
                            NULL, c->timeout_ns, NULL, 0);
}

/* Tell a live agent the session is saved: frees the table and the record.
 * Failures are harmless (the next housekeeping tries again). */
static void release_record(lynx_cpu_t *c, lynx_target_t *t,
                           const lynx_session_t *r)
{
    if (lynx_block_check_alive(lynx_target_block(t)) != 0) {
        return;
    }
    if (r->in_table && !r->spooled) {
        call_session(c, t, LYNX_CMD_CPU_SPOOLED, r->id);
    }
    call_session(c, t, LYNX_CMD_CPU_FORGET, r->id);
}

/* Build and write the files of session s from record `index`. */
static int write_session(lynx_cpu_t *c, lynx_target_t *t, uint32_t index,
                         const lynx_session_t *r, lynx_cpu_session_t *s)
{
    lynx_block_t *b = lynx_target_block(t);
    cpu_raw_t raw;
    lynx_pprof_t *p = NULL;
    uint8_t *pprof = NULL;
    uint8_t *rawbytes = NULL;
    size_t pprof_len = 0;
    size_t raw_len = 0;
    uint64_t samples;
    uint64_t lost;
    int rc = 0;

    memset(&raw, 0, sizeof(raw));
    if (r->in_table && copy_table(b, index, &raw, &samples, &lost) == 0) {
        s->samples = samples;
        if (lost > s->lost_samples) {
            s->lost_samples = lost;
        }
        raw.period_ns = 1000000000LL / r->hz;
        raw.time_nanos = s->started_unix_ns;
        raw.duration_nanos = s->ended_unix_ns - s->started_unix_ns;
        rc = lynx_target_modules(t, &raw.mods, &raw.nmods);
        if (rc == 0) {
            p = cpu_raw_pprof(&raw, s->lost_samples, &rc);
        }
        if (rc == 0 && c->label_key[0] != '\0') {
            rc = lynx_pprof_set_common_label(p, c->label_key, c->label_value);
        }
        if (rc == 0) {
            /* Only the files the target maps are read for symbols; which
             * ones they were is saved for the flame graph. */
            lynx_modfiles_t *files = lynx_modfiles_create(b->header->pid);
            pthread_mutex_lock(&c->sym_lock);
            lynx_symbolizer_set_files(c->sym, files);
            rc = files == NULL ? -ENOMEM : cpu_raw_identify(&raw, files);
            if (rc == 0) {
                rc = lynx_pprof_encode(p, c->sym, 1, &pprof, &pprof_len);
            }
            pthread_mutex_unlock(&c->sym_lock);
        }
        if (rc == 0) {
            rc = cpu_raw_encode(&raw, &rawbytes, &raw_len);
        }
    }
    if (rc == 0) {
        rc = cpu_spool_write(c->spool_dir, s, pprof, pprof_len, rawbytes,
                             raw_len);
    }
    lynx_pprof_destroy(p);
    cpu_raw_fini(&raw);
    free(pprof);
    free(rawbytes);
    return rc;
}

int lynx_cpu_spool_record(lynx_cpu_t *c, lynx_target_t *t, uint32_t index)
{
    lynx_block_t *b = lynx_target_block(t);
    uint32_t cap = 0;
    lynx_sessions_t *ss = sessions_of(b, &cap);
    lynx_session_t r;
    lynx_cpu_session_t s;
    int dead;
    int lock;
    int rc;

    if (ss == NULL || index >= cap) {
        return LYNX_ENOSESSION;
    }
    rc = lynx_cpu_record_read(&ss->sessions[index], &r);
    if (rc != 0) {
        return rc;
    }
    dead = record_gone(b, &r); /* exited, or stopped past its end */
    if (r.state == LYNX_SESSION_RUNNING && !dead) {
        return LYNX_ENOTREADY;
    }
    lock = cpu_spool_lock(c->spool_dir, SPOOL_LOCK, 0);
    if (lock < 0) {
        return lock;
    }
    /* Under the lock: someone may have spooled or removed it meanwhile. */
    if (cpu_spool_exists(c->spool_dir, r.id, ".json") ||
        cpu_spool_exists(c->spool_dir, r.id, ".gone")) {
        cpu_spool_unlock(lock);
        if (!dead) {
            release_record(c, t, &r);
        }
        return 0;
    }
    if (r.spooled) {
        /* Saved once and removed since (deleted or expired). */
        cpu_spool_unlock(lock);
        if (!dead) {
            release_record(c, t, &r);
        }
        return LYNX_ENOSESSION;
    }
    session_from_record(b, &r, dead, &s);
    rc = write_session(c, t, index, &r, &s);
    cpu_spool_unlock(lock);
    if (rc == 0 && !dead) {
        release_record(c, t, &r);
    }
    return rc;
}

/* ---- walking the blocks ---------------------------------------------------------------- */

typedef int (*session_visit_cb)(lynx_cpu_t *c, lynx_target_t *t,
                                void *ctx);

typedef struct walk_ctx {
    lynx_cpu_t *c;
    session_visit_cb visit;
    void *ctx;
} walk_ctx_t;

static int walk_one(lynx_target_t *t, const char *name, int status,
                    void *arg)
{
    walk_ctx_t *w = arg;

    (void)name;
    (void)status;
    return w->visit(w->c, t, w->ctx);
}

/* Call visit for every target on the host whose block can be attached
 * (dead ones included: their records) until it returns non-zero; that
 * value is returned. */
static int for_each_target(lynx_cpu_t *c, session_visit_cb visit, void *ctx)
{
    walk_ctx_t w = {c, visit, ctx};

    return lynx_target_foreach(LYNX_VISIT_ATTACHED, walk_one, &w);
}

typedef struct find_ctx {
    const char *id;
    lynx_cpu_session_t *out;
    int result;      /* LYNX_ENOSESSION until found */
    int unsaved;     /* found ended and not saved, and c is a reader */
} find_ctx_t;

static int visit_find(lynx_cpu_t *c, lynx_target_t *t, void *arg)
{
    lynx_block_t *b = lynx_target_block(t);
    find_ctx_t *f = arg;
    lynx_session_t r;
    int i = find_record(b, f->id, &r);
    int dead;

    if (i < 0) {
        return 0;
    }
    dead = record_gone(b, &r); /* exited, or stopped past its end */
    if (r.state == LYNX_SESSION_RUNNING && !dead) {
        session_from_record(b, &r, 0, f->out);
        f->result = 0;
        return 1;
    }
    if (c->save_wait_ns >= 0) {
        /* A reader: described from its record; someone else saves it. */
        session_from_record(b, &r, dead, f->out);
        f->result = 0;
        f->unsaved = 1;
        return 1;
    }
    f->result = lynx_cpu_spool_record(c, t, (uint32_t)i);
    if (f->result == 0) {
        f->result = cpu_spool_read(c->spool_dir, f->id, f->out);
    }
    if (f->result != 0 && f->result != LYNX_ENOSESSION) {
        /* Could not save it (spool full?): still answer, and say why. */
        int why = f->result;
        session_from_record(b, &r, dead, f->out);
        f->out->spool_error = why;
        f->result = 0;
    }
    return 1;
}

/* Copy an id argument that may point into *out, before *out is cleared. */
static int copy_id(const char *id, char buf[LYNX_CPU_ID_MAX])
{
    if (!lynx_cpu_id_valid(id)) {
        return LYNX_EBADARG;
    }
    snprintf(buf, LYNX_CPU_ID_MAX, "%s", id);
    return 0;
}

void lynx_cpu_set_reader(lynx_cpu_t *c, int64_t save_wait_ns)
{
    c->save_wait_ns = save_wait_ns < 0 ? 0 : save_wait_ns;
}

/* A reader found session id ended but not saved (*out: from its record):
 * wait until another process has saved it, at most c->save_wait_ns.
 * Then *out is the saved session; or, still unsaved, out->spool_error is
 * what keeps the spool from taking it (cpu_spool_probe), else -EAGAIN;
 * LYNX_ENOSESSION when it was removed meanwhile. */
static int wait_saved(lynx_cpu_t *c, const char *id, lynx_cpu_session_t *out)
{
    int64_t deadline = lynx_mono_ns() + c->save_wait_ns;
    lynx_cpu_session_t saved;

    for (;;) {
        struct timespec pause = {0, SAVE_POLL_NS};
        int rc = cpu_spool_read(c->spool_dir, id, &saved);
        if (rc == 0 || rc == LYNX_EPROTO) { /* saved, or damaged since */
            *out = saved;
            return 0;
        }
        if (rc != LYNX_ENOSESSION) {
            return rc;
        }
        if (cpu_spool_exists(c->spool_dir, id, ".gone")) {
            return LYNX_ENOSESSION;
        }
        if (lynx_mono_ns() >= deadline) {
            break;
        }
        nanosleep(&pause, NULL);
    }
    /* Why, when a look can tell (a full spool); else "not yet". */
    out->spool_error = cpu_spool_probe(c->spool_dir);
    if (out->spool_error == 0) {
        out->spool_error = -EAGAIN;
    }
    return 0;
}

EXPORT int lynx_cpu_get(lynx_cpu_t *c, const char *id_arg,
                        lynx_cpu_session_t *out)
{
    char id[LYNX_CPU_ID_MAX];
    find_ctx_t f = {id, out, LYNX_ENOSESSION, 0};
    int rc = copy_id(id_arg, id);

    memset(out, 0, sizeof(*out));
    if (rc != 0) {
        return rc;
    }
    rc = cpu_spool_read(c->spool_dir, id, out);
    if (rc == LYNX_EPROTO) {
        return 0; /* damaged, and described so */
    }
    if (rc != LYNX_ENOSESSION) {
        return rc;
    }
    if (cpu_spool_exists(c->spool_dir, id, ".gone")) {
        return LYNX_ENOSESSION;
    }
    rc = for_each_target(c, visit_find, &f);
    if (rc < 0) {
        return rc;
    }
    if (f.result == 0 && f.unsaved) {
        return wait_saved(c, id, out);
    }
    return f.result;
}

/* ---- start and stop -------------------------------------------------------------------- */

/* Spool whatever finished session the table of b still holds. */
static int spool_table_owner(lynx_cpu_t *c, lynx_target_t *t)
{
    lynx_block_t *b = lynx_target_block(t);
    uint32_t cap = 0;
    lynx_sessions_t *ss = sessions_of(b, &cap);
    int rc = 0;

    for (uint32_t i = 0; ss != NULL && i < cap; i++) {
        lynx_session_t r;
        if (lynx_cpu_record_read(&ss->sessions[i], &r) == 0 && r.in_table &&
            r.state != LYNX_SESSION_RUNNING && !r.spooled) {
            int k = lynx_cpu_spool_record(c, t, i);
            if (k != 0 && rc == 0) {
                rc = k;
            }
        }
    }
    return rc;
}

EXPORT int lynx_cpu_start(lynx_cpu_t *c, const char *target,
                          int64_t duration_ns, uint32_t hz, uint32_t origin,
                          lynx_cpu_session_t *out)
{
    lynx_cpu_start_arg_t arg;
    lynx_cpu_start_reply_t reply;
    lynx_target_t *t;
    lynx_block_t *b;
    int rc;

    memset(out, 0, sizeof(*out));
    if (duration_ns <= 0 || hz < LYNX_CPU_HZ_MIN || hz > LYNX_CPU_HZ_MAX ||
        (origin != LYNX_ORIGIN_API && origin != LYNX_ORIGIN_DEBUG)) {
        return LYNX_EBADARG;
    }
    rc = lynx_target_attach(target, 0, &t);
    if (rc != 0) {
        return rc;
    }
    b = lynx_target_block(t);
    for (int attempt = 0;; attempt++) {
        memset(&arg, 0, sizeof(arg));
        memset(&reply, 0, sizeof(reply));
        arg.duration_ns = duration_ns;
        arg.hz = hz;
        arg.origin = origin;
        arg.now_unix_ns = lynx_real_ns();
        /* A conflict's reply names the running session (zeros when the
         * agent sent none). */
        rc = lynx_target_call(t, LYNX_CMD_CPU_START, &arg, sizeof(arg),
                              &reply, sizeof(reply), NULL, 0, NULL,
                              c->timeout_ns, NULL, 0);
        if (rc == LYNX_ENOTREADY && attempt == 0) {
            rc = spool_table_owner(c, t);
            if (rc != 0) {
                goto out;
            }
            continue;
        }
        break;
    }
    if (rc != 0 && rc != LYNX_ECONFLICT) {
        goto out;
    }
    if (memchr(reply.id, '\0', sizeof(reply.id)) == NULL ||
        !lynx_cpu_id_valid(reply.id)) {
        rc = rc == LYNX_ECONFLICT ? rc : LYNX_EPROTO;
        goto out;
    }
    memcpy(out->id, reply.id, sizeof(out->id));
    snprintf(out->target, sizeof(out->target), "%s", b->name);
    out->pid = b->header->pid;
    out->state = LYNX_CPU_RUNNING;
    out->origin = (int32_t)origin;
    out->hz = hz;
    out->duration_ns = duration_ns;
    out->started_unix_ns = reply.started_unix_ns;
    out->data_size_bytes = -1;
    if (rc == LYNX_ECONFLICT) {
        /* Describe the running one when its record can be read. */
        lynx_session_t r;
        if (find_record(b, reply.id, &r) >= 0) {
            session_from_record(b, &r, 0, out);
        }
    }
out:
    lynx_target_close(t);
    return rc;
}

typedef struct stop_ctx {
    const char *id;
    int result;
} stop_ctx_t;

static int visit_stop(lynx_cpu_t *c, lynx_target_t *t, void *arg)
{
    lynx_block_t *b = lynx_target_block(t);
    stop_ctx_t *st = arg;
    lynx_session_t r;
    int i = find_record(b, st->id, &r);
    int64_t deadline;

    if (i < 0) {
        return 0;
    }
    if (r.state != LYNX_SESSION_RUNNING || record_gone(b, &r)) {
        st->result = LYNX_ENOTREADY;
        return 1;
    }
    st->result = call_session(c, t, LYNX_CMD_CPU_STOP, st->id);
    if (st->result != 0) {
        return 1;
    }
    /* The agent has answered; wait until the record says so. */
    deadline = lynx_mono_ns() + STOP_WAIT_NS;
    while (find_record(b, st->id, &r) == (int)i &&
           r.state == LYNX_SESSION_RUNNING && !is_dead(b) &&
           lynx_mono_ns() < deadline) {
        struct timespec pause = {0, 10 * 1000 * 1000};
        nanosleep(&pause, NULL);
    }
    lynx_cpu_spool_record(c, t, (uint32_t)i);
    return 1;
}

EXPORT int lynx_cpu_stop(lynx_cpu_t *c, const char *id_arg,
                         lynx_cpu_session_t *out)
{
    char id[LYNX_CPU_ID_MAX];
    stop_ctx_t st = {id, LYNX_ENOSESSION};
    lynx_cpu_session_t tmp;
    int rc = copy_id(id_arg, id);

    if (out == NULL) {
        out = &tmp;
    }
    memset(out, 0, sizeof(*out));
    if (rc != 0) {
        return rc;
    }
    if (cpu_spool_exists(c->spool_dir, id, ".json")) {
        rc = lynx_cpu_get(c, id, out);
        return rc == 0 ? LYNX_ENOTREADY : rc;
    }
    rc = for_each_target(c, visit_stop, &st);
    if (rc < 0) {
        return rc;
    }
    if (st.result == LYNX_ENOSESSION) {
        return st.result;
    }
    rc = lynx_cpu_get(c, id, out);
    if (st.result == LYNX_ENOTREADY && rc == 0 &&
        out->state == LYNX_CPU_RUNNING) {
        /* It ended on its own between the two looks: not an error. */
        return 0;
    }
    return st.result != 0 ? st.result : rc;
}

EXPORT int lynx_cpu_wait(lynx_cpu_t *c, const char *id_arg,
                         int64_t deadline_mono_ns, lynx_cpu_session_t *out)
{
    char id[LYNX_CPU_ID_MAX];

    if (copy_id(id_arg, id) != 0) {
        return LYNX_EBADARG;
    }
    for (;;) {
        int rc = lynx_cpu_get(c, id, out);
        struct timespec pause = {0, 100 * 1000 * 1000};
        if (rc != 0) {
            return rc;
        }
        if (out->state != LYNX_CPU_RUNNING) {
            return 0;
        }
        if (lynx_mono_ns() >= deadline_mono_ns) {
            return LYNX_ETIMEOUT;
        }
        nanosleep(&pause, NULL);
    }
}

/* ---- delete ------------------------------------------------------------------------------ */

typedef struct delete_ctx {
    const char *id;
    int found;       /* a record with the id exists */
    int running;     /* ... and runs in a live target */
    int dead;        /* ... in a dead target */
} delete_ctx_t;

static int visit_delete(lynx_cpu_t *c, lynx_target_t *t, void *arg)
{
    lynx_block_t *b = lynx_target_block(t);
    delete_ctx_t *d = arg;
    lynx_session_t r;

    if (find_record(b, d->id, &r) < 0) {
        return 0;
    }
    d->found = 1;
    if (record_gone(b, &r)) {
        d->dead = 1;
    } else if (r.state == LYNX_SESSION_RUNNING) {
        d->running = 1;
    } else {
        release_record(c, t, &r);
    }
    return 1;
}

EXPORT int lynx_cpu_delete(lynx_cpu_t *c, const char *id)
{
    delete_ctx_t d = {id, 0, 0, 0};
    int spooled;
    int lock;
    int rc;

    if (!lynx_cpu_id_valid(id)) {
        return LYNX_EBADARG;
    }
    if (cpu_spool_exists(c->spool_dir, id, ".gone") &&
        !cpu_spool_exists(c->spool_dir, id, ".json")) {
        return LYNX_ENOSESSION;
    }
    lock = cpu_spool_lock(c->spool_dir, SPOOL_LOCK, 0);
    if (lock < 0) {
        return lock;
    }
    spooled = cpu_spool_exists(c->spool_dir, id, ".json");
    rc = for_each_target(c, visit_delete, &d);
    if (rc >= 0) {
        if (d.running) {
            rc = LYNX_ENOTREADY;
        } else if (!spooled && !d.found) {
            rc = LYNX_ENOSESSION;
        } else {
            rc = cpu_spool_remove(c->spool_dir, id, d.dead);
        }
    }
    cpu_spool_unlock(lock);
    return rc;
}

/* ---- profile and flame ----------------------------------------------------------------------- */

/* The finished session `id` (spooling it if needed). */
static int finished(lynx_cpu_t *c, const char *id, lynx_cpu_session_t *s)
{
    int rc = lynx_cpu_get(c, id, s);

    if (rc != 0) {
        return rc;
    }
    if (s->state == LYNX_CPU_RUNNING) {
        return LYNX_ENOTREADY;
    }
    if (s->state == LYNX_CPU_DAMAGED) {
        return LYNX_EDAMAGED;
    }
    if (!s->spooled && s->spool_error != 0) {
        return s->spool_error;
    }
    if (!s->spooled || s->data_size_bytes < 0) {
        return -ENODATA;
    }
    return 0;
}

EXPORT int lynx_cpu_profile(lynx_cpu_t *c, const char *id_arg,
                            lynx_cpu_session_t *out, uint8_t **data,
                            size_t *len)
{
    char id[LYNX_CPU_ID_MAX];
    lynx_cpu_session_t tmp;
    int rc = copy_id(id_arg, id);

    *data = NULL;
    *len = 0;
    if (rc != 0) {
        return rc;
    }
    if (out == NULL) {
        out = &tmp;
    }
    rc = finished(c, id, out);
    if (rc != 0) {
        return rc;
    }
    rc = cpu_spool_read_file(c->spool_dir, id, ".pb.gz", data, len);
    /* Removed between the two reads. */
    return rc == -ENOENT ? LYNX_ENOSESSION : rc;
}

int lynx_cpu_flame(lynx_cpu_t *c, const char *id_arg, const char *tagfocus,
                   lynx_cpu_session_t *out, struct json_object **json,
                   char **text, size_t *text_len)
{
    char id[LYNX_CPU_ID_MAX];
    lynx_cpu_session_t tmp;
    lynx_modfiles_t *files;
    lynx_pprof_t *p;
    cpu_raw_t raw;
    uint8_t *bytes;
    size_t len;
    int rc = copy_id(id_arg, id);

    if (rc != 0) {
        return rc;
    }
    if (out == NULL) {
        out = &tmp;
    }
    rc = finished(c, id, out);
    if (rc != 0) {
        return rc;
    }
    rc = cpu_spool_read_file(c->spool_dir, id, ".stacks", &bytes, &len);
    if (rc != 0) {
        return rc == -ENOENT ? -ENODATA : rc;
    }
    rc = cpu_raw_decode(bytes, len, &raw);
    free(bytes);
    if (rc != 0) {
        return LYNX_EPROTO;
    }
    p = cpu_raw_pprof(&raw, 0, &rc);
    files = cpu_raw_files(&raw);
    cpu_raw_fini(&raw);
    if (p == NULL || files == NULL) {
        lynx_pprof_destroy(p);
        lynx_modfiles_destroy(files);
        return p == NULL ? rc : -ENOMEM;
    }
    pthread_mutex_lock(&c->sym_lock);
    lynx_symbolizer_set_files(c->sym, files);
    if (json != NULL) {
        rc = lynx_pprof_flame_json_focus(p, c->sym, tagfocus, json);
    } else {
        rc = lynx_pprof_folded(p, c->sym, -1, tagfocus, text, text_len);
    }
    pthread_mutex_unlock(&c->sym_lock);
    lynx_pprof_destroy(p);
    return rc;
}

/* ---- listing ------------------------------------------------------------------------------ */

typedef struct list_ctx {
    const char *target;
    lynx_cpu_session_t *list;
    size_t n;
    size_t cap;
} list_ctx_t;

static int list_has(const list_ctx_t *l, const char *id)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->list[i].id, id) == 0) {
            return 1;
        }
    }
    return 0;
}

static int visit_list(lynx_cpu_t *c, lynx_target_t *t, void *arg)
{
    lynx_block_t *b = lynx_target_block(t);
    list_ctx_t *l = arg;
    uint32_t cap = 0;
    lynx_sessions_t *ss = sessions_of(b, &cap);

    if (l->target != NULL && strcmp(l->target, b->name) != 0) {
        return 0;
    }
    for (uint32_t i = 0; ss != NULL && i < cap; i++) {
        lynx_session_t r;
        if (lynx_cpu_record_read(&ss->sessions[i], &r) != 0 ||
            list_has(l, r.id) ||
            cpu_spool_exists(c->spool_dir, r.id, ".gone")) {
            continue;
        }
        if (r.spooled && !cpu_spool_exists(c->spool_dir, r.id, ".json")) {
            continue; /* removed; the record goes at the next cleanup */
        }
        if (LYNX_ARRAY_RESERVE(l->list, l->cap, l->n + 1) != 0) {
            return -ENOMEM;
        }
        /* Listing reads: a session that ended but is not saved yet is
         * described from its record (a gone target's as failed, in
         * memory); the housekeeper or a look at that session saves it. */
        session_from_record(b, &r, record_gone(b, &r), &l->list[l->n]);
        l->n++;
    }
    return 0;
}

static int newest_first(const void *a, const void *b)
{
    const lynx_cpu_session_t *x = a;
    const lynx_cpu_session_t *y = b;

    if (x->started_unix_ns != y->started_unix_ns) {
        return x->started_unix_ns < y->started_unix_ns ? 1 : -1;
    }
    return strcmp(y->id, x->id);
}

EXPORT int lynx_cpu_list(lynx_cpu_t *c, const char *target,
                         lynx_cpu_session_t **out, size_t *count)
{
    list_ctx_t l;
    size_t w = 0;
    int rc;

    *out = NULL;
    *count = 0;
    memset(&l, 0, sizeof(l));
    l.target = target;
    rc = cpu_spool_list(c->spool_dir, &l.list, &l.n);
    if (rc != 0) {
        return rc;
    }
    l.cap = l.n;
    if (target != NULL) {
        for (size_t i = 0; i < l.n; i++) {
            if (strcmp(l.list[i].target, target) == 0) {
                l.list[w++] = l.list[i];
            }
        }
        l.n = w;
    }
    rc = for_each_target(c, visit_list, &l);
    if (rc < 0) {
        free(l.list);
        return rc;
    }
    if (l.n > 1) {
        qsort(l.list, l.n, sizeof(*l.list), newest_first);
    }
    *out = l.list;
    *count = l.n;
    return 0;
}

/* ---- housekeeping -------------------------------------------------------------------------- */

typedef struct keep_ctx {
    int64_t retention_ns;    /* < 0: do not expire */
    int count;
    char (*ids)[LYNX_CPU_ID_MAX]; /* ids still in some block */
    size_t nids;
    size_t cap;
} keep_ctx_t;

static void note_id(keep_ctx_t *k, const char *id)
{
    if (LYNX_ARRAY_RESERVE(k->ids, k->cap, k->nids + 1) != 0) {
        return;
    }
    snprintf(k->ids[k->nids++], LYNX_CPU_ID_MAX, "%s", id);
}

static int visit_keep(lynx_cpu_t *c, lynx_target_t *t, void *arg)
{
    lynx_block_t *b = lynx_target_block(t);
    keep_ctx_t *k = arg;
    uint32_t cap = 0;
    lynx_sessions_t *ss = sessions_of(b, &cap);
    int dead = is_dead(b);

    for (uint32_t i = 0; ss != NULL && i < cap; i++) {
        lynx_session_t r;
        if (lynx_cpu_record_read(&ss->sessions[i], &r) != 0) {
            continue;
        }
        note_id(k, r.id);
        if (r.state == LYNX_SESSION_RUNNING && !record_gone(b, &r)) {
            continue;
        }
        if (cpu_spool_exists(c->spool_dir, r.id, ".json") ||
            cpu_spool_exists(c->spool_dir, r.id, ".gone")) {
            if (!dead) {
                release_record(c, t, &r); /* an earlier release failed */
            }
            continue;
        }
        if (r.spooled) {
            if (!dead) {
                release_record(c, t, &r); /* removed from the spool */
            }
            continue;
        }
        if (lynx_cpu_spool_record(c, t, i) == 0) {
            k->count++;
        }
    }
    return 0;
}

static int id_noted(const keep_ctx_t *k, const char *id)
{
    for (size_t i = 0; i < k->nids; i++) {
        if (strcmp(k->ids[i], id) == 0) {
            return 1;
        }
    }
    return 0;
}

/* Remove spooled sessions older than the retention, and tombstones of
 * sessions no block holds any more. */
static void expire(lynx_cpu_t *c, keep_ctx_t *k)
{
    lynx_cpu_session_t *list;
    char (*gone)[LYNX_CPU_ID_MAX];
    size_t n;
    int64_t now = lynx_real_ns();

    if (cpu_spool_list(c->spool_dir, &list, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            int64_t end = list[i].ended_unix_ns;
            if (end + k->retention_ns >= now) {
                continue;
            }
            /* Under the spool lock, like every change of a session. */
            int lock = cpu_spool_lock(c->spool_dir, SPOOL_LOCK, 0);
            if (lock < 0) {
                break;
            }
            if (cpu_spool_remove(c->spool_dir, list[i].id,
                                 id_noted(k, list[i].id)) == 0) {
                k->count++;
            }
            cpu_spool_unlock(lock);
        }
        free(list);
    }
    if (cpu_spool_tombstones(c->spool_dir, &gone, &n) == 0) {
        for (size_t i = 0; i < n; i++) {
            char path[512];
            if (!id_noted(k, gone[i]) &&
                cpu_spool_path(c->spool_dir, gone[i], ".gone", path,
                               sizeof(path)) == 0) {
                unlink(path);
            }
        }
        free(gone);
    }
}

EXPORT int lynx_cpu_housekeep(lynx_cpu_t *c, int64_t retention_ns,
                              int64_t cleanup_interval_ns)
{
    keep_ctx_t k;
    int lock = cpu_spool_lock(c->spool_dir, HOUSEKEEP_LOCK, 1);
    int rc;

    if (lock == -EWOULDBLOCK) {
        return 0; /* another process is at it */
    }
    if (lock < 0) {
        return lock;
    }
    memset(&k, 0, sizeof(k));
    k.retention_ns = retention_ns;
    rc = for_each_target(c, visit_keep, &k);
    cpu_spool_sweep_tmp(c->spool_dir, TMP_MAX_AGE_NS);
    if (rc >= 0 && retention_ns > 0 &&
        cpu_spool_stamp_get(c->spool_dir, CLEANUP_STAMP) +
                cleanup_interval_ns <= lynx_real_ns()) {
        cpu_spool_stamp_touch(c->spool_dir, CLEANUP_STAMP);
        expire(c, &k);
    }
    free(k.ids);
    cpu_spool_unlock(lock);
    return rc < 0 ? rc : k.count;
}
