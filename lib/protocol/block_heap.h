/*
 * protocol/block_heap.h - the heap profile's command payloads in the control
 * block (LYNX_CMD_HEAP_SNAPSHOT), shared by the agent (agent/heap_cmd.c)
 * and the endpoint side (client/heap_profile.c).
 *
 * The agent answers a snapshot with a lynx_heap_snapshot_reply_t inline and
 * the aggregated table in the slot's bulk area: `nrecords` variable-length
 * records, each a lynx_heap_record_t followed by `depth` program counters
 * (uint64_t), records packed one after the other (every record is a
 * multiple of 8 bytes).  Everything the endpoint reads here is untrusted:
 * it checks each depth against LYNX_HEAP_MAX_DEPTH and the bulk length,
 * and each estimate for being finite and >= 0.
 */
#ifndef LYNX_PROTOCOL_BLOCK_HEAP_H
#define LYNX_PROTOCOL_BLOCK_HEAP_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/block.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LYNX_HEAP_MAX_DEPTH 64          /* frames kept per sampled stack */
#define LYNX_HEAP_RATE_DEFAULT 524288u  /* mean bytes between samples */
#define LYNX_HEAP_SAMPLE_LIMIT_DEFAULT 1000u /* samples a second a thread */

#define LYNX_HEAP_GC 0x1u               /* arg flag: malloc_trim(0) first */

typedef struct lynx_heap_snapshot_arg {
    uint32_t flags;                     /* LYNX_HEAP_* */
    uint32_t reserved;                  /* 0 */
} lynx_heap_snapshot_arg_t;

#define LYNX_HEAP_SNAP_TRUNCATED 0x1u   /* bulk area too small: records
                                           missing at the end */

/* Exact counters of the malloc family since the agent was loaded.  Bytes
 * are usable sizes (malloc_usable_size), so live = allocated - freed. */
typedef struct lynx_heap_totals {
    uint64_t allocs;                    /* successful allocations */
    uint64_t frees;                     /* free() of a non-NULL pointer,
                                           and realloc's release */
    uint64_t alloc_bytes;
    uint64_t free_bytes;
} lynx_heap_totals_t;

typedef struct lynx_heap_snapshot_reply {
    uint64_t rate_bytes;                /* LYNXPROF_HEAP_RATE; 0 = off */
    uint32_t nrecords;                  /* records in the bulk area */
    uint32_t flags;                     /* LYNX_HEAP_SNAP_* */
    int64_t taken_unix_ns;              /* CLOCK_REALTIME of the copy */
    uint64_t samples;                   /* sampled allocations, total */
    uint64_t live_samples;              /* sampled and not freed yet */
    uint64_t untracked_samples;         /* live table full: counted in
                                           alloc_*, never in inuse_* */
    uint64_t overflow_samples;          /* stack table full: recorded
                                           under the empty stack */
    uint64_t paced_samples;             /* taken while their thread's mean
                                           interval was raised above
                                           rate_bytes (it sampled more
                                           than sample_limit a second) */
    uint32_t sample_limit;              /* LYNXPROF_HEAP_SAMPLE_LIMIT:
                                           samples a second a thread;
                                           0 = no limit */
    uint32_t reserved;                  /* 0 */
    uint32_t stacks_capacity;           /* distinct stacks the agent keeps */
    uint32_t live_capacity;             /* live sampled pointers it keeps;
                                           UINT32_MAX: no limit (the
                                           blocks carry their samples) */
    lynx_heap_totals_t totals;
} lynx_heap_snapshot_reply_t;

/* One stack and what was allocated from it.  The estimates are sums of
 * per-sample weights 1/(1-exp(-size/rate)) (1 when rate is 1), the raw
 * fields plain sums over the samples. */
typedef struct lynx_heap_record {
    double alloc_objects;               /* estimated allocations */
    double alloc_bytes;                 /* estimated bytes allocated */
    double inuse_objects;               /* estimated live objects */
    double inuse_bytes;                 /* estimated live bytes */
    uint64_t alloc_samples;             /* sampled allocations */
    uint64_t alloc_sampled_bytes;       /* their requested bytes */
    uint64_t inuse_samples;             /* of which still live */
    uint64_t inuse_sampled_bytes;
    uint32_t depth;                     /* pcs following, 0..MAX_DEPTH */
    uint32_t flags;                     /* LYNX_STACK_TRUNCATED,
                                           LYNX_STACK_LABELS_CUT */
    lynx_sample_labels_t labels;        /* the allocating thread's name and
                                           request labels (tid 0: a heap
                                           profile spans the process's
                                           life, ended threads' ids would
                                           only split it); since version 3 */
    /* uint64_t pcs[depth]: return addresses, the caller of the
       allocation function first */
} lynx_heap_record_t;

_Static_assert(sizeof(lynx_heap_record_t) == 72 + 280, "lynx_heap_record_t");
_Static_assert(offsetof(lynx_heap_record_t, labels) == 72, "heap labels");

#ifdef __cplusplus
}
#endif

#endif
