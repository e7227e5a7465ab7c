/*
 * client/memsnap.h - reading the memory statistics snapshot an agent
 * publishes in its data object (protocol/block.h, lynx_memsnap_t).
 * Internal to lynxprof; the public entry is lynx_target_memstats_fresh().
 */
#ifndef LYNX_CLIENT_MEMSNAP_H
#define LYNX_CLIENT_MEMSNAP_H

#include <stdint.h>

#include "client/attach.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Copies read per call before giving up on a snapshot being written. */
#define LYNX_MEMSNAP_TRIES 4

/* Check a snapshot from two copies of the region read one after the other
 * (first, then second): it is used only if both are equal with an even,
 * non-zero seq, which a copy torn by the writer cannot be.  pid: the
 * target's, from the validated header; now_mono_ns and now_unix_ns: the
 * reader's clocks.  Returns 0 with *out the statistics (flags with
 * LYNX_MEMSTATS_FROM_SNAPSHOT), LYNX_EBUSY (being written: try again),
 * LYNX_ESTALE (none yet, or older than max_age_ns), LYNX_EPROTO (what no
 * agent writes: another size or pid, unknown flags, a time in the future
 * or a sampled_at that disagrees with the monotonic age).  Pure: also fed
 * by the fuzz harness. */
int lynx_memsnap_decode(const lynx_memsnap_t *first,
                        const lynx_memsnap_t *second, int32_t pid,
                        int64_t now_mono_ns, int64_t now_unix_ns,
                        int64_t max_age_ns, lynx_memstats_t *out);

/* Read b's snapshot with pread (never through the mapping) and decode it,
 * up to LYNX_MEMSNAP_TRIES times while it is being written.  Returns as
 * lynx_memsnap_decode(), or LYNX_ENOTREADY when the block has no snapshot
 * region, LYNX_EBADSIZE when the object shrank. */
int lynx_block_memsnap(const lynx_block_t *b, int64_t max_age_ns,
                       lynx_memstats_t *out);

#ifdef __cplusplus
}
#endif

#endif
