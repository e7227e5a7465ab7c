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

/* Fill the memory statistics of this process (agent_memstats.c). */
int lynx_agent_memstats(lynx_memstats_t *ms, int64_t process_start_unix_ns);

#endif
