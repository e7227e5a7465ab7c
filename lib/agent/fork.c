/*
 * agent/fork.c - the fork gate (see agent/fork.h for why).
 *
 * ASYNC-SIGNAL-SAFE: lynx_fork_gate_enter/leave run inside the SIGPROF
 * handler and inside malloc, on any thread, at any time; the atfork
 * handlers run inside fork(), which a program may call from a signal
 * handler.  So: no lock, no allocation, no stdio, errno left as found;
 * the only system calls are getpid, sched_yield and nanosleep.
 *
 * State: `inflight` counts gate entries not yet left, all threads;
 * `closing` counts forks being prepared.  An entry increments inflight,
 * then looks at closing; the prepare handler increments closing, then
 * looks at inflight.  Both are sequentially consistent, so at least one of
 * them sees the other: either the entry backs out, or the prepare handler
 * waits for it.  A thread that forks while it is itself inside the gate
 * (fork from a signal handler that interrupted an unwind of ours) waits
 * only for the others: its own entry cannot end before the fork returns.
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
 * without one.  Comparing it with getpid() also shuts out the child of
 * vfork(), posix_spawn() and system(), which run no atfork handler and
 * share this memory until they exec.
 */
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

/* This thread's entries not yet left (nesting, and a fork from inside). */
static __thread int32_t depth __attribute__((tls_model("initial-exec")));

static pid_t current_pid(void)
{
    /* The raw system call: it keeps errno unless it fails, and never
     * fails. */
    return (pid_t)syscall(SYS_getpid);
}

int lynx_fork_gate_enter(void)
{
    pid_t owner = atomic_load_explicit(&g.owner, memory_order_relaxed);

    if (owner == 0 || owner != current_pid()) {
        return 0;
    }
    if (atomic_load(&g.closing) != 0) {
        return 0;
    }
    atomic_fetch_add(&g.inflight, 1);
    if (atomic_load(&g.closing) != 0) {
        atomic_fetch_sub(&g.inflight, 1);
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
        pid_t owner = atomic_load_explicit(&g.owner, memory_order_relaxed);
        if (owner == 0 || owner != current_pid()) {
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
    depth--;
    atomic_fetch_add_explicit(&g.leaves, 1, memory_order_relaxed);
    atomic_fetch_sub(&g.inflight, 1);
}

static void fork_prepare(void)
{
    int saved_errno = errno;
    uint64_t stuck = atomic_load(&g.stuck_at);
    int64_t limit = WAIT_NS;
    int64_t deadline = 0;

    atomic_fetch_add(&g.closing, 1);
    if (stuck != 0 && stuck - 1 == atomic_load(&g.leaves)) {
        /* Nothing left the gate since the last timeout: the same entry
         * is still stuck; do not make every fork pay for it in full. */
        limit = STUCK_WAIT_NS;
    }
    for (int round = 0; atomic_load(&g.inflight) > depth; round++) {
        if (round < SPINS) {
            sched_yield();
            continue;
        }
        if (deadline == 0) {
            deadline = mono_ns() + limit;
        } else if (mono_ns() >= deadline) {
            atomic_fetch_add(&g.timeouts, 1);
            atomic_store(&g.stuck_at, atomic_load(&g.leaves) + 1);
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
    atomic_store(&g.inflight, depth);
    atomic_store(&g.stuck_at, 0);
    atomic_store(&g.owner, 0);
}

void lynx_fork_gate_agent_started(void)
{
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
    atomic_store(&g.owner, current_pid());
    pthread_atfork(fork_prepare, fork_parent, fork_child);
}
