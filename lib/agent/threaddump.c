/*
 * agent/threaddump.c - a snapshot of every thread's stack, taken without
 * stopping the process: the agent thread sends each thread a directed
 * SIGPROF (tgkill), each thread unwinds itself from the signal context
 * into a slot allocated in advance, and the agent waits at most a timeout
 * (100 ms by default) for the answers.  A thread that does not answer in
 * time (SIGPROF blocked, stopped, stuck in the kernel) is reported as not
 * answering, never waited on.
 *
 * The signal interrupts what a thread is blocked in: nanosleep, poll,
 * epoll_wait, select, sem_timedwait... return EINTR to the program
 * (SA_RESTART does not restart them).  With LYNX_DUMP_RUNNING_ONLY the
 * agent thread reads each thread's /proc state first and does not signal
 * one that sleeps in the kernel ('S', 'D'): it is listed with its wchan,
 * without a stack.
 *
 * Workload: a dump is asked for at most a few times a second, for tens to
 * a few thousand threads.  The SIGPROF handler is agent/signal_sampler.c's: it
 * calls lynx_threaddump_on_signal() for signals that are not its timers'.
 * A dump request is told apart by si_code SI_TKILL, si_pid our own pid and
 * the pending flag; the handler is never installed over one the program
 * owns (lynx_sampler_install refuses), so a program that uses SIGPROF
 * gets "threads cannot be dumped", not a stolen signal.
 *
 * ASYNC-SIGNAL-SAFE: lynx_threaddump_on_signal() and what it calls
 * (slot_answer, unwind_context) run inside the signal handler on any
 * thread: no allocation, no locks, errno saved by the caller, writes only
 * into the slots mmap'd beforehand, gives up rather than waits.  The rest
 * of the file runs on the agent thread only.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include "agent/context.h"
#include "agent/labels.h"
#include "agent/sampler.h"
#include "agent/threaddump.h"
#include "protocol/block_threads.h"
#include "protocol/clock.h"

#define DUMP_MAX_THREADS LYNX_DUMP_MAX_THREADS
#define SETTLE_NS (50LL * 1000 * 1000) /* wait for a slot being written */

enum {
    SLOT_IDLE = 0,
    SLOT_PENDING = 1,  /* asked, not answered */
    SLOT_WRITING = 2,  /* the thread is unwinding into it */
    SLOT_DONE = 3,
    SLOT_EXPIRED = 4,  /* timed out: a late answer is refused */
};

typedef struct lynx_dump_slot {
    _Atomic int32_t tid;
    _Atomic uint32_t state;
    uint32_t depth;
    uint32_t flags;
    lynx_sample_labels_t labels;    /* the thread's, when it answered */
    uint64_t pcs[LYNX_STACK_MAX_DEPTH];
} dump_slot_t;

/* This file's part of the agent's state (agent/context.h). */
#define g (lynx_agent.threaddump)

/* ---- inside the signal handler -------------------------------------------- */

/* This thread's pending slot, now WRITING for the caller to fill; NULL if
 * there is none (not asked, already answered, expired). */
static dump_slot_t *claim_own_slot(void)
{
    dump_slot_t *slots = g.slots;
    int32_t me = (int32_t)syscall(SYS_gettid);
    uint32_t n = atomic_load_explicit(&g.nslots, memory_order_acquire);

    for (uint32_t i = 0; i < n && i < DUMP_MAX_THREADS; i++) {
        dump_slot_t *s = &slots[i];
        uint32_t expected = SLOT_PENDING;
        if (atomic_load_explicit(&s->tid, memory_order_relaxed) != me) {
            continue;
        }
        if (atomic_compare_exchange_strong_explicit(
                &s->state, &expected, SLOT_WRITING, memory_order_acquire,
                memory_order_relaxed)) {
            return s;
        }
        break;
    }
    return NULL;
}

static void slot_done(dump_slot_t *s)
{
    atomic_store_explicit(&s->state, SLOT_DONE, memory_order_release);
    atomic_fetch_add_explicit(&g.answered, 1, memory_order_release);
}

int lynx_threaddump_on_signal(const siginfo_t *info, void *ucontext,
                              int defer)
{
    /* A SIGPROF is not queued twice: the request may have merged with a
     * CPU timer's signal pending on the thread, so any SIGPROF answers a
     * pending request; only ours is nothing else. */
    int asked = info != NULL && info->si_code == SI_TKILL &&
                info->si_pid == getpid();
    dump_slot_t *s;

    if (!atomic_load_explicit(&g.pending, memory_order_acquire) ||
        g.slots == NULL) {
        return asked;
    }
    if (defer) {
        return LYNX_DUMP_DEFERRED;
    }
    s = claim_own_slot();
    if (s != NULL) {
        uint32_t label_flags = 0;
        s->depth = lynx_unwind_context(ucontext, s->pcs,
                                       LYNX_STACK_MAX_DEPTH, &s->flags);
        lynx_labels_capture(&s->labels, &label_flags);
        slot_done(s);
    }
    return asked;
}

