/*
 * agent_cpu.c - CPU sessions inside the target: the commands that start
 * and stop them, and the agent thread's work while one runs (draining the
 * sampler's ring into the CPU table, arming new threads, following module
 * loads, ending the session when its time is up).
 *
 * Workload: at most one session at a time; while it runs the agent thread
 * wakes every DRAIN_NS (50 ms) and aggregates the samples of that interval:
 * at 100 Hz and a few busy threads, a few samples per wake.  Everything here
 * runs on the agent thread only; the signal-safe half is agent_sampler.c.
 * Session records and the CPU table live in the control block and are
 * written only here (records under their seqlock).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent_internal.h"
#include "agent_sampler.h"
#include "agent_threads.h"
#include "lynx_time.h"

#define DRAIN_NS (50LL * 1000 * 1000)
#define RESCAN_NS (500LL * 1000 * 1000)
#define IDLE_NS ((int64_t)LYNX_HEARTBEAT_PERIOD_MS * 1000 * 1000)

static struct {
    lynx_sessions_t *sessions;
    lynx_cpu_table_t *table;
    lynx_modules_t *modules;
    uint32_t *index;          /* open addressing: stack slot + 1, 0 = empty */
    uint32_t index_cap;       /* power of two, >= 2 * table capacity */
    int running;              /* session record index, or -1 */
    int64_t deadline_mono_ns;
    int64_t started_mono_ns;
    int64_t next_rescan_ns;
    unsigned long long adds;  /* loader's object count at the last update */
} g = {.running = -1};

/* ---- session records ---------------------------------------------------- */

static void rec_begin(lynx_session_t *s)
{
    atomic_fetch_add_explicit(&s->gen, 1, memory_order_acq_rel);
}

static void rec_end(lynx_session_t *s)
{
    atomic_fetch_add_explicit(&s->gen, 1, memory_order_release);
}

static lynx_session_t *find(const char *id)
{
    for (int i = 0; i < LYNX_MAX_SESSIONS; i++) {
        lynx_session_t *s = &g.sessions->sessions[i];
        if (s->state != LYNX_SESSION_FREE &&
            strncmp(s->id, id, LYNX_SESSION_ID_MAX) == 0) {
            return s;
        }
    }
    return NULL;
}

/* A record for a new session: a free one, else the oldest finished one
 * whose data is not only in the table. */
static int pick_record(void)
{
    int oldest = -1;

    for (int i = 0; i < LYNX_MAX_SESSIONS; i++) {
        lynx_session_t *s = &g.sessions->sessions[i];
        if (s->state == LYNX_SESSION_FREE) {
            return i;
        }
        if (s->state != LYNX_SESSION_RUNNING &&
            !(s->in_table && !s->spooled) &&
            (oldest < 0 ||
             s->started_unix_ns <
                 g.sessions->sessions[oldest].started_unix_ns)) {
            oldest = i;
        }
    }
    return oldest;
}

/* ---- the CPU table ------------------------------------------------------- */

static uint32_t hash_stack(const lynx_raw_sample_t *s)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ s->depth;

    for (uint32_t i = 0; i < s->depth; i++) {
        h ^= s->pcs[i];
        h *= 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return (uint32_t)(h ^ (h >> 32));
}

static void add_sample(const lynx_raw_sample_t *s, void *ctx)
{
    lynx_cpu_table_t *t = g.table;
    uint32_t mask = g.index_cap - 1;
    uint32_t h = hash_stack(s);
    uint32_t n;

    (void)ctx;
    for (uint32_t probe = 0; probe < g.index_cap; probe++) {
        uint32_t *slot = &g.index[(h + probe) & mask];
        if (*slot != 0) {
            lynx_cpu_stack_t *st = &t->stacks[*slot - 1];
            if (st->depth == s->depth && st->flags == s->flags &&
                memcmp(st->pcs, s->pcs, s->depth * sizeof(uint64_t)) == 0) {
                st->count += s->weight;
                t->samples += s->weight;
                return;
            }
            continue;
        }
        n = atomic_load_explicit(&t->nstacks, memory_order_relaxed);
        if (n >= t->capacity) {
            t->lost_samples += s->weight;
            return;
        }
        t->stacks[n].count = s->weight;
        t->stacks[n].depth = s->depth;
        t->stacks[n].flags = s->flags;
        memcpy(t->stacks[n].pcs, s->pcs, s->depth * sizeof(uint64_t));
        /* Publish the entry after its contents. */
        atomic_store_explicit(&t->nstacks, n + 1, memory_order_release);
        *slot = n + 1;
        t->samples += s->weight;
        return;
    }
    t->lost_samples += s->weight;
}

