/*
 * agent/no_hooks.c - the CPU-only agent (libprofile-agent-cpu.so) in place
 * of the malloc and lock interposition.
 *
 * The CPU-only agent is built from the same sources as the full agent
 * minus agent/malloc_hooks.c, agent/heap_cmd.c and agent/lock_hooks.c:
 * it defines no malloc, free or pthread_mutex_* functions, so the
 * program's allocator and locks run exactly as without an agent.  CPU
 * profiles, thread dumps, thread creation and memory statistics (from
 * /proc and mallinfo2, without the exact allocation counters) work as in
 * the full agent.  The commands of the heap, allocs, block and mutex
 * profiles are answered here with LYNX_ECPUONLY and a message naming the
 * agent that has them.
 *
 * Workload: nothing at rest; a command that fails at once.  Agent thread
 * only; ordinary code.
 */
#include <stdio.h>

#include "agent/internal.h"
#include "agent/locks.h"

static int cpu_only(lynx_reply_t *r, const char *what)
{
    snprintf(r->message, LYNX_MSG_MAX,
             "the target runs the CPU-only agent (libprofile-agent-cpu.so), "
             "which does not interpose %s: restart it with "
             "libprofile-agent.so for heap, allocs, block and mutex profiles",
             what);
    return LYNX_ECPUONLY;
}

int lynx_agent_heap_snapshot(const void *arg, size_t arg_len,
                             lynx_reply_t *r)
{
    (void)arg;
    (void)arg_len;
    return cpu_only(r, "malloc");
}

void lynx_agent_heap_memstats(lynx_memstats_t *ms)
{
    /* No exact counters: the flag stays clear and the fields -1. */
    (void)ms;
}

int lynx_agent_locks(const void *arg, size_t arg_len, lynx_reply_t *r)
{
    (void)arg;
    (void)arg_len;
    return cpu_only(r, "the pthread lock functions");
}

int lynx_agent_locks_window(const void *arg, size_t arg_len,
                            lynx_reply_t *r)
{
    (void)arg;
    (void)arg_len;
    return cpu_only(r, "the pthread lock functions");
}

void lynx_locks_tick(int64_t now_mono_ns)
{
    (void)now_mono_ns;
}

void lynx_locks_configure(int64_t block_rate_ns, int64_t mutex_fraction,
                          int clear)
{
    (void)block_rate_ns;
    (void)mutex_fraction;
    (void)clear;
}