void lynx_threaddump_answer(const uint64_t *pcs, uint32_t depth,
                            uint32_t flags)
{
    dump_slot_t *s;

    if (!atomic_load_explicit(&g.pending, memory_order_acquire) ||
        g.slots == NULL || (s = claim_own_slot()) == NULL) {
        return;
    }
    if (depth > LYNX_STACK_MAX_DEPTH) {
        depth = LYNX_STACK_MAX_DEPTH;
        flags |= LYNX_STACK_TRUNCATED;
    }
    memcpy(s->pcs, pcs, depth * sizeof(uint64_t));
    s->depth = depth;
    s->flags = flags;
    lynx_labels_capture(&s->labels, &flags);
    slot_done(s);
}

/* ---- on the agent thread ----------------------------------------------------- */

void lynx_agent_threaddump_init(int have_modules)
{
    g.have_modules = have_modules;
    g.agent_tid = (pid_t)syscall(SYS_gettid);
    g.pid = getpid();
}

void lynx_agent_modules_refresh(void)
{
    if (g.have_modules && lynx_agent_modules_adds() != g.adds) {
        lynx_agent_modules_update(&g.adds);
    }
}

static int read_small(const char *path, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        return -1;
    }
    n = read(fd, buf, size - 1);
    close(fd);
    if (n < 0) {
        return -1;
    }
    buf[n] = '\0';
    return (int)n;
}

/* The state letter of one thread from /proc ('?' if unknown). */
static char thread_state(pid_t tid)
{
    char path[64];
    char buf[512];
    char *p;

    snprintf(path, sizeof(path), "/proc/self/task/%d/stat", (int)tid);
    /* "tid (comm) S ...": the comm may hold ')' and spaces; the state
     * follows the last ')'. */
    if (read_small(path, buf, sizeof(buf)) > 0 &&
        (p = strrchr(buf, ')')) != NULL && p[1] == ' ' && p[2] != '\0') {
        return p[2];
    }
    return '?';
}

/* The kernel function a blocked thread waits in ("" if unknown: "0" is
 * what the kernel writes for a running thread). */
static void thread_wchan(pid_t tid, char *out, size_t size)
{
    char path[64];
    char buf[LYNX_THREAD_WCHAN_MAX];

    out[0] = '\0';
    snprintf(path, sizeof(path), "/proc/self/task/%d/wchan", (int)tid);
    if (read_small(path, buf, sizeof(buf)) > 0 && strcmp(buf, "0") != 0) {
        buf[strcspn(buf, "\n")] = '\0';
        snprintf(out, size, "%s", buf);
    }
}

/* Name and state letter of one thread from /proc. */
static void thread_info(pid_t tid, lynx_thread_rec_t *rec)
{
    char path[64];
    char buf[64];

    snprintf(path, sizeof(path), "/proc/self/task/%d/comm", (int)tid);
    if (read_small(path, buf, sizeof(buf)) > 0) {
        buf[strcspn(buf, "\n")] = '\0';
        size_t len = strlen(buf);
        if (len >= sizeof(rec->name)) {
            len = sizeof(rec->name) - 1;
        }
        memcpy(rec->name, buf, len);
        rec->name[len] = '\0';
    }
    rec->state = thread_state(tid);
}

/* The threads of the process, at most max. */
static uint32_t list_threads(pid_t *tids, uint32_t max, uint32_t *skipped)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    uint32_t n = 0;

    *skipped = 0;
    if (d == NULL) {
        return 0;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '1' || e->d_name[0] > '9') {
            continue;
        }
        if (n == max) {
            (*skipped)++;
            continue;
        }
        tids[n++] = (pid_t)atoi(e->d_name);
    }
    closedir(d);
    return n;
}

static int ensure_slots(void)
{
    void *p;

    if (g.slots != NULL) {
        return 0;
    }
    p = mmap(NULL, sizeof(dump_slot_t) * DUMP_MAX_THREADS,
             PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return -errno;
    }
    g.slots = p;
    return 0;
}