static void drain(void)
{
    lynx_sampler_drain(add_sample, NULL);
    g.table->lost_samples += lynx_sampler_take_lost();
}

/* Copy the table's counters into the running session's record. */
static void publish_counts(lynx_session_t *s)
{
    rec_begin(s);
    s->samples = g.table->samples;
    s->lost_samples = g.table->lost_samples;
    rec_end(s);
}

/* End the running session in `state` (with `why` for FAILED). */
static void finish(uint32_t state, const char *why)
{
    lynx_session_t *s;

    if (g.running < 0) {
        return;
    }
    s = &g.sessions->sessions[g.running];
    lynx_sampler_set_active(0);
    lynx_threads_disarm_all();
    drain();
    lynx_agent_modules_update(g.modules, &g.adds);
    rec_begin(s);
    s->state = state;
    s->ended_unix_ns = lynx_real_ns();
    s->samples = g.table->samples;
    s->lost_samples = g.table->lost_samples;
    s->in_table = 1;
    if (why != NULL) {
        snprintf(s->error, sizeof(s->error), "%s", why);
    }
    rec_end(s);
    g.running = -1;
}

/* ---- commands ------------------------------------------------------------- */

int lynx_agent_cpu_start(const void *argp, size_t arg_len, lynx_reply_t *r)
{
    const lynx_cpu_start_arg_t *arg = argp;
    lynx_cpu_start_reply_t *rep = r->inline_buf;
    lynx_session_t *s;
    int64_t period_ns;
    int idx;
    int rc;

    if (arg_len != sizeof(*arg) || arg->duration_ns <= 0 ||
        arg->hz < LYNX_CPU_HZ_MIN || arg->hz > LYNX_CPU_HZ_MAX ||
        (arg->origin != LYNX_ORIGIN_API && arg->origin != LYNX_ORIGIN_DEBUG)) {
        snprintf(r->message, LYNX_MSG_MAX, "invalid CPU start arguments");
        return LYNX_EBADARG;
    }
    if (g.sessions == NULL || g.table == NULL || g.index == NULL) {
        snprintf(r->message, LYNX_MSG_MAX, "CPU profiling not available");
        return LYNX_EUNSUPPORTED;
    }
    memset(rep, 0, sizeof(*rep));
    r->inline_len = sizeof(*rep);
    if (g.running >= 0) {
        s = &g.sessions->sessions[g.running];
        memcpy(rep->id, s->id, sizeof(rep->id));
        rep->started_unix_ns = s->started_unix_ns;
        return LYNX_ECONFLICT;
    }
    for (int i = 0; i < LYNX_MAX_SESSIONS; i++) {
        s = &g.sessions->sessions[i];
        if (s->state != LYNX_SESSION_FREE && s->in_table && !s->spooled) {
            memcpy(rep->id, s->id, sizeof(rep->id));
            snprintf(r->message, LYNX_MSG_MAX,
                     "session %s has not been saved yet", s->id);
            return LYNX_ENOTREADY;
        }
    }
    rc = lynx_sampler_install(r->message, LYNX_MSG_MAX);
    if (rc != 0) {
        return rc;
    }
    idx = pick_record();
    if (idx < 0) {
        snprintf(r->message, LYNX_MSG_MAX, "no free session record");
        return -ENOSPC;
    }
    s = &g.sessions->sessions[idx];

    /* The table now belongs to the new session. */
    for (int i = 0; i < LYNX_MAX_SESSIONS; i++) {
        lynx_session_t *o = &g.sessions->sessions[i];
        if (o->in_table) {
            rec_begin(o);
            o->in_table = 0;
            rec_end(o);
        }
    }
    /* Samples left in the ring by an earlier profile are thrown away. */
    drain();
    lynx_sampler_take_lost();
    atomic_fetch_add(&g.table->gen, 1);
    atomic_store(&g.table->nstacks, 0);
    g.table->session_index = (uint32_t)idx;
    g.table->samples = 0;
    g.table->lost_samples = 0;
    period_ns = 1000000000LL / arg->hz;
    g.table->period_ns = period_ns;
    memset(g.index, 0, g.index_cap * sizeof(uint32_t));
    lynx_agent_modules_update(g.modules, &g.adds);

    rec_begin(s);
    memset(s->id, 0, sizeof(s->id));
    snprintf(s->id, sizeof(s->id), "cpu_%lld", (long long)arg->now_unix_ns);
    for (int k = 1; find(s->id) != s && find(s->id) != NULL && k < 1000;
         k++) {
        snprintf(s->id, sizeof(s->id), "cpu_%lld",
                 (long long)arg->now_unix_ns + k);
    }
    s->state = LYNX_SESSION_RUNNING;
    s->started_unix_ns = lynx_real_ns();
    s->duration_ns = arg->duration_ns;
    s->ended_unix_ns = 0;
    s->hz = arg->hz;
    s->origin = arg->origin;
    s->samples = 0;
    s->lost_samples = 0;
    s->in_table = 1;
    s->spooled = 0;
    s->error[0] = '\0';
    rec_end(s);

    g.running = idx;
    g.started_mono_ns = lynx_mono_ns();
    g.deadline_mono_ns = g.started_mono_ns + arg->duration_ns;
    g.next_rescan_ns = g.started_mono_ns + RESCAN_NS;
    lynx_sampler_set_active(1);
    rc = lynx_threads_arm_all(period_ns);
    if (rc < 0) {
        finish(LYNX_SESSION_FAILED, "could not arm CPU timers");
        snprintf(r->message, LYNX_MSG_MAX, "could not arm CPU timers: %s",
                 strerror(-rc));
        return rc;
    }
    memcpy(rep->id, s->id, sizeof(rep->id));
    rep->started_unix_ns = s->started_unix_ns;
    return 0;
}

