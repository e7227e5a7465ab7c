/*
 * agent/lock_hooks.c - lock contention profiles ("block" and "mutex") of the
 * target: pthread_mutex_lock, pthread_mutex_timedlock, the rwlock lock
 * functions and pthread_cond_wait/timedwait are interposed.
 *
 * Workload: locks are taken millions of times a second, almost always
 * uncontended.  Contention is recorded only while a window is open
 * (LYNX_CMD_LOCKS_WINDOW: /debug/pprof/block?seconds=N opens one for its N
 * seconds), as Go keeps its block and mutex profiles off until asked for.
 * Outside any window every hook is one relaxed load of the count of open
 * windows, a branch predicted not taken, and a tail call to the real
 * function (resolved once, at load); unlock is one relaxed load of the
 * count of waiting threads.  In a window the uncontended path costs one
 * trylock (the real lock function is not called at all) plus a
 * thread-local load, and only a contended acquisition is timed
 * (CLOCK_MONOTONIC, vDSO) and possibly recorded:
 *
 *   block: every wait of d ns is kept with probability min(1, d/rate) and
 *          then weighs rate/d events and rate ns when d < rate (Go's
 *          debiasing), so the totals are unbiased; the stack is the
 *          waiter's.  Condition-variable waits count as blocking.
 *   mutex: a contended lock registers its waiter on the lock's entry in a
 *          small direct-mapped table; an unlock that finds waiters charges
 *          the time they waited since they started (or since the previous
 *          such unlock) to itself, and 1/N of those releases are recorded
 *          with the releasing holder's stack, scaled by N.
 *
 * Both profiles record in windows by default (LYNXPROF_BLOCK_RATE=10000
 * ns, LYNXPROF_MUTEX_FRACTION=10; 0 turns one off; LYNXPROF_AGENT=0 turns
 * both off; LYNXPROF_LOCKS=always records all the time, as before windows).  Stacks are aggregated in lock-free open-addressing tables mmap'd
 * at start (never malloc: a hook may run inside an allocator's locking).
 * A thread-local guard sends any lock taken while a hook records (libunwind
 * takes locks of its own) straight to the real function.
 *
 * Not async-signal-safe (neither are the functions interposed).
 */
#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define UNW_LOCAL_ONLY
#include <libunwind.h>

#include "agent/context.h"
#include "agent/internal.h"
#include "agent/locks.h"
#include "agent/threaddump.h"
#include "protocol/block_threads.h"

#define EXPORT __attribute__((visibility("default")))
#define SLOW __attribute__((noinline))
/* After a call, so the caller's frame stays (no tail call) and the stack
 * recorded always has the same number of our frames on top. */
#define KEEP_FRAME() __asm__ volatile("" ::: "memory")

#define LOCK_STACKS LYNX_LOCKS_MAX_RECORDS /* per kind, power of two */
#define LOCK_PROBES 32u
#define HOOK_SKIP 1u        /* slow-path frame between record() and the
                               interposed function */

/* ---- the real functions ---------------------------------------------------- */

/* glibc keeps these aliases as compatibility symbols (GLIBC_2.2.5):
 * bound by version, they are usable while dlsym itself runs. */
#define COMPAT(sym) __asm__(".symver " #sym "," #sym "@GLIBC_2.2.5")
COMPAT(__pthread_mutex_lock);
COMPAT(__pthread_mutex_trylock);
COMPAT(__pthread_mutex_unlock);
COMPAT(__pthread_rwlock_rdlock);
COMPAT(__pthread_rwlock_wrlock);
COMPAT(__pthread_rwlock_tryrdlock);
COMPAT(__pthread_rwlock_trywrlock);
COMPAT(__pthread_rwlock_unlock);
extern int __pthread_mutex_lock(pthread_mutex_t *m);
extern int __pthread_mutex_trylock(pthread_mutex_t *m);
extern int __pthread_mutex_unlock(pthread_mutex_t *m);
extern int __pthread_rwlock_rdlock(pthread_rwlock_t *l);
extern int __pthread_rwlock_wrlock(pthread_rwlock_t *l);
extern int __pthread_rwlock_tryrdlock(pthread_rwlock_t *l);
extern int __pthread_rwlock_trywrlock(pthread_rwlock_t *l);
extern int __pthread_rwlock_unlock(pthread_rwlock_t *l);

