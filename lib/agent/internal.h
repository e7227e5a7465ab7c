/*
 * agent/internal.h - what the agent's files share inside the target process.
 * Nothing here is exported from libprofile-agent.so.
 */
#ifndef LYNX_AGENT_INTERNAL_H
#define LYNX_AGENT_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/block.h"

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

/* Where the regions of the block are, as the agent laid them out.  Kept in
 * the agent's own memory from creation on: the agent never reads a size,
 * offset, capacity or count back from the shared block, which other
 * processes can write. */
typedef struct lynx_agent_block {
    lynx_block_header_t *header;
    lynx_sessions_t *sessions;   /* LYNX_MAX_SESSIONS records */
    lynx_modules_t *modules;
    uint32_t modules_capacity;   /* entries in modules->modules[] */
    lynx_cpu_table_t *cpu;
    uint32_t cpu_capacity;       /* entries in cpu->stacks[] */
    lynx_memsnap_t *memsnap;     /* the memory statistics snapshot */
    int64_t started_unix_ns;     /* process start, as written in the header */
} lynx_agent_block_t;

/* A command handler runs on the agent thread, one at a time.  `arg` is the
 * agent's private copy of the slot's arguments (arg_len <= LYNX_ARG_MAX,
 * 8-byte aligned), so what a handler checked cannot change under it.  It
 * returns 0 or a negative code (sent to the endpoint as the result). */
typedef int (*lynx_command_cb)(const void *arg, size_t arg_len,
                               lynx_reply_t *reply);

/* The module snapshot (agent/modules.c) lives in `shared` with room for
 * `capacity` records; the agent keeps its own copy of the records and the
 * count, and only writes the shared one.  shared may be NULL (no snapshot). */
int lynx_agent_modules_init(lynx_modules_t *shared, uint32_t capacity);
/* Add every loaded module not yet in the snapshot.  Returns 1 if something
 * was added.  *adds (may be NULL) gets the loader's count of loaded
 * objects, for lynx_agent_modules_adds(). */
int lynx_agent_modules_update(unsigned long long *adds);
unsigned long long lynx_agent_modules_adds(void);

/* CPU sessions (agent/cpu.c). */
int lynx_agent_cpu_init(const lynx_agent_block_t *blk);
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

/* Fill the memory statistics of this process (agent/memstats.c). */
int lynx_agent_memstats(lynx_memstats_t *ms, int64_t process_start_unix_ns);
/* Close the /proc files lynx_agent_memstats() keeps open (agent thread,
 * when it ends). */
void lynx_agent_memstats_close(void);

/* The memory statistics snapshot (agent/memsnap.c), agent thread only.
 * init: the region, or NULL for none.  publish: write ms, taken at
 * sampled_mono_ns, for an endpoint that asked (LYNX_CMD_MEMSTATS); that
 * keeps the snapshot refreshed for LYNX_MEMSNAP_INTEREST_NS.  tick: called
 * every loop; takes and publishes new statistics when they are due. */
void lynx_agent_memsnap_init(lynx_memsnap_t *shared);
void lynx_agent_memsnap_publish(const lynx_memstats_t *ms,
                                int64_t sampled_mono_ns);
void lynx_agent_memsnap_tick(int64_t now, int64_t process_start_unix_ns);

/* Non-zero while this thread unwinds for a profiler hook (heap samples set
 * it; agent/malloc_hooks.c).  libunwind takes pthread mutexes inside: the lock
 * hooks must pass those straight through, or a contended one would unwind
 * again inside libunwind and deadlock on its own lock. */
extern __thread int lynx_agent_unwinding
    __attribute__((tls_model("initial-exec")));

/* Heap profile (agent/heap_cmd.c; the malloc side is agent/malloc_hooks.c). */
int lynx_agent_heap_snapshot(const void *arg, size_t arg_len,
                             lynx_reply_t *r);
/* Add the exact allocation counters to ms (sets the flag) when the malloc
 * functions are interposed. */
void lynx_agent_heap_memstats(lynx_memstats_t *ms);

#endif
