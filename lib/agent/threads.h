/*
 * agent/threads.h - the threads of the target as the agent sees them:
 * pthread_create() interposed so that threads started during a profile get
 * their CPU timer, and the table of per-thread CPU timers.
 */
#ifndef LYNX_AGENT_THREADS_H
#define LYNX_AGENT_THREADS_H

#include <stdint.h>
#include <sys/types.h>

/* Set up (once, from lynx_agent_start): remembers the agent thread's tid so
 * that it is never sampled. */
void lynx_threads_init(pid_t agent_tid);

/* Arm a CPU-time timer (SIGPROF every period_ns of that thread's CPU time,
 * first expiry random in (0, period]) on every thread that exists now and,
 * until disarm, on every thread created later.  Returns threads armed, or a
 * negative errno.  Not signal-safe. */
int lynx_threads_arm_all(int64_t period_ns);

/* Arm threads that appeared without going through pthread_create(). */
void lynx_threads_rescan(void);

/* Delete every timer.  Not signal-safe. */
void lynx_threads_disarm_all(void);

/* After fork(), in the child: timers are not inherited; forget them. */
void lynx_threads_atfork_child(void);

#endif