/* Slots of the last request that a late thread is still writing. */
static int slots_settled(uint32_t n, int64_t deadline)
{
    for (;;) {
        int busy = 0;
        for (uint32_t i = 0; i < n; i++) {
            if (atomic_load(&g.slots[i].state) == SLOT_WRITING) {
                busy = 1;
                break;
            }
        }
        if (!busy) {
            return 1;
        }
        if (lynx_mono_ns() >= deadline) {
            return 0;
        }
        struct timespec pause = {0, 200 * 1000};
        nanosleep(&pause, NULL);
    }
}

static void pause_us(long us)
{
    struct timespec ts = {0, us * 1000};
    nanosleep(&ts, NULL);
}

/* Wait until `expected` threads have answered, or none has for timeout_ms
 * (a thread that is stopped, or blocks SIGPROF), or LYNX_DUMP_TIMEOUT_MAX_MS
 * have passed since t0.  The timeout counts from the last answer: with
 * a thousand threads on a busy machine, answering takes longer than one
 * timeout while every thread is fine. */
static void wait_answers(uint32_t expected, uint32_t timeout_ms, int64_t t0)
{
    int64_t timeout_ns = (int64_t)timeout_ms * 1000 * 1000;
    int64_t cap = t0 + (int64_t)LYNX_DUMP_TIMEOUT_MAX_MS * 1000 * 1000;
    int64_t deadline = t0 + timeout_ns;
    uint32_t seen = 0;

    for (;;) {
        uint32_t answered = atomic_load_explicit(&g.answered,
                                                 memory_order_acquire);
        int64_t now = lynx_mono_ns();
        if (answered >= expected || now >= deadline || now >= cap) {
            return;
        }
        if (answered != seen) {
            seen = answered;
            deadline = now + timeout_ns;
        }
        pause_us(100);
    }
}

