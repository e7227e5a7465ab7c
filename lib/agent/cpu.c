/*
 * agent/cpu.c - CPU sessions inside the target: the commands that start
 * and stop them, and the agent thread's work while one runs (draining the
 * sampler's ring into the CPU table, arming new threads, following module
 * loads, ending the session when its time is up).
 *
 * Workload: at most one session at a time; while it runs the agent thread
 * wakes every DRAIN_NS (50 ms) and aggregates the samples of that interval:
 * at 100 Hz and a few busy threads, a few samples per wake.  Everything here
 * runs on the agent thread only; the signal-safe half is agent/signal_sampler.c.
 * Session records and the CPU table live in the control block and are
 * written only here (records under their seqlock).
 *
 * The block is output only: the records, the table's capacity and counters
 * are kept in the agent's own memory (`g`) and copied out; nothing is read
 * back from the block, which other processes can write.  Command arguments
 * arrive as the agent's private copy (agent/agent.c).
 */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "agent/context.h"
#include "agent/internal.h"
#include "agent/labels.h"
#include "agent/sampler.h"
#include "agent/threads.h"
#include "protocol/clock.h"

#define DRAIN_NS (50LL * 1000 * 1000)
#define RESCAN_NS (500LL * 1000 * 1000)
#define IDLE_NS ((int64_t)LYNX_HEARTBEAT_PERIOD_MS * 1000 * 1000)

/* This file's part of the agent's state (agent/context.h). */
#define g (lynx_agent.cpu)

/* ---- session records ---------------------------------------------------- */

/* Copy private record s out to the block under the record's seqlock. */
static void publish_rec(const lynx_session_t *s)
{
    int i = (int)(s - g.recs);
    lynx_session_t *dst = &g.sessions->sessions[i];
    size_t off = offsetof(lynx_session_t, state);

    g.rec_gen[i]++;
    atomic_store_explicit(&dst->gen, g.rec_gen[i], memory_order_seq_cst);
    memcpy((char *)dst + off, (const char *)s + off, sizeof(*s) - off);
    g.rec_gen[i]++;
    atomic_store_explicit(&dst->gen, g.rec_gen[i], memory_order_release);
}

static lynx_session_t *find(const char *id)
{
    for (int i = 0; i < LYNX_MAX_SESSIONS; i++) {
        lynx_session_t *s = &g.recs[i];
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
        lynx_session_t *s = &g.recs[i];
        if (s->state == LYNX_SESSION_FREE) {
            return i;
        }
        if (s->state != LYNX_SESSION_RUNNING &&
            !(s->in_table && !s->spooled) &&
            (oldest < 0 ||
             s->started_unix_ns < g.recs[oldest].started_unix_ns)) {
            oldest = i;
        }
    }
    return oldest;
}

/* ---- the CPU table ------------------------------------------------------- */

static uint32_t hash_stack(const lynx_raw_sample_t *s)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ s->depth;
    uint64_t w[3];

    for (uint32_t i = 0; i < s->depth; i++) {
        h ^= s->pcs[i];
        h *= 0x100000001b3ULL;
        h ^= h >> 29;
    }
    /* The labels are part of the key: the tid, the thread's name and the
     * first label's value tell most label sets apart; equal ones are
     * compared whole in add_sample. */
    memcpy(&w[0], &s->labels, sizeof(uint64_t));
    memcpy(&w[1], s->labels.thread, sizeof(uint64_t));
    memcpy(&w[2], s->labels.labels[0].value, sizeof(uint64_t));
    for (int i = 0; i < 3; i++) {
        h ^= w[i];
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
            /* The stored stack is compared as the block holds it: a
             * scribbled entry only splits a stack, it cannot hurt. */
            if (st->depth == s->depth && st->flags == s->flags &&
                memcmp(st->pcs, s->pcs, s->depth * sizeof(uint64_t)) == 0 &&
                memcmp(&st->labels, &s->labels, sizeof(s->labels)) == 0) {
                st->count += s->weight;
                g.samples += s->weight;
                return;
            }
            continue;
        }
        n = g.nstacks;
        if (n >= g.table_cap) {
            g.lost_samples += s->weight;
            return;
        }
        t->stacks[n].count = s->weight;
        t->stacks[n].depth = s->depth;
        t->stacks[n].flags = s->flags;
        memcpy(&t->stacks[n].labels, &s->labels, sizeof(s->labels));
        memcpy(t->stacks[n].pcs, s->pcs, s->depth * sizeof(uint64_t));
        /* Publish the entry after its contents. */
        g.nstacks = n + 1;
        atomic_store_explicit(&t->nstacks, g.nstacks, memory_order_release);
        *slot = n + 1;
        g.samples += s->weight;
        return;
    }
    g.lost_samples += s->weight;
}

