/*
 * agent/heap_cmd.c - the heap profile's command on the agent thread:
 * LYNX_CMD_HEAP_SNAPSHOT copies the aggregated sample table (kept by
 * agent/malloc_hooks.c inside malloc) into the slot's bulk area, with the exact
 * counters, after refreshing the module snapshot so every sampled address
 * can be resolved.
 *
 * Workload: a snapshot per heap request (a few per minute; the web page at
 * most every few seconds); copying takes the table lock for about a
 * millisecond per 10,000 stacks.  Agent thread only; ordinary code.
 */
#include <malloc.h>
#include <stdio.h>
#include <string.h>

#include "agent/heap.h"
#include "agent/internal.h"
#include "protocol/clock.h"

int lynx_agent_heap_snapshot(const void *argp, size_t arg_len,
                             lynx_reply_t *r)
{
    const lynx_heap_snapshot_arg_t *arg = argp;
    lynx_heap_snapshot_reply_t *rep = r->inline_buf;

    if (arg_len != sizeof(*arg) || (arg->flags & ~LYNX_HEAP_GC) != 0 ||
        arg->reserved != 0) {
        snprintf(r->message, LYNX_MSG_MAX, "invalid heap snapshot arguments");
        return LYNX_EBADARG;
    }
    if (!lynx_heap_totals(&rep->totals)) {
        snprintf(r->message, LYNX_MSG_MAX,
                 "the malloc functions are not interposed in this process");
        return LYNX_EUNSUPPORTED;
    }
    if (arg->flags & LYNX_HEAP_GC) {
        malloc_trim(0);
    }
    lynx_agent_modules_update(NULL);
    r->bulk_len = lynx_heap_copy(r->bulk, r->bulk_cap, rep);
    rep->taken_unix_ns = lynx_real_ns();
    /* Counters after the copy: never fewer than the samples show. */
    lynx_heap_totals(&rep->totals);
    r->inline_len = sizeof(*rep);
    return 0;
}

void lynx_agent_heap_memstats(lynx_memstats_t *ms)
{
    lynx_heap_totals_t t;

    if (!lynx_heap_totals(&t) || !lynx_heap_counting()) {
        return;
    }
    ms->flags |= LYNX_MEMSTATS_HAVE_ALLOC_COUNTERS;
    ms->alloc_count = (int64_t)t.allocs;
    ms->free_count = (int64_t)t.frees;
    ms->alloc_bytes_total = (int64_t)t.alloc_bytes;
    /* Threads summed one after the other: a free may be seen before its
     * allocation.  Never report less than nothing. */
    ms->live_objects =
        t.allocs > t.frees ? (int64_t)(t.allocs - t.frees) : 0;
    ms->live_bytes = t.alloc_bytes > t.free_bytes
                         ? (int64_t)(t.alloc_bytes - t.free_bytes)
                         : 0;
}