typedef int (*mutex_fn)(pthread_mutex_t *);
typedef int (*mutex_timed_fn)(pthread_mutex_t *, const struct timespec *);
typedef int (*rw_fn)(pthread_rwlock_t *);
typedef int (*rw_timed_fn)(pthread_rwlock_t *, const struct timespec *);
typedef int (*cond_fn)(pthread_cond_t *, pthread_mutex_t *);
typedef int (*cond_timed_fn)(pthread_cond_t *, pthread_mutex_t *,
                             const struct timespec *);

static int first_timedlock(pthread_mutex_t *m, const struct timespec *t);
static int first_timedrdlock(pthread_rwlock_t *l, const struct timespec *t);
static int first_timedwrlock(pthread_rwlock_t *l, const struct timespec *t);
static int first_cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
static int first_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                const struct timespec *t);

/* Never NULL: until resolve() runs, the functions without a usable alias
 * point at first_*(), which resolve and call on.  Kept here rather than in
 * the agent's context (agent/context.h): its values before resolve() are
 * this file's first_*() and glibc's compat aliases, which only this file
 * can name, and the hooks call through it with no check. */
static struct {
    mutex_fn lock, trylock, unlock;
    mutex_timed_fn timedlock;
    rw_fn rdlock, wrlock, tryrdlock, trywrlock, rwunlock;
    rw_timed_fn timedrdlock, timedwrlock;
    cond_fn cond_wait;
    cond_timed_fn cond_timedwait;
    _Atomic int resolved;
} real = {
    __pthread_mutex_lock, __pthread_mutex_trylock, __pthread_mutex_unlock,
    first_timedlock,
    __pthread_rwlock_rdlock, __pthread_rwlock_wrlock,
    __pthread_rwlock_tryrdlock, __pthread_rwlock_trywrlock,
    __pthread_rwlock_unlock,
    first_timedrdlock, first_timedwrlock, first_cond_wait,
    first_cond_timedwait, 0,
};

/* ---- tables ------------------------------------------------------------------ */

enum { ST_EMPTY = 0, ST_WRITING = 1, ST_READY = 2 };

typedef struct lynx_lock_stack {
    _Atomic uint32_t state;
    uint32_t depth;
    uint32_t flags;
    uint32_t reserved;
    uint64_t hash;
    _Atomic uint64_t count_milli;  /* events x 1000 (debiased) */
    _Atomic uint64_t delay_ns;     /* debiased */
    uint64_t pcs[LYNX_STACK_MAX_DEPTH];
} lock_stack_t;

typedef struct wait_token {
    lynx_wait_slot_t *slot;
    uintptr_t addr;
    uint64_t gen;
    int64_t t0;
} wait_token_t;

/* This file's part of the agent's state (agent/context.h): the tables,
 * the windows and the recording word, which holds LYNX_LOCKS_UNRESOLVED
 * until resolve() has run (the hooks then take their slow path, which
 * resolves: the compat aliases above are not usable in every link, e.g.
 * the agent linked into a sanitized executable). */
#define g (lynx_agent.locks)

/* libunwind's own locks, which recording would take again (unw_backtrace
 * under its own cache lock): their contention is never recorded. */
static uintptr_t unwind_lo;
static uintptr_t unwind_hi;

static int unwind_range_cb(struct dl_phdr_info *info, size_t size, void *ctx)
{
    uintptr_t base = *(uintptr_t *)ctx;

    (void)size;
    if ((uintptr_t)info->dlpi_addr != base) {
        return 0;
    }
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        uintptr_t lo = base + ph->p_vaddr;
        uintptr_t hi = lo + ph->p_memsz;
        if (ph->p_type != PT_LOAD) {
            continue;
        }
        if (unwind_lo == 0 || lo < unwind_lo) {
            unwind_lo = lo;
        }
        if (hi > unwind_hi) {
            unwind_hi = hi;
        }
    }
    return 1;
}

static void find_unwind_range(void)
{
    Dl_info info;
    uintptr_t base;

    if (dladdr((void *)unw_backtrace, &info) == 0 || info.dli_fbase == NULL) {
        return;
    }
    base = (uintptr_t)info.dli_fbase;
    /* dli_fbase is the load address; dlpi_addr the load bias: for a
     * shared object whose first segment is at vaddr 0 they agree. */
    dl_iterate_phdr(unwind_range_cb, &base);
}

static inline int recordable(const void *lock)
{
    uintptr_t a = (uintptr_t)lock;
    return !(a >= unwind_lo && a < unwind_hi);
}

static __thread int in_hook __attribute__((tls_model("initial-exec")));
static __thread uint64_t rng __attribute__((tls_model("initial-exec")));