/* The session a command names, or NULL with the code in *rc. */
static lynx_session_t *session_arg(const void *argp, size_t arg_len,
                                   lynx_reply_t *r, int *rc)
{
    const lynx_session_arg_t *arg = argp;
    lynx_session_t *s;

    if (arg_len != sizeof(*arg) ||
        memchr(arg->id, '\0', sizeof(arg->id)) == NULL) {
        snprintf(r->message, LYNX_MSG_MAX, "invalid session argument");
        *rc = LYNX_EBADARG;
        return NULL;
    }
    s = g.sessions != NULL ? find(arg->id) : NULL;
    *rc = s != NULL ? 0 : LYNX_ENOSESSION;
    return s;
}

int lynx_agent_cpu_stop(const void *argp, size_t arg_len, lynx_reply_t *r)
{
    int rc;
    lynx_session_t *s = session_arg(argp, arg_len, r, &rc);

    if (s == NULL) {
        return rc;
    }
    if (g.running < 0 || s != &g.sessions->sessions[g.running]) {
        snprintf(r->message, LYNX_MSG_MAX, "session %s is not running",
                 s->id);
        return LYNX_ENOTREADY;
    }
    finish(LYNX_SESSION_CANCELLED, NULL);
    return 0;
}

/* SPOOLED (forget == 0): the endpoint saved the data, the table is free.
 * FORGET (forget == 1): the record itself goes. */
