/*
 * client/profiles.h - the registry of the non-CPU profile kinds (heap,
 * allocs, goroutine, block, mutex, threadcreate): how each one is fetched
 * from a target and turned into a pprof builder.  The pprof endpoints, the
 * flame-graph endpoint and the /debug/pprof/ index all go through it, so a
 * kind is written once.
 */
#ifndef LYNX_CLIENT_PROFILES_H
#define LYNX_CLIENT_PROFILES_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/block_threads.h"
#include "client/pprof.h"
#include "lynxprof.h"

/* What a request asks of a profile. */
typedef struct lynx_profile_req {
    int64_t seconds;    /* > 0: a delta between two snapshots this far
                           apart (kinds that keep cumulative counts) */
    int gc;             /* heap: give free memory back first (malloc_trim) */
    int64_t timeout_ns; /* how long to wait for the agent per command */
    int running_only;   /* goroutine: do not signal threads blocked in the
                           kernel (LYNX_DUMP_RUNNING_ONLY) */
} lynx_profile_req_t;

/* Fill p (fresh, empty) with the kind's sample types, samples and
 * modules.  Returns 0 or a negative lynx/errno code with a message in msg.
 * Not thread-safe; runs in an endpoint process. */
typedef int (*lynx_profile_build_cb)(lynx_target_t *t,
                                     const lynx_profile_req_t *req,
                                     lynx_pprof_t *p, char *msg,
                                     size_t msg_size);

/* The number shown in the /debug/pprof/ index (live objects, threads,
 * contention events, ...), or a negative code. */
typedef int (*lynx_profile_count_cb)(lynx_target_t *t, int64_t timeout_ns,
                                     int64_t *count);

/* Go's ?debug=1 text for this kind (NULL: the generic text of
 * lynx_pprof_debug_text).  *out is malloc'd. */
typedef int (*lynx_profile_text_cb)(lynx_pprof_t *p, lynx_symbolizer_t *sym,
                                    char **out, size_t *out_len);

typedef struct lynx_profile_kind {
    const char *name;             /* "heap", "allocs", ... */
    const char *description;      /* one sentence for the index */
    const char *default_type;     /* default sample type, e.g. inuse_space */
    lynx_profile_build_cb build;
    lynx_profile_count_cb count;  /* may be NULL */
    lynx_profile_text_cb text;    /* may be NULL */
} lynx_profile_kind_t;

/* The kind of that name, or NULL.  Thread-safe. */
const lynx_profile_kind_t *lynx_profile_kind(const char *name);

/* The kinds this build has, in index order; *count entries.  Static. */
const lynx_profile_kind_t *const *lynx_profile_kinds(size_t *count);

/* Each kind is defined in the file that implements it and listed in the
 * table in client/profiles.c. */
extern const lynx_profile_kind_t lynx_profile_heap;
extern const lynx_profile_kind_t lynx_profile_allocs;
extern const lynx_profile_kind_t lynx_profile_goroutine;
extern const lynx_profile_kind_t lynx_profile_block;
extern const lynx_profile_kind_t lynx_profile_mutex;
extern const lynx_profile_kind_t lynx_profile_threadcreate;

/* ---- decoding what the agent sent ----------------------------------------
 * The pure steps between a command's answer and the builder, without I/O,
 * so that tests and the fuzz harnesses (tests/fuzz) feed them any bytes.
 * The agent is untrusted: every length, count and depth is checked here. */

/* Check the bulk of a heap snapshot (LYNX_CMD_HEAP_SNAPSHOT: nrecords
 * packed lynx_heap_record_t, each followed by its pcs) and, when p is not
 * NULL, add its records to p, whose sample types are Go's four heap types
 * (earlier != 0: the earlier snapshot of a delta, subtracted from the
 * alloc types).  0, LYNX_EPROTO, -ENOMEM. */
int lynx_heap_table_add(lynx_pprof_t *p, const void *bulk, size_t bulk_len,
                        uint32_t nrecords, int earlier);

/* Check a lock answer (LYNX_CMD_LOCKS) in place: bulk_len must be a whole
 * number of lynx_lock_rec_t, as many as rep->nrecords; depths above the
 * maximum become 0 (the record is then left out).  The count into *n.
 * 0 or LYNX_EPROTO. */
int lynx_locks_decode(const lynx_locks_reply_t *rep, void *bulk,
                      size_t bulk_len, size_t *n);

/* Add decoded lock records to p (sample types contentions and delay):
 * records with equal stacks are merged, and with before != NULL (the
 * earlier copy of a delta) the earlier counts are subtracted.  Sorts both
 * arrays in place.  0 or a lynx_pprof_add_sample() error. */
int lynx_locks_add(lynx_pprof_t *p, lynx_lock_rec_t *recs, size_t n,
                   lynx_lock_rec_t *before, size_t nbefore);

/* Check a thread-creation answer (LYNX_CMD_THREADCREATE): bulk_len a whole
 * number of lynx_threadcreate_rec_t, as many as rep->nrecords.  Then, when
 * p is not NULL, add records skip.. to p (sample type threadcreate),
 * leaving out depths of 0 or above the maximum.  0, LYNX_EPROTO, or a
 * lynx_pprof_add_sample() error. */
int lynx_threadcreate_add(lynx_pprof_t *p,
                          const lynx_threadcreate_reply_t *rep,
                          const void *bulk, size_t bulk_len, size_t skip);

#endif