static void resolve(void)
{
    int saved = in_hook;

    /* dlsym may allocate or lock: those locks go to the aliases above. */
    in_hook = 1;
    mutex_fn lk = (mutex_fn)dlsym(RTLD_NEXT, "pthread_mutex_lock");
    mutex_fn tl = (mutex_fn)dlsym(RTLD_NEXT, "pthread_mutex_trylock");
    mutex_fn ul = (mutex_fn)dlsym(RTLD_NEXT, "pthread_mutex_unlock");
    rw_fn rd = (rw_fn)dlsym(RTLD_NEXT, "pthread_rwlock_rdlock");
    rw_fn wr = (rw_fn)dlsym(RTLD_NEXT, "pthread_rwlock_wrlock");
    rw_fn trd = (rw_fn)dlsym(RTLD_NEXT, "pthread_rwlock_tryrdlock");
    rw_fn twr = (rw_fn)dlsym(RTLD_NEXT, "pthread_rwlock_trywrlock");
    rw_fn rul = (rw_fn)dlsym(RTLD_NEXT, "pthread_rwlock_unlock");
    mutex_timed_fn tml =
        (mutex_timed_fn)dlsym(RTLD_NEXT, "pthread_mutex_timedlock");
    rw_timed_fn trdl =
        (rw_timed_fn)dlsym(RTLD_NEXT, "pthread_rwlock_timedrdlock");
    rw_timed_fn twrl =
        (rw_timed_fn)dlsym(RTLD_NEXT, "pthread_rwlock_timedwrlock");
    /* The unversioned name may give the pre-2.3.2 condition variables. */
    cond_fn cw = (cond_fn)dlvsym(RTLD_NEXT, "pthread_cond_wait", "GLIBC_2.3.2");
    cond_timed_fn ctw = (cond_timed_fn)dlvsym(
        RTLD_NEXT, "pthread_cond_timedwait", "GLIBC_2.3.2");

    if (cw == NULL) {
        cw = (cond_fn)dlsym(RTLD_NEXT, "pthread_cond_wait");
    }
    if (ctw == NULL) {
        ctw = (cond_timed_fn)dlsym(RTLD_NEXT, "pthread_cond_timedwait");
    }
    real.timedlock = tml != NULL ? tml : real.timedlock;
    real.timedrdlock = trdl != NULL ? trdl : real.timedrdlock;
    real.timedwrlock = twrl != NULL ? twrl : real.timedwrlock;
    real.cond_wait = cw != NULL ? cw : real.cond_wait;
    real.cond_timedwait = ctw != NULL ? ctw : real.cond_timedwait;
    real.lock = lk != NULL ? lk : real.lock;
    real.trylock = tl != NULL ? tl : real.trylock;
    real.unlock = ul != NULL ? ul : real.unlock;
    real.rdlock = rd != NULL ? rd : real.rdlock;
    real.wrlock = wr != NULL ? wr : real.wrlock;
    real.tryrdlock = trd != NULL ? trd : real.tryrdlock;
    real.trywrlock = twr != NULL ? twr : real.trywrlock;
    real.rwunlock = rul != NULL ? rul : real.rwunlock;
    atomic_store_explicit(&real.resolved, 1, memory_order_release);
    atomic_fetch_and(&g.recording, ~LYNX_LOCKS_UNRESOLVED);
    in_hook = saved;
}

/* Called before resolve() has run (another library's constructor), or if
 * the real function could not be found (then ENOSYS). */
#define FIRST_CALL(field, first, call)                                       \
    do {                                                                     \
        if (!atomic_load(&real.resolved) && !in_hook) {                      \
            resolve();                                                       \
        }                                                                    \
        return real.field != first ? call : ENOSYS;                          \
    } while (0)

static int first_timedlock(pthread_mutex_t *m, const struct timespec *t)
{
    FIRST_CALL(timedlock, first_timedlock, real.timedlock(m, t));
}

static int first_timedrdlock(pthread_rwlock_t *l, const struct timespec *t)
{
    FIRST_CALL(timedrdlock, first_timedrdlock, real.timedrdlock(l, t));
}

static int first_timedwrlock(pthread_rwlock_t *l, const struct timespec *t)
{
    FIRST_CALL(timedwrlock, first_timedwrlock, real.timedwrlock(l, t));
}

static int first_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    FIRST_CALL(cond_wait, first_cond_wait, real.cond_wait(c, m));
}

static int first_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                const struct timespec *t)
{
    FIRST_CALL(cond_timedwait, first_cond_timedwait,
               real.cond_timedwait(c, m, t));
}