static int release_record(const void *argp, size_t arg_len, lynx_reply_t *r,
                          int forget)
{
    int rc;
    lynx_session_t *s = session_arg(argp, arg_len, r, &rc);

    if (s == NULL) {
        return rc;
    }
    if (s->state == LYNX_SESSION_RUNNING) {
        return LYNX_ENOTREADY;
    }
    rec_begin(s);
    if (forget) {
        s->state = LYNX_SESSION_FREE;
    } else {
        s->spooled = 1;
    }
    s->in_table = 0;
    rec_end(s);
    return 0;
}

int lynx_agent_cpu_spooled(const void *argp, size_t arg_len, lynx_reply_t *r)
{
    return release_record(argp, arg_len, r, 0);
}

int lynx_agent_cpu_forget(const void *argp, size_t arg_len, lynx_reply_t *r)
{
    return release_record(argp, arg_len, r, 1);
}

/* ---- the agent thread's periodic work ---------------------------------------- */

int64_t lynx_agent_cpu_tick(void)
{
    lynx_session_t *s;
    int64_t now;
    char why[LYNX_MSG_MAX];

    if (g.running < 0) {
        return IDLE_NS;
    }
    s = &g.sessions->sessions[g.running];
    now = lynx_mono_ns();
    if (lynx_sampler_check(why, sizeof(why)) != 0) {
        /* The program took SIGPROF: stop sending it ours at once; the
         * samples taken so far are kept, as for a killed target. */
        finish(LYNX_SESSION_FAILED, why);
        return IDLE_NS;
    }
    drain();
    if (now >= g.deadline_mono_ns) {
        finish(LYNX_SESSION_COMPLETED, NULL);
        return IDLE_NS;
    }
    publish_counts(s);
    if (now >= g.next_rescan_ns) {
        lynx_threads_rescan();
        if (lynx_agent_modules_adds() != g.adds) {
            lynx_agent_modules_update(g.modules, &g.adds);
        }
        g.next_rescan_ns = now + RESCAN_NS;
    }
    return g.deadline_mono_ns - now < DRAIN_NS ? g.deadline_mono_ns - now
                                                : DRAIN_NS;
}

int lynx_agent_cpu_shutdown(void)
{
    if (g.running >= 0) {
        finish(LYNX_SESSION_FAILED,
               "target process exited during the profile");
    }
    for (int i = 0; g.sessions != NULL && i < LYNX_MAX_SESSIONS; i++) {
        lynx_session_t *s = &g.sessions->sessions[i];
        if (s->state != LYNX_SESSION_FREE && s->in_table && !s->spooled) {
            return 1;
        }
    }
    return 0;
}

void lynx_agent_cpu_atfork_child(void)
{
    lynx_threads_atfork_child();
    lynx_sampler_set_active(0);
    g.sessions = NULL;
    g.table = NULL;
    g.modules = NULL;
    g.running = -1;
}

int lynx_agent_cpu_init(lynx_block_header_t *h)
{
    const lynx_region_t *rs = lynx_block_region(h, LYNX_REGION_SESSIONS);
    const lynx_region_t *rt = lynx_block_region(h, LYNX_REGION_CPU);
    const lynx_region_t *rm = lynx_block_region(h, LYNX_REGION_MODULES);
    uint32_t cap = 1;

    g.running = -1;
    g.sessions = rs ? (lynx_sessions_t *)((char *)h + rs->offset) : NULL;
    g.table = rt ? (lynx_cpu_table_t *)((char *)h + rt->offset) : NULL;
    g.modules = rm ? (lynx_modules_t *)((char *)h + rm->offset) : NULL;
    if (g.table == NULL) {
        return 0;
    }
    while (cap < 2 * g.table->capacity) {
        cap <<= 1;
    }
    free(g.index);
    g.index = calloc(cap, sizeof(uint32_t));
    if (g.index == NULL) {
        g.table = NULL;
        return -ENOMEM;
    }
    g.index_cap = cap;
    lynx_threads_init((pid_t)syscall(SYS_gettid));
    return 0;
}
