/*
 * agent_internal.h - what the agent's files share inside the target process.
 * Nothing here is exported from libprofile-agent.so.
 */
#ifndef LYNX_AGENT_INTERNAL_H
#define LYNX_AGENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "lynx_block.h"

/* Where a command handler writes its answer.  inline_buf holds
 * inline_cap bytes (LYNX_REPLY_MAX); bulk holds bulk_cap bytes inside the
 * block (the slot's bulk area); message holds LYNX_MSG_MAX bytes. */
typedef struct lynx_reply {
    void *inline_buf;
    size_t inline_cap;
    size_t inline_len;
    void *bulk;
    size_t bulk_cap;
    size_t bulk_len;
    char *message;
} lynx_reply_t;

/* A command handler runs on the agent thread, one at a time.  It returns
 * 0 or a negative code (sent to the endpoint as the result). */
typedef int (*lynx_command_cb)(const void *arg, size_t arg_len,
                               lynx_reply_t *reply);

/* Add every loaded module not yet in the snapshot (agent_modules.c).
 * Returns 1 if something was added.  *adds gets the loader's count of
 * loaded objects, for lynx_agent_modules_adds(). */
int lynx_agent_modules_update(lynx_modules_t *mods, unsigned long long *adds);
unsigned long long lynx_agent_modules_adds(void);

/* CPU sessions (agent_cpu.c). */
int lynx_agent_cpu_init(lynx_block_header_t *h);
int lynx_agent_cpu_start(const void *arg, size_t arg_len, lynx_reply_t *r);
int lynx_agent_cpu_stop(const void *arg, size_t arg_len, lynx_reply_t *r);
int lynx_agent_cpu_spooled(const void *arg, size_t arg_len,
                           lynx_reply_t *r);
int lynx_agent_cpu_forget(const void *arg, size_t arg_len, lynx_reply_t *r);
/* Called by the agent thread every loop; returns how long (ns) it may
 * sleep before the next call is due. */
int64_t lynx_agent_cpu_tick(void);
/* The process is ending (agent stop): end a running session as failed.
 * Returns 1 if the block holds data no endpoint has saved yet. */
int lynx_agent_cpu_shutdown(void);
void lynx_agent_cpu_atfork_child(void);

/* Fill the memory statistics of this process (agent_memstats.c). */
int lynx_agent_memstats(lynx_memstats_t *ms, int64_t process_start_unix_ns);

/* Non-zero while this thread unwinds for a profiler hook (heap samples set
 * it; agent_heap.c).  libunwind takes pthread mutexes inside: the lock
 * hooks must pass those straight through, or a contended one would unwind
 * again inside libunwind and deadlock on its own lock. */
extern __thread int lynx_agent_unwinding
    __attribute__((tls_model("initial-exec")));

/* Heap profile (agent_heap_cmd.c; the malloc side is agent_heap.c). */
int lynx_agent_heap_init(lynx_block_header_t *h);
int lynx_agent_heap_snapshot(const void *arg, size_t arg_len,
                             lynx_reply_t *r);
/* Add the exact allocation counters to ms (sets the flag) when the malloc
 * functions are interposed. */
void lynx_agent_heap_memstats(lynx_memstats_t *ms);

#endif