/* The one test every hook makes first: is a window open? */
static inline __attribute__((always_inline)) int recording(void)
{
    return __builtin_expect(
        atomic_load_explicit(&g.recording, memory_order_relaxed) != 0, 0);
}

static inline int ready(void)
{
    if (__builtin_expect(
            !atomic_load_explicit(&real.resolved, memory_order_acquire),
            0)) {
        if (in_hook) {
            return 0;
        }
        resolve();
    }
    return atomic_load_explicit(&g.on, memory_order_relaxed) && !in_hook &&
           !lynx_agent_unwinding;
}

static inline int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static uint64_t random64(void)
{
    uint64_t x = rng;

    if (x == 0) {
        x = ((uint64_t)syscall(SYS_gettid) << 32) ^ (uint64_t)now_ns() ^
            0x9e3779b97f4a7c15ULL;
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    rng = x;
    return x * 2685821657736338717ULL;
}

static lock_stack_t *table_stacks(lynx_lock_table_t *t)
{
    lock_stack_t *s = atomic_load_explicit(&t->stacks, memory_order_acquire);
    lock_stack_t *expected = NULL;
    void *p;

    if (s != NULL) {
        return s;
    }
    p = mmap(NULL, sizeof(lock_stack_t) * LOCK_STACKS,
             PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        return NULL;
    }
    if (!atomic_compare_exchange_strong(&t->stacks, &expected, p)) {
        munmap(p, sizeof(lock_stack_t) * LOCK_STACKS);
        return expected;
    }
    return p;
}

static uint64_t hash_pcs(const uint64_t *pcs, uint32_t depth)
{
    uint64_t h = 0xcbf29ce484222325ULL ^ depth;

    for (uint32_t i = 0; i < depth; i++) {
        h ^= pcs[i];
        h *= 0x100000001b3ULL;
        h ^= h >> 29;
    }
    return h;
}

static void table_add(lynx_lock_table_t *t, const uint64_t *pcs, uint32_t depth,
                      uint32_t flags, uint64_t count_milli, uint64_t delay)
{
    lock_stack_t *stacks = table_stacks(t);
    uint64_t h = hash_pcs(pcs, depth);

    atomic_fetch_add_explicit(&t->count_milli, count_milli,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(&t->delay_ns, delay, memory_order_relaxed);
    if (stacks == NULL || depth == 0) {
        atomic_fetch_add_explicit(&t->lost, 1, memory_order_relaxed);
        return;
    }
    for (uint32_t probe = 0; probe < LOCK_PROBES; probe++) {
        lock_stack_t *s = &stacks[(h + probe) & (LOCK_STACKS - 1)];
        uint32_t st = atomic_load_explicit(&s->state, memory_order_acquire);

        if (st == ST_EMPTY) {
            if (atomic_compare_exchange_strong_explicit(
                    &s->state, &st, ST_WRITING, memory_order_acquire,
                    memory_order_acquire)) {
                s->hash = h;
                s->depth = depth;
                s->flags = flags;
                memcpy(s->pcs, pcs, depth * sizeof(uint64_t));
                atomic_store_explicit(&s->state, ST_READY,
                                      memory_order_release);
                st = ST_READY;
            }
        }
        if (st == ST_READY && s->hash == h && s->depth == depth &&
            memcmp(s->pcs, pcs, depth * sizeof(uint64_t)) == 0) {
            atomic_fetch_add_explicit(&s->count_milli, count_milli,
                                      memory_order_relaxed);
            atomic_fetch_add_explicit(&s->delay_ns, delay,
                                      memory_order_relaxed);
            return;
        }
        /* WRITING (someone else's, maybe the same stack) or another
         * stack: try the next entry; a duplicate is merged by readers. */
    }
    atomic_fetch_add_explicit(&t->lost, 1, memory_order_relaxed);
}

/* Record one event with the stack of the interposed function's caller:
 * frames are [this, the slow path, the interposed function, caller...]. */
static SLOW void record(int kind, uint64_t count_milli, uint64_t delay)
{
    uint64_t pcs[LYNX_STACK_MAX_DEPTH];
    uint32_t flags = 0;
    uint32_t depth;

    in_hook = 1;
    depth = lynx_agent_backtrace(pcs, LYNX_STACK_MAX_DEPTH, HOOK_SKIP,
                                 &flags);
    table_add(&g.tables[kind], pcs, depth, flags, count_milli, delay);
    in_hook = 0;
    KEEP_FRAME();
}

/* A wait of d ns ended: keep it with probability min(1, d/rate).  Inlined
 * into the slow paths, so that record() always sits one frame under them. */
static inline __attribute__((always_inline)) void block_event(int64_t d)
{
    int64_t rate = atomic_load_explicit(&g.block_rate, memory_order_relaxed);

    if (rate <= 0 || d <= 0) {
        return;
    }
    if (d >= rate) {
        record(0, 1000, (uint64_t)d);
    } else if ((int64_t)(random64() % (uint64_t)rate) < d) {
        record(0, (uint64_t)(1000.0 * (double)rate / (double)d + 0.5),
               (uint64_t)rate);
    }
}

/* ---- waiters, for the mutex profile ------------------------------------------- */

static lynx_wait_slot_t *wait_slot(uintptr_t addr)
{
    uint64_t h = (uint64_t)(addr >> 3) * 0x9e3779b97f4a7c15ULL;
    return &g.waits[h >> (64 - 10)];
}

static void spin_lock(lynx_wait_slot_t *w)
{
    unsigned spins = 0;

    while (atomic_exchange_explicit(&w->spin, 1, memory_order_acquire)) {
        if (++spins > 64) {
            sched_yield();
            spins = 0;
        }
    }
}

static void spin_unlock(lynx_wait_slot_t *w)
{
    atomic_store_explicit(&w->spin, 0, memory_order_release);
}

static int waiter_begin(const void *lock, int64_t t0, wait_token_t *tok)
{
    uintptr_t addr = (uintptr_t)lock;
    lynx_wait_slot_t *w;

    if (atomic_load_explicit(&g.mutex_fraction, memory_order_relaxed) <= 0) {
        return 0;
    }
    w = wait_slot(addr);
    spin_lock(w);
    if (w->nwaiters == 0) {
        atomic_store_explicit(&w->addr, addr, memory_order_relaxed);
        w->sum_start_ns = 0;
    } else if (atomic_load_explicit(&w->addr, memory_order_relaxed) != addr) {
        spin_unlock(w);
        atomic_fetch_add_explicit(&g.untracked, 1, memory_order_relaxed);
        return 0;
    }
    w->nwaiters++;
    w->sum_start_ns += t0;
    tok->slot = w;
    tok->addr = addr;
    tok->gen = w->gen;
    tok->t0 = t0;
    atomic_fetch_add_explicit(&g.waiting, 1, memory_order_relaxed);
    spin_unlock(w);
    return 1;
}

static void waiter_end(const wait_token_t *tok)
{
    lynx_wait_slot_t *w = tok->slot;

    spin_lock(w);
    if (w->nwaiters > 0 &&
        atomic_load_explicit(&w->addr, memory_order_relaxed) == tok->addr) {
        /* Charged up to reset_ns already if an unlock came meanwhile. */
        w->sum_start_ns -= w->gen != tok->gen ? w->reset_ns : tok->t0;
        w->nwaiters--;
        if (w->nwaiters == 0) {
            w->sum_start_ns = 0;
        }
    }
    spin_unlock(w);
    atomic_fetch_sub_explicit(&g.waiting, 1, memory_order_relaxed);
}

/* An unlock while waiters are registered somewhere: if this lock has
 * some, charge their waiting so far to this release. */
static SLOW void unlock_slow(const void *lock)
{
    uintptr_t addr = (uintptr_t)lock;
    lynx_wait_slot_t *w = wait_slot(addr);
    int64_t n;
    int64_t now;
    int64_t d;
    int64_t frac;

    if (atomic_load_explicit(&w->addr, memory_order_relaxed) != addr) {
        return;
    }
    spin_lock(w);
    if (w->nwaiters == 0 ||
        atomic_load_explicit(&w->addr, memory_order_relaxed) != addr) {
        spin_unlock(w);
        return;
    }
    now = now_ns();
    n = (int64_t)w->nwaiters;
    d = n * now - w->sum_start_ns;
    w->sum_start_ns = n * now;
    w->reset_ns = now;
    w->gen++;
    spin_unlock(w);
    frac = atomic_load_explicit(&g.mutex_fraction, memory_order_relaxed);
    if (d > 0 && frac > 0 && random64() % (uint64_t)frac == 0) {
        record(1, 1000 * (uint64_t)frac, (uint64_t)d * (uint64_t)frac);
    }
    KEEP_FRAME();
}

/* ---- the interposed functions ---------------------------------------------------- */

static SLOW int mutex_lock_slow(pthread_mutex_t *m,
                                const struct timespec *abstime)
{
    wait_token_t tok;
    int64_t t0 = now_ns();
    int rec = recordable(m);
    int tracked = rec && waiter_begin(m, t0, &tok);
    int rc = abstime != NULL && real.timedlock != NULL
                 ? real.timedlock(m, abstime)
                 : real.lock(m);

    if (tracked) {
        waiter_end(&tok);
    }
    if (rec) {
        block_event(now_ns() - t0);
    }
    KEEP_FRAME();
    return rc;
}

EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
    int rc;

    if (!recording() || !ready()) {
        return real.lock(m);
    }
    rc = real.trylock(m);
    if (rc != EBUSY) {
        return rc;
    }
    rc = mutex_lock_slow(m, NULL);
    KEEP_FRAME();
    return rc;
}

EXPORT int pthread_mutex_timedlock(pthread_mutex_t *m,
                                   const struct timespec *abstime)
{
    int rc;

    if (!recording() || !ready()) {
        return real.timedlock(m, abstime);
    }
    rc = real.trylock(m);
    if (rc != EBUSY) {
        return rc;
    }
    rc = mutex_lock_slow(m, abstime);
    KEEP_FRAME();
    return rc;
}

EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
    if (atomic_load_explicit(&g.waiting, memory_order_relaxed) != 0 &&
        !in_hook && !lynx_agent_unwinding) {
        unlock_slow(m);
    }
    return real.unlock(m);
}

