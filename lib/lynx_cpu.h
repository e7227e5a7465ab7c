/*
 * lynx_cpu.h - CPU profiling sessions, endpoint side (libprofile).
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
#ifndef LYNX_CPU_H
#define LYNX_CPU_H

#include <stddef.h>
#include <stdint.h>

#include "lynx_block_io.h"
#include "lynxprof.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LYNX_CPU_ID_MAX 32      /* bytes of a session id, NUL included */
#define LYNX_CPU_ERROR_MAX 128  /* bytes of a failure reason, NUL incl. */
#define LYNX_CPU_ID_DIGITS 20   /* at most this many digits after "cpu_" */

/* States, the same values as enum lynx_session_state; DAMAGED only for a
 * spooled session whose files do not check out (the reason in error). */
enum lynx_cpu_state {
    LYNX_CPU_RUNNING = 1,
    LYNX_CPU_COMPLETED = 2,
    LYNX_CPU_CANCELLED = 3,
    LYNX_CPU_FAILED = 4,
    LYNX_CPU_DAMAGED = 5,
};

/* What is known about one session, from the block or from the spool. */
typedef struct lynx_cpu_session {
    char id[LYNX_CPU_ID_MAX];        /* "cpu_<digits>" */
    char target[LYNX_TARGET_NAME_MAX];
    int32_t pid;                     /* the target process */
    int32_t state;                   /* enum lynx_cpu_state */
    int32_t origin;                  /* enum lynx_session_origin */
    uint32_t hz;                     /* 1..1000 */
    int64_t started_unix_ns;
    int64_t duration_ns;             /* asked for, > 0 */
    int64_t ended_unix_ns;           /* 0 while running */
    uint64_t samples;
    uint64_t lost_samples;
    int64_t data_size_bytes;         /* size of <id>.pb.gz; -1 while running
                                        or when there is no profile */
    int spooled;                     /* 1 when read from the spool */
    int32_t spool_error;             /* finished but could not be saved:
                                        why (-ENOSPC, ...), else 0 */
    char error[LYNX_CPU_ERROR_MAX];  /* reason when FAILED or DAMAGED */
} lynx_cpu_session_t;

typedef struct lynx_cpu lynx_cpu_t;

/* A context for sessions: the spool directory (absolute, created if
 * missing) and how long to wait for an agent.  NULL on ENOMEM or a bad
 * argument.  Caller owns it.  Thread-safe to use (see above). */
lynx_cpu_t *lynx_cpu_create(const char *spool_dir, int64_t agent_timeout_ns);
/* Free; accepts NULL. */
void lynx_cpu_destroy(lynx_cpu_t *c);
const char *lynx_cpu_spool_dir(const lynx_cpu_t *c);

/* 1 if id is "cpu_" followed by 1..20 decimal digits, else 0. */
int lynx_cpu_id_valid(const char *id);

/* "running", "completed", "cancelled", "failed", "damaged" or "unknown". */
const char *lynx_cpu_state_name(int state);

/* Start a session on live target `target` (a name).  On success *out is
 * the new session.  When one already runs: LYNX_ECONFLICT with its id in
 * out->id.  The agent's LYNX_ENOTREADY (the table still holds a finished
 * session) is handled by spooling that session and retrying once.  Other
 * errors: those of lynx_block_attach and lynx_mailbox_call, LYNX_EPROTO. */
int lynx_cpu_start(lynx_cpu_t *c, const char *target, int64_t duration_ns,
                   uint32_t hz, uint32_t origin, lynx_cpu_session_t *out);

/* Look a session up by id across all targets: the spool first, then the
 * blocks.  A finished session found in a block is spooled on the way
 * (when that fails, out->spool_error says why); a RUNNING session of a
 * process that has died is reported FAILED ("target process exited (pid
 * N)") and spooled with what it sampled, and so is one whose agent has not
 * answered (stale heartbeat) for 5 s past its end ("target stopped
 * responding").  A spooled session whose files are damaged is found with
 * state LYNX_CPU_DAMAGED.
 * LYNX_EBADARG (malformed id), LYNX_ENOSESSION, or an I/O error. */