static void drain(void)
{
    lynx_sampler_drain(add_sample, NULL);
    g.lost_samples += lynx_sampler_take_lost();
    g.table->samples = g.samples;
    g.table->lost_samples = g.lost_samples;
}

/* Copy the table's counters into the running session's record. */
static void publish_counts(lynx_session_t *s)
{
    s->samples = g.samples;
    s->lost_samples = g.lost_samples;
    publish_rec(s);
}

/* End the running session in `state` (with `why` for FAILED). */
static void finish(uint32_t state, const char *why)
{
    lynx_session_t *s;

    if (g.running < 0) {
        return;
    }
    s = &g.recs[g.running];
    lynx_sampler_set_active(0);
    lynx_threads_disarm_all();
    drain();
    lynx_agent_modules_update(&g.adds);
    s->state = state;
    s->ended_unix_ns = lynx_real_ns();
    s->samples = g.samples;
    s->lost_samples = g.lost_samples;
    s->in_table = 1;
    if (why != NULL) {
        snprintf(s->error, sizeof(s->error), "%s", why);
    }
    publish_rec(s);
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
        s = &g.recs[g.running];
        memcpy(rep->id, s->id, sizeof(rep->id));
        rep->started_unix_ns = s->started_unix_ns;
        return LYNX_ECONFLICT;
    }
    for (int i = 0; i < LYNX_MAX_SESSIONS; i++) {
        s = &g.recs[i];
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
    s = &g.recs[idx];

    /* The table now belongs to the new session. */
    for (int i = 0; i < LYNX_MAX_SESSIONS; i++) {
        lynx_session_t *o = &g.recs[i];
        if (o->in_table) {
            o->in_table = 0;
            publish_rec(o);
        }
    }
    /* Samples left in the ring by an earlier profile are thrown away. */
    drain();
    lynx_sampler_take_lost();
    g.table_gen++;
    atomic_store(&g.table->gen, g.table_gen);
    g.nstacks = 0;
    g.samples = 0;
    g.lost_samples = 0;
    atomic_store(&g.table->nstacks, 0);
    g.table->session_index = (uint32_t)idx;
    g.table->samples = 0;
    g.table->lost_samples = 0;
    period_ns = 1000000000LL / arg->hz;
    g.table->period_ns = period_ns;
    memset(g.index, 0, g.index_cap * sizeof(uint32_t));
    lynx_agent_modules_update(&g.adds);

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
    publish_rec(s);

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
    if (g.running < 0 || s != &g.recs[g.running]) {
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
    if (forget) {
        s->state = LYNX_SESSION_FREE;
    } else {
        s->spooled = 1;
    }
    s->in_table = 0;
    publish_rec(s);
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
    s = &g.recs[g.running];
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
            lynx_agent_modules_update(&g.adds);
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
        lynx_session_t *s = &g.recs[i];
        if (s->state != LYNX_SESSION_FREE && s->in_table && !s->spooled) {
            return 1;
        }
    }
    return 0;
}

void lynx_agent_cpu_atfork_child(void)
{
    lynx_threads_atfork_child();
    lynx_labels_atfork_child();
    lynx_sampler_set_active(0);
    g.sessions = NULL;
    g.table = NULL;
    g.running = -1;
}

int lynx_agent_cpu_init(const lynx_agent_block_t *blk)
{
    uint32_t cap = 1;

    g.running = -1;
    memset(g.recs, 0, sizeof(g.recs));
    memset(g.rec_gen, 0, sizeof(g.rec_gen));
    g.sessions = blk->sessions;
    g.table = blk->cpu;
    g.table_cap = blk->cpu_capacity;
    g.nstacks = 0;
    g.table_gen = 0;
    if (g.table == NULL || g.sessions == NULL || g.table_cap == 0) {
        g.table = NULL;
        return 0;
    }
    while (cap < 2 * g.table_cap) {
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
