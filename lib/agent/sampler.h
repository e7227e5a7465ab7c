/*
 * agent/sampler.h - the CPU sampler of the agent: the SIGPROF handler and
 * the ring it writes into (agent/signal_sampler.c, async-signal-safe), drained by
 * the agent thread.
 */
#ifndef LYNX_AGENT_SAMPLER_H
#define LYNX_AGENT_SAMPLER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "agent/dl_hooks.h"
#include "agent/fork.h"
#include "agent/internal.h"
#include "protocol/block.h"

/* One raw sample as the handler leaves it in the ring. */
typedef struct lynx_raw_sample {
    uint32_t depth;                   /* 1..LYNX_CPU_MAX_DEPTH */
    uint32_t flags;                   /* LYNX_STACK_* */
    uint32_t weight;                  /* periods this sample stands for:
                                         1 + the timer's overrun */
    uint32_t reserved;
    lynx_sample_labels_t labels;      /* thread and request labels at the
                                         sample (agent/labels.h) */
    uint64_t pcs[LYNX_CPU_MAX_DEPTH]; /* leaf first, pcs[0] exact */
} lynx_raw_sample_t;

/* Unwind the interrupted code of a signal handler's ucontext into pcs
 * (leaf first: pcs[0] is the interrupted instruction, the others return
 * addresses), at most max frames; LYNX_STACK_TRUNCATED in *flags when
 * deeper.  Returns the frames stored; 0 (nothing, not even pcs[0]) when
 * the fork gate refuses: a fork is under way, or this is a child without
 * an agent (agent/fork.h).  1 (pcs[0] only, LYNX_STACK_UNWIND_SKIPPED in
 * *flags) while the thread may hold the loader's lock: a dlopen or
 * dlclose is under way, or it is inside dl_iterate_phdr.
 * Async-signal-safe. */
uint32_t lynx_unwind_context(void *ucontext, uint64_t *pcs, uint32_t max,
                             uint32_t *flags);

/* Unwind the calling thread from ordinary code (not a signal handler)
 * into buf, at most max return addresses, innermost first: buf[0] is in
 * this function, buf[1] in its caller.  Returns the count (<= 0: none;
 * 0 also when the fork gate refuses, see agent/fork.h, and on a thread
 * inside dl_iterate_phdr, see agent/dl_hooks.h).
 * Needs no signal mask: a SIGPROF that lands meanwhile is held back by the
 * handler and delivered here, with this stack, once libunwind is done.
 * May take the loader's lock (the lock hooks let it through while
 * lynx_agent_unwinding is set). */
int lynx_unwind_here(void **buf, int max);

/* lynx_unwind_here's body, inlined into a caller that wants no frame of
 * its own in what it takes: buf[0] is then in the caller, buf[1] in the
 * caller's caller.  Every frame walked costs (libunwind's fast trace
 * looks each one up in its cache), so the heap sampler, which unwinds
 * most often, takes this.  The same rules as lynx_unwind_here; what a
 * signal asked for meanwhile is delivered by lynx_unwind_finish, out of
 * line. */
int unw_backtrace(void **buf, int size); /* libunwind's, in either mode */
void lynx_unwind_finish(void *const *buf, int n);
static inline __attribute__((always_inline)) int
lynx_unwind_inline(void **buf, int max)
{
    int n;

    if (lynx_dl_iterate_busy() || !lynx_fork_gate_enter()) {
        return 0;
    }
    lynx_agent_unwinding++;
    atomic_signal_fence(memory_order_seq_cst);
    n = unw_backtrace(buf, max);
    atomic_signal_fence(memory_order_seq_cst);
    lynx_agent_unwinding--;
    lynx_fork_gate_leave();
    atomic_signal_fence(memory_order_seq_cst);
    lynx_unwind_finish(buf, n);
    return n;
}

/* Allocate the ring (once, outside any handler) and install the SIGPROF
 * handler.  Fails with -EBUSY (message in msg) when the program has its own
 * SIGPROF handler: the agent never takes over a signal the program uses.
 * Agent thread only. */
int lynx_sampler_install(char *msg, size_t msg_size);

/* Whether SIGPROF is still the sampler's: 0 if so; -EBUSY with the
 * reason in why when the program has since installed a SIGPROF handler of
 * its own (sigaction, signal, or the system call) or armed the process-
 * wide profiling timer (setitimer ITIMER_PROF), whose signals would then
 * be mixed with the agent's.  Two system calls.  Agent thread only.
 * Polled on every drain tick of a session rather than caught by
 * interposing sigaction() and signal(): polling also sees the raw system
 * call and setitimer(), and puts no code on the program's path. */
int lynx_sampler_check(char *why, size_t why_size);

/* Start or stop accepting samples.  While stopped the handler returns at
 * once (it stays installed: a timer signal still in flight must never hit
 * SIGPROF's default action, which kills the process). */
void lynx_sampler_set_active(int active);

/* Call cb for every complete sample in the ring and free its slot.
 * Returns how many were consumed.  Agent thread only. */
size_t lynx_sampler_drain(void (*cb)(const lynx_raw_sample_t *s, void *ctx),
                          void *ctx);

/* Samples the handler could not store (ring full) since the last call;
 * resets the count. */
uint64_t lynx_sampler_take_lost(void);

#endif