static SLOW int rw_lock_slow(pthread_rwlock_t *l, int write,
                             const struct timespec *abstime)
{
    wait_token_t tok;
    int64_t t0 = now_ns();
    int rec = recordable(l);
    int tracked = rec && waiter_begin(l, t0, &tok);
    int rc;

    if (abstime != NULL) {
        rc = write ? real.timedwrlock(l, abstime)
                   : real.timedrdlock(l, abstime);
    } else {
        rc = write ? real.wrlock(l) : real.rdlock(l);
    }
    if (tracked) {
        waiter_end(&tok);
    }
    if (rec) {
        block_event(now_ns() - t0);
    }
    KEEP_FRAME();
    return rc;
}

EXPORT int pthread_rwlock_rdlock(pthread_rwlock_t *l)
{
    int rc;

    if (!recording() || !ready()) {
        return real.rdlock(l);
    }
    rc = real.tryrdlock(l);
    if (rc != EBUSY) {
        return rc;
    }
    rc = rw_lock_slow(l, 0, NULL);
    KEEP_FRAME();
    return rc;
}

EXPORT int pthread_rwlock_wrlock(pthread_rwlock_t *l)
{
    int rc;

    if (!recording() || !ready()) {
        return real.wrlock(l);
    }
    rc = real.trywrlock(l);
    if (rc != EBUSY) {
        return rc;
    }
    rc = rw_lock_slow(l, 1, NULL);
    KEEP_FRAME();
    return rc;
}

