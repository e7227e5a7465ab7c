/*
 * agent/threaddump.h - every thread's stack on demand (agent/threaddump.c)
 * and the stacks that created threads (agent/threadcreate.c).
 */
#ifndef LYNX_AGENT_THREADDUMP_H
#define LYNX_AGENT_THREADDUMP_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "agent/internal.h"

/* Set up on the agent thread (from agent_main): remembers whether the block
 * has a module snapshot and the agent thread's tid. */
void lynx_agent_threaddump_init(int have_modules);

/* Bring the block's module snapshot up to date (after loads), so that
 * stacks just captured resolve.  Agent thread only. */
void lynx_agent_modules_refresh(void);

/* LYNX_CMD_THREAD_DUMP.  Agent thread only. */
int lynx_agent_thread_dump(const void *arg, size_t arg_len, lynx_reply_t *r);

/* Called first by the SIGPROF handler for every SIGPROF.  While a dump
 * request is pending, answers it for this thread (any SIGPROF does: the
 * request's signal may have merged with a CPU timer's), unless `defer` is
 * set (the thread is inside the unwinder and must not unwind again): then
 * returns LYNX_DUMP_DEFERRED and the caller answers later with
 * lynx_threaddump_answer.  Otherwise returns 1 if the signal was a dump
 * request (nothing else to do with it), 0 if not.  ASYNC-SIGNAL-SAFE. */
#define LYNX_DUMP_DEFERRED 2
int lynx_threaddump_on_signal(const siginfo_t *info, void *ucontext,
                              int defer);

/* Answer this thread's pending dump request with a stack taken elsewhere
 * (leaf first); nothing if none is pending or it expired.  Async-signal-
 * safe, and callable from ordinary code. */
void lynx_threaddump_answer(const uint64_t *pcs, uint32_t depth,
                            uint32_t flags);

/* ---- thread creation (agent/threadcreate.c) ---------------------------- */

/* Record the calling stack of a pthread_create() about to happen, leaf
 * first, dropping `skip` innermost frames.  Returns the record's index
 * or -1 (off, or table full: counted).  Ordinary thread context. */
int lynx_threadcreate_record(unsigned skip);

/* The call recorded as `index` created a thread (tid), or failed (tid
 * < 0: the record is dropped from the counts). */
void lynx_threadcreate_done(int index, pid_t tid);

/* LYNX_CMD_THREADCREATE.  Agent thread only. */
int lynx_agent_threadcreate(const void *arg, size_t arg_len,
                            lynx_reply_t *r);

/* The calling thread's stack, leaf first, at most max frames: pcs[0] is
 * the return address into the caller of the function that calls this one
 * (that function's own frame is never kept), after dropping `skip` more;
 * sets LYNX_STACK_TRUNCATED in *flags when deeper.  Returns the depth.
 * Ordinary context only (libunwind, may take the loader's lock). */
uint32_t lynx_agent_backtrace(uint64_t *pcs, uint32_t max, unsigned skip,
                              uint32_t *flags);

#endif