int lynx_agent_thread_dump(const void *argp, size_t arg_len, lynx_reply_t *r)
{
    const lynx_thread_dump_arg_t *arg = argp;
    lynx_thread_dump_reply_t *rep = r->inline_buf;
    lynx_thread_rec_t *recs = r->bulk;
    static pid_t tids[DUMP_MAX_THREADS];
    /* The state of a thread left alone (running_only), 0 if signalled. */
    static char blocked[DUMP_MAX_THREADS];
    int running_only = 0;
    uint32_t timeout_ms = LYNX_DUMP_TIMEOUT_DEFAULT_MS;
    uint32_t n;
    uint32_t skipped;
    uint32_t expected = 0;
    uint32_t prev;
    int64_t t0;
    int64_t last = 0;
    int rc;

    if (arg_len == sizeof(*arg)) {
        if (arg->timeout_ms > LYNX_DUMP_TIMEOUT_MAX_MS) {
            snprintf(r->message, LYNX_MSG_MAX, "timeout %u ms too long",
                     arg->timeout_ms);
            return LYNX_EBADARG;
        }
        if (arg->timeout_ms > 0) {
            timeout_ms = arg->timeout_ms;
        }
        if (arg->flags & ~LYNX_DUMP_FLAGS_KNOWN) {
            snprintf(r->message, LYNX_MSG_MAX,
                     "unknown thread dump flags 0x%x", arg->flags);
            return LYNX_EBADARG;
        }
        running_only = (arg->flags & LYNX_DUMP_RUNNING_ONLY) != 0;
    } else if (arg_len != 0) {
        snprintf(r->message, LYNX_MSG_MAX, "invalid thread dump argument");
        return LYNX_EBADARG;
    }
    rc = lynx_sampler_install(r->message, LYNX_MSG_MAX);
    if (rc == -EBUSY) {
        snprintf(r->message, LYNX_MSG_MAX,
                 "threads cannot be dumped: SIGPROF is in use by the "
                 "program");
        return LYNX_EUNSUPPORTED;
    }
    if (rc != 0) {
        return rc;
    }
    rc = ensure_slots();
    if (rc != 0) {
        return rc;
    }
    prev = atomic_load(&g.nslots);
    if (!slots_settled(prev, lynx_mono_ns() + SETTLE_NS)) {
        snprintf(r->message, LYNX_MSG_MAX,
                 "a thread is still answering the previous dump");
        return LYNX_EBUSY;
    }
    n = list_threads(tids, DUMP_MAX_THREADS, &skipped);
    if ((uint64_t)(n + skipped) * sizeof(lynx_thread_rec_t) > r->bulk_cap) {
        snprintf(r->message, LYNX_MSG_MAX, "too many threads (%u)",
                 n + skipped);
        return LYNX_ETOOBIG;
    }
    for (uint32_t i = 0; i < n; i++) {
        atomic_store(&g.slots[i].tid, tids[i]);
        atomic_store(&g.slots[i].state, SLOT_PENDING);
        g.slots[i].depth = 0;
        g.slots[i].flags = 0;
    }
    atomic_store(&g.answered, 0);
    atomic_store(&g.nslots, n);
    atomic_store_explicit(&g.pending, 1, memory_order_release);

    rep->taken_unix_ns = lynx_real_ns();
    t0 = lynx_mono_ns();
    for (uint32_t i = 0; i < n; i++) {
        dump_slot_t *s = &g.slots[i];
        blocked[i] = 0;
        if (tids[i] == g.agent_tid) {
            /* The agent blocks every signal: it unwinds itself. */
            s->flags = 0;
            memset(&s->labels, 0, sizeof(s->labels));
            s->depth = lynx_agent_backtrace(s->pcs, LYNX_STACK_MAX_DEPTH, 0,
                                            &s->flags);
            atomic_store(&s->state, SLOT_DONE);
            continue;
        }
        if (running_only) {
            /* Read here, on the agent thread, never in the handler.  A
             * thread that blocks between this read and the signal can
             * still be interrupted: the window is this loop's step. */
            char st = thread_state(tids[i]);
            if (st == 'S' || st == 'D') {
                blocked[i] = st;
                atomic_store(&s->state, SLOT_EXPIRED);
                continue;
            }
        }
        expected++;
        if (syscall(SYS_tgkill, g.pid, tids[i], SIGPROF) != 0) {
            uint32_t st = SLOT_PENDING;
            /* ESRCH: it ended since the listing. */
            atomic_compare_exchange_strong(&s->state, &st, SLOT_EXPIRED);
            s->flags = LYNX_THREAD_GONE;
            expected--;
        }
    }
    wait_answers(expected, timeout_ms, t0);
    last = lynx_mono_ns();
    atomic_store_explicit(&g.pending, 0, memory_order_release);

    rep->nthreads = n + skipped;
    rep->nanswered = 0;
    rep->nmissing = skipped;
    rep->timeout_ms = timeout_ms;
    rep->elapsed_ns = last - t0;
    for (uint32_t i = 0; i < n; i++) {
        dump_slot_t *s = &g.slots[i];
        lynx_thread_rec_t *rec = &recs[i];
        uint32_t st = SLOT_PENDING;

        memset(rec, 0, sizeof(*rec));
        rec->tid = tids[i];
        if (!atomic_compare_exchange_strong(&s->state, &st, SLOT_EXPIRED) &&
            st == SLOT_WRITING) {
            /* Answering right now: unwinding is short, let it finish. */
            int64_t until = lynx_mono_ns() + SETTLE_NS;
            while (atomic_load(&s->state) == SLOT_WRITING &&
                   lynx_mono_ns() < until) {
                pause_us(50);
            }
            st = atomic_load(&s->state);
        }
        if (blocked[i] != 0) {
            rec->status = LYNX_THREAD_BLOCKED;
            thread_info(tids[i], rec);
            rec->state = blocked[i];
            thread_wchan(tids[i], rec->wchan, sizeof(rec->wchan));
            continue;
        }
        if (st == SLOT_DONE && s->depth >= 1 &&
            s->depth <= LYNX_STACK_MAX_DEPTH) {
            rec->status = LYNX_THREAD_OK;
            rec->depth = s->depth;
            rec->flags = s->flags & LYNX_STACK_TRUNCATED;
            rec->labels = s->labels;
            memcpy(rec->pcs, s->pcs, s->depth * sizeof(uint64_t));
            rep->nanswered++;
        } else if (s->flags == LYNX_THREAD_GONE) {
            rec->status = LYNX_THREAD_GONE;
        } else {
            rec->status = LYNX_THREAD_NO_ANSWER;
            rep->nmissing++;
        }
        if (tids[i] == g.agent_tid) {
            rec->flags |= LYNX_THREAD_AGENT;
        }
        thread_info(tids[i], rec);
        if (rec->status == LYNX_THREAD_NO_ANSWER && rec->state == '?') {
            /* No /proc entry left: it ended meanwhile. */
            rec->status = LYNX_THREAD_GONE;
            rep->nmissing--;
        }
    }
    for (uint32_t i = 0; i < skipped; i++) {
        lynx_thread_rec_t *rec = &recs[n + i];
        memset(rec, 0, sizeof(*rec));
        rec->status = LYNX_THREAD_SKIPPED;
        rec->state = '?';
    }
    lynx_agent_modules_refresh();
    r->inline_len = sizeof(*rep);
    r->bulk_len = (size_t)(n + skipped) * sizeof(lynx_thread_rec_t);
    return 0;
}