EXPORT int pthread_rwlock_timedrdlock(pthread_rwlock_t *l,
                                      const struct timespec *abstime)
{
    int rc;

    if (!recording() || !ready()) {
        return real.timedrdlock(l, abstime);
    }
    rc = real.tryrdlock(l);
    if (rc != EBUSY) {
        return rc;
    }
    rc = rw_lock_slow(l, 0, abstime);
    KEEP_FRAME();
    return rc;
}

EXPORT int pthread_rwlock_timedwrlock(pthread_rwlock_t *l,
                                      const struct timespec *abstime)
{
    int rc;

    if (!recording() || !ready()) {
        return real.timedwrlock(l, abstime);
    }
    rc = real.trywrlock(l);
    if (rc != EBUSY) {
        return rc;
    }
    rc = rw_lock_slow(l, 1, abstime);
    KEEP_FRAME();
    return rc;
}

EXPORT int pthread_rwlock_unlock(pthread_rwlock_t *l)
{
    if (atomic_load_explicit(&g.waiting, memory_order_relaxed) != 0 &&
        !in_hook && !lynx_agent_unwinding) {
        unlock_slow(l);
    }
    return real.rwunlock(l);
}

static SLOW int cond_slow(pthread_cond_t *c, pthread_mutex_t *m,
                          const struct timespec *abstime)
{
    int64_t t0 = now_ns();
    int rc = abstime != NULL ? real.cond_timedwait(c, m, abstime)
                             : real.cond_wait(c, m);

    block_event(now_ns() - t0);
    KEEP_FRAME();
    return rc;
}

EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    int rc;

    if (!recording() || !ready()) {
        return real.cond_wait(c, m);
    }
    rc = cond_slow(c, m, NULL);
    KEEP_FRAME();
    return rc;
}

EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
                                  const struct timespec *abstime)
{
    int rc;

    if (!recording() || !ready()) {
        return real.cond_timedwait(c, m, abstime);
    }
    rc = cond_slow(c, m, abstime);
    KEEP_FRAME();
    return rc;
}

/* ---- configuration and the command ----------------------------------------------- */

static int64_t env_int(const char *var, int64_t def)
{
    const char *s = getenv(var);
    char *end;
    long long v;

    if (s == NULL || *s == '\0') {
        return def;
    }
    errno = 0;
    v = strtoll(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < 0) {
        return def;
    }
    return v;
}

void lynx_locks_configure(int64_t block_rate_ns, int64_t mutex_fraction,
                          int clear)
{
    atomic_store(&g.block_rate, block_rate_ns);
    atomic_store(&g.mutex_fraction, mutex_fraction);
    if (clear) {
        for (int k = 0; k < 2; k++) {
            lock_stack_t *s = atomic_load(&g.tables[k].stacks);
            if (s != NULL) {
                memset(s, 0, sizeof(lock_stack_t) * LOCK_STACKS);
            }
            atomic_store(&g.tables[k].lost, 0);
            atomic_store(&g.tables[k].count_milli, 0);
            atomic_store(&g.tables[k].delay_ns, 0);
        }
        atomic_store(&g.untracked, 0);
    }
    if (block_rate_ns > 0) {
        table_stacks(&g.tables[0]);
    }
    if (mutex_fraction > 0) {
        table_stacks(&g.tables[1]);
    }
    atomic_store(&g.on, block_rate_ns > 0 || mutex_fraction > 0);
}

/* In a forked child only the forking thread is left: no waiter of the
 * parent's is, and a slot's spin another thread held at fork() would
 * never be released (the child's next unlock of that lock would spin for
 * ever).  Forget them; read first, so untouched slots stay shared.  The
 * parent's windows are not the child's (no agent thread there closes
 * them): the child records only with LYNXPROF_LOCKS=always. */
static void locks_atfork_child(void)
{
    if (atomic_load_explicit(&g.recording, memory_order_relaxed) !=
        g.always) {
        memset(g.windows, 0, sizeof(g.windows));
        atomic_store(&g.recording, g.always);
    }
    for (uint32_t i = 0; i < LYNX_LOCK_WAIT_SLOTS; i++) {
        lynx_wait_slot_t *w = &g.waits[i];
        if (atomic_load_explicit(&w->spin, memory_order_relaxed) != 0 ||
            w->nwaiters != 0) {
            w->nwaiters = 0;
            w->sum_start_ns = 0;
            atomic_store_explicit(&w->spin, 0, memory_order_relaxed);
        }
    }
    atomic_store(&g.waiting, 0);
}

__attribute__((constructor)) static void locks_init(void)
{
    const char *agent = getenv("LYNXPROF_AGENT");
    int off = agent != NULL && strcmp(agent, "0") == 0;
    const char *locks;

    if (!atomic_load(&real.resolved)) {
        resolve();
    }
    find_unwind_range();
    pthread_atfork(NULL, NULL, locks_atfork_child);
    locks = getenv("LYNXPROF_LOCKS");
    g.always = !off && locks != NULL && strcmp(locks, "always") == 0;
    atomic_store(&g.recording, g.always);
    lynx_locks_configure(
        off ? 0 : env_int("LYNXPROF_BLOCK_RATE", LYNX_BLOCK_RATE_DEFAULT),
        off ? 0
            : env_int("LYNXPROF_MUTEX_FRACTION",
                      LYNX_MUTEX_FRACTION_DEFAULT),
        0);
}

