/*
 * agent/locks.h - lock contention inside the target (agent/lock_hooks.c): the
 * interposed pthread mutex, rwlock and condition variable functions, the
 * per-stack tables they fill, and the command that reads them.
 */
#ifndef LYNX_AGENT_LOCKS_H
#define LYNX_AGENT_LOCKS_H

#include <stddef.h>
#include <stdint.h>

#include "agent/internal.h"

#define LYNX_BLOCK_RATE_DEFAULT 10000    /* ns: LYNXPROF_BLOCK_RATE */
#define LYNX_MUTEX_FRACTION_DEFAULT 10   /* 1/N: LYNXPROF_MUTEX_FRACTION */

/* LYNX_CMD_LOCKS.  Agent thread only. */
int lynx_agent_locks(const void *arg, size_t arg_len, lynx_reply_t *r);

/* LYNX_CMD_LOCKS_WINDOW: open or close a recording window.  Agent thread
 * only. */
int lynx_agent_locks_window(const void *arg, size_t arg_len,
                            lynx_reply_t *r);

/* Close the windows whose duration has passed (now: CLOCK_MONOTONIC).
 * Agent thread, every loop. */
void lynx_locks_tick(int64_t now_mono_ns);

/* Change the rates (block: ns, 0 = off, 1 = every wait; mutex: 1/N of
 * contended releases, 0 = off) and, when clear != 0, forget what was
 * recorded.  For tests; not safe while other threads record. */
void lynx_locks_configure(int64_t block_rate_ns, int64_t mutex_fraction,
                          int clear);

#endif
