/*
 * agent/fork.c - the fork gate (see agent/fork.h for why).
 *
 * ASYNC-SIGNAL-SAFE: lynx_fork_gate_enter/leave run inside the SIGPROF
 * handler and inside malloc, on any thread, at any time; the atfork
 * handlers run inside fork(), which a program may call from a signal
 * handler.  So: no lock, no allocation, no stdio, errno left as found;
 * the only system calls are getpid, sched_yield and nanosleep.
 *
 * State: `closing` counts forks being prepared; each stripe's `inflight`
 * counts the gate entries not yet left of the threads that use it (a
 * thread keeps to one stripe, drawn at its first entry: two threads that
 * unwind at the same time then write lines of their own; an allocation-
 * bound program samples on every thread).  An entry increments its
 * stripe, then looks at closing; the prepare handler increments closing,
 * then reads every stripe.  Both are sequentially consistent, so at least
 * one of them sees the other: either the entry backs out, or the prepare
 * handler counts it and waits.  An entry that backs out may be counted
 * for a moment: the handler only waits a round longer.  A thread that
 * forks while it is itself inside the gate (fork from a signal handler
 * that interrupted an unwind of ours) waits only for the others: its own
 * entry cannot end before the fork returns.
 *
 * The wait is bounded (WAIT_NS): a thread stopped by a debugger in the
 * middle of an unwind must not stop every fork of the program.  After a
 * timeout the fork goes ahead (its child never unwinds anyway; only the
 * program's own dl_iterate_phdr in the child could then block) and is
 * counted; while that same entry is still in flight, later forks wait
 * only STUCK_WAIT_NS.
 *
 * `owner` is the process allowed to unwind: the one that loaded the agent,
 * or a child that started an agent of its own; 0 in a forked child
 * without one.  An entry makes no system call: the child of vfork(),
 * which runs no atfork handler and shares this memory (the thread's TLS
 * too) until it execs, is told apart by its process id only after the
 * agent's vfork (below) has marked the thread that called it; the parent
 * clears the mark at its next entry.  The children of posix_spawn() and
 * system() (glibc clones them the same way, with its own stack) never
 * reach an entry: they run with every signal blocked, reset the
 * handlers, allocate nothing and exec.  A child of glibc's _Fork() (no
 * atfork handlers, by design: it is for a child that only execs) is not
 * told apart.  (Before, every entry called getpid: two system calls per
 * sampled allocation with the tid of agent/dl_hooks.c, more time than the
 * unwind itself on an allocation-bound loop.)
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent/context.h"
#include "agent/fork.h"

#define WAIT_NS (500LL * 1000 * 1000)
#define STUCK_WAIT_NS (5LL * 1000 * 1000)
#define SPINS 64 /* sched_yield rounds before sleeping */

/* This file's part of the agent's state (agent/context.h). */
#define g (lynx_agent.fork)

#define IE_TLS __attribute__((tls_model("initial-exec")))

/* This thread's entries not yet left (nesting, and a fork from inside). */
static __thread int32_t depth IE_TLS;
/* This thread's stripe, + 1; 0 until its first entry. */
static __thread uint32_t stripe_plus1 IE_TLS;
/* This thread's kernel thread id; 0 until first asked.  Forgotten in a
 * forked child (fork_child: the only thread there is the one that forked). */
static __thread pid_t tid_cache IE_TLS;
/* Set by vfork (below) on the thread that calls it: a child may be
 * running in this thread's memory.  Read by entries; cleared by the
 * parent. */
__attribute__((visibility("hidden"), used)) __thread int lynx_vfork_mark
    IE_TLS;
/* The C library's vfork, resolved by fork_gate_init; NULL before. */
__attribute__((visibility("hidden"), used)) void *lynx_real_vfork;

static pid_t current_pid(void)
{
    /* The raw system call: it keeps errno unless it fails, and never
     * fails. */
    return (pid_t)syscall(SYS_getpid);
}

pid_t lynx_fork_thread_tid(void)
{
    pid_t tid = tid_cache;

    if (__builtin_expect(tid != 0, 1)) {
        return tid;
    }
    tid = (pid_t)syscall(SYS_gettid);
    /* Not kept while a vfork child may be the caller: the TLS is the
     * parent thread's, and would keep the child's id. */
    if (!lynx_vfork_mark) {
        tid_cache = tid;
    }
    return tid;
}

/* 1 if this process is the one allowed to unwind.  No system call but
 * after a vfork of this thread (see the top). */
static int owner_here(void)
{
    pid_t owner = atomic_load_explicit(&g.owner, memory_order_relaxed);

    if (owner == 0) {
        return 0;
    }
    if (__builtin_expect(lynx_vfork_mark != 0, 0)) {
        if (owner != current_pid()) {
            return 0; /* the vfork child */
        }
        lynx_vfork_mark = 0; /* the parent: its child has exec'd or ended */
    }
    return 1;
}

static lynx_fork_stripe_t *my_stripe(void)
{
    uint32_t s = stripe_plus1;

    if (__builtin_expect(s == 0, 0)) {
        s = atomic_fetch_add_explicit(&g.next_stripe, 1,
                                      memory_order_relaxed) %
                LYNX_FORK_STRIPES +
            1;
        stripe_plus1 = s;
    }
    return &g.stripes[s - 1];
}