int lynx_agent_locks(const void *argp, size_t arg_len, lynx_reply_t *r)
{
    const lynx_locks_arg_t *arg = argp;
    lynx_locks_reply_t *rep = r->inline_buf;
    lynx_lock_rec_t *out = r->bulk;
    lynx_lock_table_t *t;
    lock_stack_t *stacks;
    uint32_t k = 0;

    if (arg_len != sizeof(*arg) ||
        (arg->kind != LYNX_LOCKS_BLOCK && arg->kind != LYNX_LOCKS_MUTEX)) {
        snprintf(r->message, LYNX_MSG_MAX, "invalid locks argument");
        return LYNX_EBADARG;
    }
    t = &g.tables[arg->kind == LYNX_LOCKS_BLOCK ? 0 : 1];
    memset(rep, 0, sizeof(*rep));
    rep->kind = arg->kind;
    rep->rate = arg->kind == LYNX_LOCKS_BLOCK ? atomic_load(&g.block_rate)
                                              : atomic_load(&g.mutex_fraction);
    rep->contentions = (atomic_load(&t->count_milli) + 500) / 1000;
    rep->delay_ns = atomic_load(&t->delay_ns);
    rep->lost = atomic_load(&t->lost);
    rep->untracked = arg->kind == LYNX_LOCKS_MUTEX ? atomic_load(&g.untracked)
                                                   : 0;
    stacks = atomic_load_explicit(&t->stacks, memory_order_acquire);
    for (uint32_t i = 0; stacks != NULL && i < LOCK_STACKS; i++) {
        const lock_stack_t *s = &stacks[i];
        if (atomic_load_explicit(&s->state, memory_order_acquire) !=
                ST_READY ||
            s->depth == 0 || s->depth > LYNX_STACK_MAX_DEPTH) {
            continue;
        }
        if (!(arg->flags & LYNX_LOCKS_SUMMARY)) {
            if ((k + 1) * sizeof(*out) > r->bulk_cap) {
                break;
            }
            memset(&out[k], 0, sizeof(out[k]));
            out[k].contentions =
                (atomic_load(&s->count_milli) + 500) / 1000;
            out[k].delay_ns = atomic_load(&s->delay_ns);
            out[k].depth = s->depth;
            out[k].flags = s->flags;
            memcpy(out[k].pcs, s->pcs, s->depth * sizeof(uint64_t));
        }
        k++;
    }
    rep->nrecords = k;
    lynx_agent_modules_refresh();
    r->inline_len = sizeof(*rep);
    r->bulk_len = (arg->flags & LYNX_LOCKS_SUMMARY)
                      ? 0
                      : (size_t)k * sizeof(*out);
    return 0;
}

/* ---- recording windows -------------------------------------------------------------- */

static uint32_t windows_recount(void)
{
    uint32_t n = 0;

    for (uint32_t i = 0; i < LYNX_LOCKS_WINDOWS; i++) {
        n += g.windows[i].id != 0;
    }
    atomic_store_explicit(&g.recording, n + g.always, memory_order_relaxed);
    return n;
}

void lynx_locks_tick(int64_t now_mono_ns)
{
    int expired = 0;

    for (uint32_t i = 0; i < LYNX_LOCKS_WINDOWS; i++) {
        if (g.windows[i].id != 0 && g.windows[i].deadline_ns <= now_mono_ns) {
            g.windows[i].id = 0;
            expired = 1;
        }
    }
    if (expired) {
        windows_recount();
    }
}

int lynx_agent_locks_window(const void *argp, size_t arg_len,
                            lynx_reply_t *r)
{
    const lynx_locks_window_arg_t *arg = argp;
    lynx_locks_window_reply_t *rep = r->inline_buf;
    int64_t now = now_ns();
    uint32_t i;

    if (arg_len != sizeof(*arg) ||
        (arg->op == LYNX_LOCKS_WINDOW_OPEN &&
         (arg->duration_ns <= 0 ||
          arg->duration_ns > LYNX_LOCKS_WINDOW_MAX_NS)) ||
        (arg->op != LYNX_LOCKS_WINDOW_OPEN &&
         arg->op != LYNX_LOCKS_WINDOW_CLOSE)) {
        snprintf(r->message, LYNX_MSG_MAX, "invalid locks window argument");
        return LYNX_EBADARG;
    }
    lynx_locks_tick(now);
    memset(rep, 0, sizeof(*rep));
    if (arg->op == LYNX_LOCKS_WINDOW_OPEN) {
        for (i = 0; i < LYNX_LOCKS_WINDOWS && g.windows[i].id != 0; i++) {
        }
        if (i == LYNX_LOCKS_WINDOWS) {
            snprintf(r->message, LYNX_MSG_MAX,
                     "%u lock recording windows are open already",
                     LYNX_LOCKS_WINDOWS);
            return LYNX_EBUSY;
        }
        g.windows[i].id = ++g.next_window_id;
        g.windows[i].deadline_ns = now + arg->duration_ns;
        rep->id = g.windows[i].id;
    } else {
        for (i = 0; i < LYNX_LOCKS_WINDOWS; i++) {
            if (arg->id != 0 && g.windows[i].id == arg->id) {
                g.windows[i].id = 0;
            }
        }
    }
    rep->open = windows_recount();
    rep->always = g.always;
    r->inline_len = sizeof(*rep);
    return 0;
}