int lynx_cpu_get(lynx_cpu_t *c, const char *id, lynx_cpu_session_t *out);

/* Every session (spooled and running), newest first; target NULL for all
 * targets.  *out is malloc'd (free() it), *count entries. */
int lynx_cpu_list(lynx_cpu_t *c, const char *target,
                  lynx_cpu_session_t **out, size_t *count);

/* End a running session early (CANCELLED, samples kept), wait for the
 * agent to record it and spool it; *out is the result when not NULL.
 * LYNX_ENOSESSION, LYNX_ENOTREADY (not running; *out then holds it). */
int lynx_cpu_stop(lynx_cpu_t *c, const char *id, lynx_cpu_session_t *out);

/* Wait until session `id` has ended (polling its record every 100 ms),
 * at most until CLOCK_MONOTONIC reaches deadline_mono_ns; *out is the
 * session then.  0 when it has ended (and is spooled), LYNX_ETIMEOUT when
 * it still runs, or an error of lynx_cpu_get. */
int lynx_cpu_wait(lynx_cpu_t *c, const char *id, int64_t deadline_mono_ns,
                  lynx_cpu_session_t *out);

/* Remove a finished session: its files, and its record from the block.
 * LYNX_ENOSESSION, LYNX_ENOTREADY (still running). */
int lynx_cpu_delete(lynx_cpu_t *c, const char *id);

/* The gzipped pprof of a finished session: *data malloc'd (caller frees),
 * *len bytes; *out (when not NULL) the session.  LYNX_ENOSESSION,
 * LYNX_ENOTREADY (running), -ENODATA (finished without a profile),
 * LYNX_EDAMAGED (its files do not check out), the error that kept it from
 * being saved (-ENOSPC, ...). */
int lynx_cpu_profile(lynx_cpu_t *c, const char *id, lynx_cpu_session_t *out,
                     uint8_t **data, size_t *len);

/* The profile of a finished session as flame JSON (lynx_pprof_flame_json's
 * document; *json is a new json-c object, put it) or, when json is NULL,
 * as folded text (*text malloc'd, *text_len bytes).  Errors as
 * lynx_cpu_profile. */
struct json_object;
int lynx_cpu_flame(lynx_cpu_t *c, const char *id, lynx_cpu_session_t *out,
                   struct json_object **json, char **text, size_t *text_len);

/* Housekeeping, safe to call from any number of processes at once (one
 * does the work, the others return 0 at once: .housekeep.lock): spools
 * every finished session still in a block (and the RUNNING ones of dead
 * targets); then, when the last cleanup by any process is at least
 * cleanup_interval_ns old (0: now), removes the sessions that ended more
 * than retention_ns ago (files and block records), stale temporary files
 * and tombstones no block needs.  Returns the number of sessions spooled
 * and removed, or an error. */
int lynx_cpu_housekeep(lynx_cpu_t *c, int64_t retention_ns,
                       int64_t cleanup_interval_ns);

/* ---- lower level, for the implementation and its tests ---------------- */

/* Copy one record consistently (seqlock: retry while gen is odd or
 * changes, at most ~100 ms) and validate every field.  0; LYNX_ENOSESSION
 * (a FREE record); LYNX_EPROTO (invalid content); LYNX_EBUSY (never
 * stable).  Thread-safe. */
int lynx_cpu_record_read(const lynx_session_t *shared, lynx_session_t *out);

/* Validate a copied record: 0, LYNX_ENOSESSION (FREE) or LYNX_EPROTO. */
int lynx_cpu_record_check(const lynx_session_t *s);

/* Spool record `index` of attached block b (whatever its state: a RUNNING
 * record of a dead target is spooled as FAILED).  0 if spooled now or
 * already; LYNX_ENOTREADY if it runs; errors of the file system. */
int lynx_cpu_spool_record(lynx_cpu_t *c, lynx_block_t *b, uint32_t index);

#ifdef __cplusplus
}
#endif

#endif
