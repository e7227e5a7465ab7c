/*
 * agent/dl_hooks.h - the agent's dl_iterate_phdr (agent/dl_hooks.c): which
 * threads are inside the loader's list walk, for the unwinders to avoid.
 *
 * dl_iterate_phdr holds the loader's lock for the whole walk, callbacks
 * included.  libunwind takes one of its own mutexes and then, through
 * dl_iterate_phdr, the loader's lock.  A signal handler that unwinds a
 * thread interrupted inside the program's callback would take them the
 * other way round: it waits for libunwind's mutex while its thread holds
 * the loader's lock, and the unwind that holds the mutex waits for that
 * lock.  Neither ever returns.  So every unwind of the agent first asks
 * lynx_dl_iterate_busy() and, on a thread inside dl_iterate_phdr, keeps
 * only what it already has (the interrupted address) or nothing.
 */
#ifndef LYNX_AGENT_DL_HOOKS_H
#define LYNX_AGENT_DL_HOOKS_H

#include <stdint.h>

/* How deep the calling thread is in dl_iterate_phdr (nested walks count
 * once each).  initial-exec TLS: reading it allocates nothing and takes no
 * lock, also on a thread's first access and inside a signal handler. */
extern __thread int lynx_dl_iterate_depth
    __attribute__((tls_model("initial-exec")));

/* Non-zero if the calling thread is inside dl_iterate_phdr (its own walk
 * or one it was interrupted in) or owns one of the loader's locks (inside
 * dlopen or dlclose), or one of those locks is held with no owner written
 * (a thread, maybe this one, between its two steps of taking or giving it
 * back): it must not unwind.  Counts the refusal
 * (lynx_dl_iterate_refusals).  Async-signal-safe. */
int lynx_dl_iterate_busy(void);

/* How many of the loader's locks were found at start-up (0 to 2; 0: only
 * the depth count guards).  For tests. */
int lynx_dl_loader_locks_found(void);

/* The i-th of those locks (a pthread_mutex_t inside the loader's data), or
 * NULL.  For tests. */
const void *lynx_dl_loader_lock(int i);

/* Unwinds refused by lynx_dl_iterate_busy() since the process started.
 * Async-signal-safe. */
uint64_t lynx_dl_iterate_refusals(void);

#endif
