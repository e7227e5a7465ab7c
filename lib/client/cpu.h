/*
 * client/cpu.h - CPU profiling sessions, endpoint side (libprofile).
 *
 * A session lives in two places.  While it runs, its record is in the
 * target's control block (lynx_session_t, written by the agent under a
 * seqlock) and its samples in the block's CPU table.  Once it has ended,
 * an endpoint process "spools" it: copies the table and the module snapshot
 * out of the block, builds the symbolized, gzipped pprof and writes it with
 * the session's final record into the spool directory, then tells the
 * agent (LYNX_CMD_CPU_SPOOLED, LYNX_CMD_CPU_FORGET) so the table is free for
 * the next session.  From then on the spool directory is the only truth: a
 * finished session outlives its target and is served from files.
 *
 * Spool directory (one flat directory, files named after the session id):
 *   <id>.json    the final record (written last: its presence means
 *                "spooled"; see lynx_cpu_session_t for the fields)
 *   <id>.pb.gz   the gzipped pprof (absent when the session has no data)
 *   <id>.stacks  the raw stacks and modules, to rebuild flame graphs
 *   <id>.gone    tombstone of a removed session whose record is still in a
 *                dead target's block (so it does not come back)
 *   .spool.lock, .housekeep.lock, .cleanup-stamp   flock files and stamp
 * Every file is written to a temporary name and renamed into place, so a
 * reader sees a whole file or none; spooling takes .spool.lock (flock), so
 * two processes spooling the same session do the work once.
 *
 * Thread-safety: a lynx_cpu_t may be used by several threads at once (its
 * symbolizer is behind a mutex); everything else is per call.  Processes
 * share nothing but the block and the spool directory.  Nothing here is
 * async-signal-safe.  Functions return 0 or a negative code (LYNX_E* or
 * -errno, see lynxprof.h).  An id argument may point into the session
 * that the same call fills (lynx_cpu_get(c, s.id, &s) is fine).
 */
#ifndef LYNX_CLIENT_CPU_H
#define LYNX_CLIENT_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "client/target.h"
#include "lynxprof.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The public part of this API (lynx_cpu_t, lynx_cpu_session_t and the
 * functions libprofile exports) is declared in lynxprof.h. */

_Static_assert((int)LYNX_CPU_ORIGIN_API == (int)LYNX_ORIGIN_API &&
                   (int)LYNX_CPU_ORIGIN_DEBUG == (int)LYNX_ORIGIN_DEBUG,
               "public origins are the block's");
_Static_assert((int)LYNX_CPU_RUNNING == (int)LYNX_SESSION_RUNNING &&
                   (int)LYNX_CPU_COMPLETED == (int)LYNX_SESSION_COMPLETED &&
                   (int)LYNX_CPU_CANCELLED == (int)LYNX_SESSION_CANCELLED &&
                   (int)LYNX_CPU_FAILED == (int)LYNX_SESSION_FAILED,
               "public states are the block's");

/* The profile of a finished session as flame JSON
 * (lynx_pprof_flame_json_focus's document, with its labels and the
 * samples of tagfocus only, "key=value" or NULL for all; *json is a new
 * json-c object, put it) or, when json is NULL, as folded text (*text
 * malloc'd, *text_len bytes; tagfocus ignored).  Errors as
 * lynx_cpu_profile, and -EINVAL for a malformed tagfocus.  Not exported:
 * its result is a json-c object, which would tie the public API to
 * json-c; the endpoints link it statically. */
struct json_object;
int lynx_cpu_flame(lynx_cpu_t *c, const char *id, const char *tagfocus,
                   lynx_cpu_session_t *out, struct json_object **json,
                   char **text, size_t *text_len);

/* Make c a reader, as the endpoints that answer GETs are: a lookup
 * (lynx_cpu_get, lynx_cpu_profile, lynx_cpu_flame) never writes the
 * spool.  A session that has ended but is not saved yet is left for the
 * housekeeper (lynx_cpu_housekeep, in another process): the lookup waits
 * for it at most save_wait_ns, then describes the session from its record
 * with spool_error saying why it is not saved, as far as a look can tell
 * (-ENOSPC for a full spool, ...) or else -EAGAIN ("not saved yet"); the
 * profile calls return that error.  Call once, before c is shared. */
void lynx_cpu_set_reader(lynx_cpu_t *c, int64_t save_wait_ns);

/* A label (key, value) on every sample of the profiles this context
 * spools from now on (lynx_pprof_set_common_label), e.g. ("host", name);
 * an empty key: none (the default).  Strings are copied.  0, or -EINVAL
 * (a key of 32 bytes or more, a value of 256 or more).  Call it before the
 * context is used by other threads. */
int lynx_cpu_set_common_label(lynx_cpu_t *c, const char *key,
                              const char *value);

/* ---- lower level, for the implementation and its tests ---------------- */

/* Copy one record consistently (seqlock: retry while gen is odd or
 * changes, at most ~100 ms) and validate every field.  0; LYNX_ENOSESSION
 * (a FREE record); LYNX_EPROTO (invalid content); LYNX_EBUSY (never
 * stable).  Thread-safe. */
int lynx_cpu_record_read(const lynx_session_t *shared, lynx_session_t *out);

/* Validate a copied record: 0, LYNX_ENOSESSION (FREE) or LYNX_EPROTO. */
int lynx_cpu_record_check(const lynx_session_t *s);

/* Spool record `index` of target t (whatever its state: a RUNNING
 * record of a dead target is spooled as FAILED).  0 if spooled now or
 * already; LYNX_ENOTREADY if it runs; errors of the file system. */
int lynx_cpu_spool_record(lynx_cpu_t *c, lynx_target_t *t, uint32_t index);

#ifdef __cplusplus
}
#endif

#endif
