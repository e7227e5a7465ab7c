/*
 * agent/fork.h - the fork gate (agent/fork.c): no unwind of the agent's is
 * in flight when the process forks, and a child never unwinds.
 *
 * fork() copies only the calling thread.  A lock another thread holds at
 * that moment stays held in the child for ever: the loader's lock
 * (dl_iterate_phdr) and libunwind's mutexes are held inside every unwind,
 * so a child forked in the middle of one hangs in its next unwind, dlopen,
 * dl_iterate_phdr or C++ throw.  Every place where the agent unwinds or
 * walks the loaded modules therefore passes the gate:
 *
 *     if (lynx_fork_gate_enter()) {
 *         ... unwind ...
 *         lynx_fork_gate_leave();
 *     }
 *
 * Before fork() (pthread_atfork prepare) the gate closes: new entries are
 * refused and the prepare handler waits, bounded, for those in flight.
 * The parent reopens it after the fork; the child keeps it shut for good
 * (it has no agent) until it starts an agent of its own.  vfork() runs no
 * atfork handler: its child shares the parent's memory until it execs;
 * the agent's vfork marks the calling thread, and an entry on a marked
 * thread compares the process id (agent/fork.c says more).
 *
 * ASYNC-SIGNAL-SAFE: enter and leave are called from the SIGPROF handler
 * and from inside malloc.  They take no lock, allocate nothing, and make
 * no system call (but getpid once after each vfork of the thread).
 */
#ifndef LYNX_AGENT_FORK_H
#define LYNX_AGENT_FORK_H

#include <stdint.h>
#include <sys/types.h>

/* 1 if the calling thread may unwind now; it then calls
 * lynx_fork_gate_leave() when done.  0 if not (a fork is being prepared,
 * or this is a child without an agent, forked or vforked): the caller
 * drops what it was about to record.  Nests on one thread.  Async-signal-
 * safe, never blocks. */
int lynx_fork_gate_enter(void);

/* Like lynx_fork_gate_enter(), for ordinary code that would rather wait
 * than drop its work (the agent thread's walk of the loaded modules):
 * waits while a fork is being prepared.  Returns 0 only in a child
 * without an agent. */
int lynx_fork_gate_enter_wait(void);

void lynx_fork_gate_leave(void);

/* This process starts an agent of its own (lynx_agent_start): unwinding
 * is allowed in it from now on, also when it is a forked child. */
void lynx_fork_gate_agent_started(void);

/* The calling thread's kernel thread id (gettid), kept in initial-exec
 * TLS after the first call and forgotten in a forked child: what glibc
 * writes as the owner of a mutex this thread holds.  Async-signal-safe. */
pid_t lynx_fork_thread_tid(void);

/* Forks that went ahead with an unwind still in flight after the bounded
 * wait (a thread stopped by a debugger in the middle of one): their
 * children may find the loader's lock held.  Counted since start. */
uint64_t lynx_fork_gate_timeouts(void);

#endif
