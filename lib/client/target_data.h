/*
 * client/target_data.h - what the non-CPU profiles fetch from a target:
 * commands with bulk answers, the module snapshot, one symbolizer per
 * endpoint process.  Endpoint side; not thread-safe (one request at a
 * time per process, as the endpoints run).
 */
#ifndef LYNX_CLIENT_TARGET_DATA_H
#define LYNX_CLIENT_TARGET_DATA_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/module.h"
#include "client/symbolize.h"
#include "lynxprof.h"

/*
 * Send `cmd` and check the answer's shape: the inline reply must be exactly
 * reply_len bytes, the bulk (when bulk != NULL) a whole number of rec_size
 * records, their count into *nrecs.  *bulk is malloc'd (caller frees; NULL
 * when empty).  Returns 0 or a negative code; the agent's message (if any)
 * is copied into msg.
 */
int lynx_target_call(lynx_target_t *t, uint32_t cmd, const void *arg,
                     size_t arg_len, void *reply, size_t reply_len,
                     void **bulk, size_t rec_size, size_t *nrecs,
                     int64_t timeout_ns, char *msg, size_t msg_size);

/* Copy the module snapshot (seqlock; invalid records dropped).  *mods is
 * malloc'd (caller frees), *nmods entries.  0, LYNX_EBADSIZE, -ENOMEM. */
int lynx_target_modules(lynx_target_t *t, lynx_module_t **mods,
                        size_t *nmods);

/* The same from an attached block (the seqlock copy: if the writer never
 * lets go, as a target that died while writing, the last copy is used;
 * its records are checked one by one anyway). */
struct lynx_block;
int lynx_block_modules(const struct lynx_block *b, lynx_module_t **mods,
                       size_t *nmods);

/* The pure step of lynx_target_modules(), for tests and fuzzing: read a
 * modules region (size_bytes bytes at region; a copy or the live mapping,
 * each shared field is read once): its capacity must fit the region and
 * LYNX_MAX_MODULES; copy min(nmodules, capacity, out_cap) records into out
 * and keep the valid ones (limit > start, build ID length in bounds,
 * NUL-terminated path), in order; their count into *nmods.  0 or
 * LYNX_EBADSIZE. */
int lynx_modules_decode(const void *region, size_t size_bytes,
                        lynx_module_t *out, size_t out_cap, size_t *nmods);

/* The process's symbolizer (created at first use, kept: modules stay
 * cached across requests), bound to a fresh view of t's process (see
 * client/modfile.h) so that only the files t maps are read.  The binding
 * lasts until the next call.  NULL on ENOMEM (then nothing is
 * symbolized). */
lynx_symbolizer_t *lynx_target_symbolizer(lynx_target_t *t);

#endif