int lynx_fork_gate_enter(void)
{
    lynx_fork_stripe_t *st;

    if (!owner_here()) {
        return 0;
    }
    if (atomic_load(&g.closing) != 0) {
        return 0;
    }
    st = my_stripe();
    atomic_fetch_add(&st->inflight, 1);
    if (atomic_load(&g.closing) != 0) {
        atomic_fetch_sub(&st->inflight, 1);
        return 0;
    }
    depth++;
    return 1;
}

static void pause_ns(long ns)
{
    struct timespec ts = {0, ns};

    nanosleep(&ts, NULL);
}

static int64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int lynx_fork_gate_enter_wait(void)
{
    for (int round = 0;; round++) {
        if (!owner_here()) {
            return 0;
        }
        if (lynx_fork_gate_enter()) {
            return 1;
        }
        if (round < SPINS) {
            sched_yield();
        } else {
            pause_ns(100 * 1000);
        }
    }
}

void lynx_fork_gate_leave(void)
{
    lynx_fork_stripe_t *st = &g.stripes[stripe_plus1 - 1];

    depth--;
    atomic_fetch_add_explicit(&st->leaves, 1, memory_order_relaxed);
    atomic_fetch_sub(&st->inflight, 1);
}

/* Entries in flight, all threads (the calling thread's own included). */
static int64_t inflight_sum(void)
{
    int64_t n = 0;

    for (uint32_t i = 0; i < LYNX_FORK_STRIPES; i++) {
        n += atomic_load(&g.stripes[i].inflight);
    }
    return n;
}

/* Entries left, ever, all threads. */
static uint64_t leaves_sum(void)
{
    uint64_t n = 0;

    for (uint32_t i = 0; i < LYNX_FORK_STRIPES; i++) {
        n += atomic_load(&g.stripes[i].leaves);
    }
    return n;
}

static void fork_prepare(void)
{
    int saved_errno = errno;
    uint64_t stuck = atomic_load(&g.stuck_at);
    int64_t limit = WAIT_NS;
    int64_t deadline = 0;

    atomic_fetch_add(&g.closing, 1);
    if (stuck != 0 && stuck - 1 == leaves_sum()) {
        /* Nothing left the gate since the last timeout: the same entry
         * is still stuck; do not make every fork pay for it in full. */
        limit = STUCK_WAIT_NS;
    }
    for (int round = 0; inflight_sum() > depth; round++) {
        if (round < SPINS) {
            sched_yield();
            continue;
        }
        if (deadline == 0) {
            deadline = mono_ns() + limit;
        } else if (mono_ns() >= deadline) {
            atomic_fetch_add(&g.timeouts, 1);
            atomic_store(&g.stuck_at, leaves_sum() + 1);
            break;
        }
        pause_ns(20 * 1000);
    }
    errno = saved_errno;
}

static void fork_parent(void)
{
    atomic_fetch_sub(&g.closing, 1);
}

static void fork_child(void)
{
    /* Only this thread exists: no other fork is being prepared, and no
     * other entry is in flight.  The child has no agent. */
    atomic_store(&g.closing, 0);
    for (uint32_t i = 0; i < LYNX_FORK_STRIPES; i++) {
        atomic_store(&g.stripes[i].inflight,
                     i + 1 == stripe_plus1 ? depth : 0);
    }
    atomic_store(&g.stuck_at, 0);
    atomic_store(&g.owner, 0);
    tid_cache = 0;
}

void lynx_fork_gate_agent_started(void)
{
    lynx_vfork_mark = 0;
    atomic_store(&g.owner, current_pid());
}

uint64_t lynx_fork_gate_timeouts(void)
{
    return atomic_load(&g.timeouts);
}

/* After the heap agent's constructor (101), which registers its own
 * atfork handlers: prepare handlers run in reverse order of registration,
 * so this one runs before the heap's takes its lock. */
__attribute__((constructor(102))) static void fork_gate_init(void)
{
    void *fn = dlsym(RTLD_NEXT, "vfork");

    __atomic_store_n(&lynx_real_vfork, fn != (void *)vfork ? fn : NULL,
                     __ATOMIC_RELEASE);
    atomic_store(&g.owner, current_pid());
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}

/*
 * vfork and __vfork, interposed: mark the calling thread (lynx_vfork_mark),
 * then jump to the C library's vfork with the caller's frame as it was.
 * No C function may stand in between: the child returns through it first,
 * on the parent's stack, and the parent would return through what the
 * child left there.  Before fork_gate_init has found the real function
 * (another library's constructor), fork() stands in, as POSIX allows.
 * Other architectures: not interposed; their vfork children are not told
 * apart (see the top).
 */
#if defined(__x86_64__) && defined(__ELF__)
__asm__(".text\n"
        ".globl vfork\n"
        ".type vfork, @function\n"
        ".globl __vfork\n"
        ".type __vfork, @function\n"
        ".p2align 4\n"
        "vfork:\n"
        "__vfork:\n"
        "    movq lynx_vfork_mark@gottpoff(%rip), %rax\n"
        "    movl $1, %fs:(%rax)\n"
        "    movq lynx_real_vfork(%rip), %rax\n"
        "    testq %rax, %rax\n"
        "    jz 1f\n"
        "    jmp *%rax\n"
        "1:  jmp *fork@GOTPCREL(%rip)\n"
        ".size vfork, .-vfork\n"
        ".size __vfork, .-__vfork\n");
#endif
