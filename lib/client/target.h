/*
 * client/target.h - the one way into a target, endpoint side (libprofile
 * internal; the public part is lynxprof.h's lynx_target_t).
 *
 * A handle (lynx_target_t) is an attached control block lent by
 * client/target.c's cache: opened once per endpoint process, validated at
 * attach, checked with fstat (same file, same size, no truncation caught)
 * at every reuse.  Everything the client library fetches from a target
 * goes through a handle:
 *   call     a mailbox command with its inline reply and bulk answer;
 *   modules  the module snapshot, copied once out of the block and
 *            validated record by record;
 *   foreach  every target on the host, with the filters of the listing
 *            (lynx_block_list: owner first, then the cap).
 * Nothing else maps a block, walks /dev/shm or reads a modules region.
 *
 * The agent is untrusted: each length it writes is read once into a local
 * that serves the check, the allocation and the copy; the geometry
 * validated at attach is kept in the handle's private memory.
 *
 * Thread-safety: the cache is shared by every thread of the process
 * (mutex); a handle is used by one thread at a time.  Nothing here is
 * async-signal-safe.  Functions return 0 or a negative code (LYNX_E* or
 * -errno, see lynxprof.h).
 */
#ifndef LYNX_CLIENT_TARGET_H
#define LYNX_CLIENT_TARGET_H

#include <stddef.h>
#include <stdint.h>

#include "client/attach.h"
#include "client/symbolize.h"
#include "protocol/module.h"
#include "lynxprof.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Attach to target `name` through the cache, with LYNX_ATTACH_* flags
 * (LYNX_ATTACH_ALLOW_DEAD: a dead target's block, for its records; calls
 * to it fail with LYNX_EDEAD).  No default and no choosing, unlike
 * lynx_target_open().  *out is the caller's (lynx_target_close).  Errors
 * of lynx_block_attach(). */
int lynx_target_attach(const char *name, unsigned flags,
                       lynx_target_t **out);

/* The attached block of a handle, owned by the handle: for reading the
 * block's own regions (sessions, CPU table), never to be detached. */
lynx_block_t *lynx_target_block(lynx_target_t *t);

/*
 * Send `cmd` and check the answer's shape: the inline reply must be exactly
 * reply_len bytes, the bulk (when bulk != NULL) a whole number of rec_size
 * records, their count into *nrecs.  *bulk is malloc'd (caller frees; NULL
 * when empty).  Returns 0; the agent's own non-zero result (the reply is
 * then kept as the agent wrote it, or zeroed when it was not exactly
 * reply_len bytes; no bulk is kept); LYNX_EPROTO; or an error of
 * lynx_mailbox_call().  The agent's message (if any) is copied into msg
 * (may be NULL).
 */
int lynx_target_call(lynx_target_t *t, uint32_t cmd, const void *arg,
                     size_t arg_len, void *reply, size_t reply_len,
                     void **bulk, size_t rec_size, size_t *nrecs,
                     int64_t timeout_ns, char *msg, size_t msg_size);

/* Copy the module snapshot: the region is read once with pread() under
 * its seqlock (if the writer never lets go, as a target that died while
 * writing, the last copy is used), then decoded from the private copy
 * (lynx_modules_decode).  *mods is malloc'd (caller frees; NULL when the
 * block has none), *nmods entries.  0, LYNX_EBADSIZE, -ENOMEM. */
int lynx_target_modules(lynx_target_t *t, lynx_module_t **mods,
                        size_t *nmods);

/* The pure step of lynx_target_modules(), for tests and fuzzing: read a
 * modules region (size_bytes bytes at region; each shared field is read
 * once): its capacity must fit the region and LYNX_MAX_MODULES; copy
 * min(nmodules, capacity, out_cap) records into out and keep the valid
 * ones (limit > start, build ID length in bounds, NUL-terminated path), in
 * order; their count into *nmods.  0 or LYNX_EBADSIZE. */
int lynx_modules_decode(const void *region, size_t size_bytes,
                        lynx_module_t *out, size_t out_cap, size_t *nmods);

/* Which targets lynx_target_foreach() visits. */
typedef enum lynx_visit {
    LYNX_VISIT_LIVE = 0,     /* agent beating: t set, status 0 */
    LYNX_VISIT_ATTACHED = 1, /* also dead and stale targets' blocks:
                                t set, status LYNX_EDEAD or LYNX_ESTALE */
    LYNX_VISIT_ALL = 2       /* also names that cannot be attached: t
                                NULL, status why (LYNX_EPERM, ...) */
} lynx_visit_t;

/* Called for each target: its name (owned by the walk), its handle (lent
 * for the call only: not to be closed or kept) and its status.  Return 0
 * to go on; anything else ends the walk and is returned by it. */
typedef int (*lynx_target_visit_cb)(lynx_target_t *t, const char *name,
                                    int status, void *ctx);

/* Visit the targets of this host, sorted by name, that `which` lets
 * through, every one through the cache.  The names are those of
 * lynx_block_list(), at most LYNX_TARGETS_MAX.  Returns 0, the first
 * non-zero value of visit, or -errno when /dev/shm cannot be listed. */
#define LYNX_TARGETS_MAX 256
int lynx_target_foreach(lynx_visit_t which, lynx_target_visit_cb visit,
                        void *ctx);

/* The process's symbolizer (created at first use, kept: modules stay
 * cached across requests), bound to a fresh view of t's process (see
 * client/modfile.h) so that only the files t maps are read.  The binding
 * lasts until the next call.  NULL on ENOMEM (then nothing is
 * symbolized).  Not thread-safe. */
lynx_symbolizer_t *lynx_target_symbolizer(lynx_target_t *t);

#ifdef __cplusplus
}
#endif

#endif
