/*
 * lynxprof.h - libprofile, the endpoint side of lynxprof.
 *
 * libprofile finds the processes that carry the lynxprof agent, attaches to
 * their shared-memory control blocks and asks their agents for data.  Every
 * function returns 0 or a negative code: a LYNX_E* code below or -errno;
 * lynx_strerror() gives the message of either.  Objects are owned by the
 * caller that created them and used by one thread at a time; distinct
 * objects may be used from distinct threads.  Nothing here is signal-safe.
 */
#ifndef LYNXPROF_H
#define LYNXPROF_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* X(name, value, message) */
#define LYNX_ERRNO_MAP(X)                                                      \
    X(NOTARGET, -1001, "target not running")                                   \
    X(DEAD, -1002, "target process has exited")                                \
    X(STALE, -1003, "agent is not responding (stale heartbeat)")               \
    X(BADMAGIC, -1004, "not a lynxprof control block")                         \
    X(VERSION, -1005, "incompatible agent (control block layout version)")     \
    X(BADSIZE, -1006, "control block has an invalid size or layout")           \
    X(TIMEOUT, -1007, "agent did not answer in time")                          \
    X(BUSY, -1008, "all mailbox slots are busy")                               \
    X(BADNAME, -1009, "invalid target name")                                   \
    X(AMBIGUOUS, -1010, "several targets are running; choose one with target=")\
    X(PERM, -1011, "permission denied on the target's control block (start "  \
                   "the target with LYNXPROF_GROUP=<the reader's group>)")     \
    X(PROTO, -1012, "malformed reply from the agent")                          \
    X(BADCMD, -1013, "unknown command")                                        \
    X(BADARG, -1014, "invalid command argument")                               \
    X(CONFLICT, -1015, "a CPU profile is already running")                     \
    X(NOSESSION, -1016, "profile session not found")                           \
    X(NOTREADY, -1017, "profile session not completed yet")                    \
    X(UNSUPPORTED, -1018, "not supported by this agent")                       \
    X(TOOBIG, -1019, "result too large")                                       \
    X(DAMAGED, -1020, "the saved profile session is damaged")                  \
    X(OWNER, -1021, "control block not owned by the target's user, or "       \
                    "writable by others")                                      \
    X(CPUONLY, -1022, "the target runs the CPU-only agent "                    \
                      "(libprofile-agent-cpu.so): no heap, allocs, block or "  \
                      "mutex profiles")

enum {
#define LYNX_ERR_ENUM(name, value, msg) LYNX_E##name = (value),
    LYNX_ERRNO_MAP(LYNX_ERR_ENUM)
#undef LYNX_ERR_ENUM
};

/* Message for a code returned by any lynx_ function: a LYNX_E* code or a
 * -errno value.  Returns a static string; thread-safe; never NULL. */
const char *lynx_strerror(int code);

/* Name of a LYNX_E* code ("NOTARGET"), or "ERRNO" for -errno values, or
 * "OK" for 0.  Static string; thread-safe. */
const char *lynx_err_name(int code);


#define LYNX_MEMSTATS_HAVE_ALLOC_COUNTERS 0x1u /* alloc_* fields are valid */
#define LYNX_MEMSTATS_FROM_SNAPSHOT 0x2u /* read from the snapshot the agent
                                            published, not asked for */

/* Memory statistics of the target, all in bytes unless the name says
 * otherwise; -1 means "not available". */
typedef struct lynx_memstats {
    int64_t sampled_unix_ns;       /* when the agent took them */
    int64_t uptime_ns;             /* since the process started */
    int32_t pid;
    int32_t threads;               /* /proc Threads */
    uint32_t flags;                /* LYNX_MEMSTATS_HAVE_* */
    uint32_t reserved;
    /* glibc allocator (mallinfo2) */
    int64_t heap_in_use_bytes;     /* uordblks + hblkhd */
    int64_t heap_free_bytes;       /* fordblks: free inside arenas */
    int64_t heap_arena_bytes;      /* arena: obtained by sbrk/arena mmap */
    int64_t heap_mmap_bytes;       /* hblkhd: chunks mmapped directly */
    int64_t heap_mmap_chunks;      /* hblks */
    int64_t heap_free_chunks;      /* ordblks */
    int64_t heap_releasable_bytes; /* keepcost: trimmable top of main arena */
    /* process (from /proc/self/status and /proc/self/stat) */
    int64_t resident_bytes;        /* VmRSS */
    int64_t resident_peak_bytes;   /* VmHWM */
    int64_t resident_anon_bytes;   /* RssAnon */
    int64_t resident_file_bytes;   /* RssFile */
    int64_t virtual_bytes;         /* VmSize */
    int64_t virtual_peak_bytes;    /* VmPeak */
    int64_t data_bytes;            /* VmData: data + heap + anon mappings */
    int64_t stack_bytes;           /* VmStk: main thread's stack */
    int64_t swap_bytes;            /* VmSwap */
    int64_t cpu_user_ns;           /* utime */
    int64_t cpu_system_ns;         /* stime */
    int64_t minor_faults;
    int64_t major_faults;
    int64_t open_fds;              /* entries of /proc/self/fd */
    /* exact allocation counters (heap profiler), valid with the flag */
    int64_t alloc_count;
    int64_t free_count;
    int64_t alloc_bytes_total;
    int64_t live_bytes;
    int64_t live_objects;
} lynx_memstats_t;

/* ---- targets ----------------------------------------------------------- */

#define LYNX_TARGET_NAME_MAX 64 /* bytes, NUL included */

/* An attached target. */
typedef struct lynx_target lynx_target_t;

/* What a listing knows about one control block. */
typedef struct lynx_target_info {
    char name[LYNX_TARGET_NAME_MAX];
    int32_t pid;
    int32_t status;          /* 0 alive, else why not: LYNX_EDEAD, ... */
    int64_t started_unix_ns; /* process start */
    int64_t agent_started_unix_ns; /* the agent's start: a new one after
                                      the process exec()s itself */
    char exe[256];
} lynx_target_info_t;

/* List the control blocks on this host, sorted by name, dead ones
 * included (their status says so).  Returns 0 with *out malloc'd (the
 * caller free()s it) holding *count entries, or -errno.  Thread-safe. */
int lynx_targets_list(lynx_target_info_t **out, size_t *count);

/* Attach to a target.  name: the one asked for, or NULL; then fallback
 * (a configured default) when not NULL; else the only live target.
 * Returns 0 with *out a new handle the caller owns (lynx_target_close),
 * or LYNX_EBADNAME, LYNX_ENOTARGET, LYNX_EAMBIGUOUS, LYNX_EDEAD,
 * LYNX_ESTALE, LYNX_EPERM, LYNX_EOWNER, LYNX_EBADMAGIC, LYNX_EVERSION,
 * LYNX_EBADSIZE, -errno (*out NULL).  Thread-safe; a handle is used by one
 * thread at a time. */
int lynx_target_open(const char *name, const char *fallback,
                     lynx_target_t **out);

/* Detach and free the handle; accepts NULL. */
void lynx_target_close(lynx_target_t *t);

/* The target's name: owned by t, valid until lynx_target_close(). */
const char *lynx_target_name(const lynx_target_t *t);
/* The target's pid. */
int32_t lynx_target_pid(const lynx_target_t *t);
/* When the target process started (CLOCK_REALTIME, ns since the epoch). */
int64_t lynx_target_started_unix_ns(const lynx_target_t *t);

/* Round trip through the mailbox, waiting at most timeout_ns.  Returns 0,
 * LYNX_ETIMEOUT, LYNX_EDEAD, LYNX_EBUSY or LYNX_EPROTO. */
int lynx_target_ping(lynx_target_t *t, int64_t timeout_ns);

/* The target's memory statistics into *ms (caller's storage), waiting at
 * most timeout_ns.  Returns 0 or an error as lynx_target_ping(). */
int lynx_target_memstats(lynx_target_t *t, lynx_memstats_t *ms,
                         int64_t timeout_ns);

/* The same, but statistics up to max_age_ns old will do: when the agent's
 * published snapshot is that fresh (and whole and plausible), it is copied
 * without a round trip and ms->flags has LYNX_MEMSTATS_FROM_SNAPSHOT;
 * otherwise the agent is asked as by lynx_target_memstats(), and told to
 * publish snapshots for the next 10 s (lynx_target_memstats() does not:
 * an agent nobody reads snapshots from publishes none).  A target that is
 * dead or whose agent does not beat is never served from its snapshot.
 * ms->sampled_unix_ns is always when the statistics were taken.
 * max_age_ns 0 always asks.  Returns as lynx_target_memstats().
 * Thread-safe as lynx_target_memstats(). */
int lynx_target_memstats_fresh(lynx_target_t *t, lynx_memstats_t *ms,
                               int64_t max_age_ns, int64_t timeout_ns);

/* ---- CPU profiling sessions -------------------------------------------
 *
 * A session samples one target's CPU for a given duration.  Its record
 * lives in the target's control block while it runs; once it has ended, the
 * first libprofile call that sees it "spools" it: writes its record and its
 * symbolized, gzipped pprof into the spool directory, from where it is
 * served even after the target has exited.  Any number of processes may
 * share one spool directory (it is how the FastCGI endpoints share
 * sessions); they coordinate with flock() and atomic renames.
 *
 * A lynx_cpu_t may be used by several threads at once; everything else is
 * per call.  Nothing here is async-signal-safe.  Functions return 0 or a
 * negative code (LYNX_E* or -errno; lynx_strerror() says it).  An id
 * argument may point into the session the same call fills
 * (lynx_cpu_get(c, s.id, &s) is fine). */

#define LYNX_CPU_ID_MAX 32      /* bytes of a session id, NUL included */
#define LYNX_CPU_ERROR_MAX 128  /* bytes of a failure reason, NUL incl. */
#define LYNX_CPU_ID_DIGITS 20   /* at most this many digits after "cpu_" */

/* States of a session. */
enum lynx_cpu_state {
    LYNX_CPU_RUNNING = 1,
    LYNX_CPU_COMPLETED = 2,
    LYNX_CPU_CANCELLED = 3,  /* stopped early; samples kept */
    LYNX_CPU_FAILED = 4,     /* error[] says why */
    LYNX_CPU_DAMAGED = 5,    /* spooled, but its files do not check out;
                                error[] says why */
};

/* Who asked for a session (recorded, shown in listings). */
enum lynx_cpu_origin {
    LYNX_CPU_ORIGIN_API = 1,   /* /api/v1/profiling/cpu/start */
    LYNX_CPU_ORIGIN_DEBUG = 2, /* /debug/pprof/profile */
};

/* What is known about one session, from the block or from the spool. */
typedef struct lynx_cpu_session {
    char id[LYNX_CPU_ID_MAX];        /* "cpu_<digits>" */
    char target[LYNX_TARGET_NAME_MAX];
    int32_t pid;                     /* the target process */
    int32_t state;                   /* enum lynx_cpu_state */
    int32_t origin;                  /* enum lynx_cpu_origin */
    uint32_t hz;                     /* 1..1000 */
    int64_t started_unix_ns;
    int64_t duration_ns;             /* asked for, > 0 */
    int64_t ended_unix_ns;           /* 0 while running */
    uint64_t samples;
    uint64_t lost_samples;
    int64_t data_size_bytes;         /* size of the gzipped pprof; -1 while
                                        running or when there is none */
    int spooled;                     /* 1 when read from the spool */
    int32_t spool_error;             /* finished but could not be saved:
                                        why (-ENOSPC, ...), else 0 */
    char error[LYNX_CPU_ERROR_MAX];  /* reason when FAILED or DAMAGED,
                                        else "" */
} lynx_cpu_session_t;

/* A session context: a spool directory and an agent timeout. */
typedef struct lynx_cpu lynx_cpu_t;

/* Create a context.  spool_dir: absolute path, created (mode 0750) if missing;
 * agent_timeout_ns > 0: how long a call waits for an agent's answer.
 * Returns a new context the caller owns (lynx_cpu_destroy), or NULL on a
 * bad argument or ENOMEM.  Thread-safe. */
lynx_cpu_t *lynx_cpu_create(const char *spool_dir, int64_t agent_timeout_ns);

/* Free a context; accepts NULL.  No other thread may be using it. */
void lynx_cpu_destroy(lynx_cpu_t *c);

/* The context's spool directory: owned by c, valid until
 * lynx_cpu_destroy().  Thread-safe. */
const char *lynx_cpu_spool_dir(const lynx_cpu_t *c);

/* 1 if id is "cpu_" followed by 1..20 decimal digits, else 0 (also for
 * NULL).  Thread-safe. */
int lynx_cpu_id_valid(const char *id);

/* "running", "completed", "cancelled", "failed", "damaged", or "unknown"
 * for any other value.  Static string; thread-safe. */
const char *lynx_cpu_state_name(int state);

/* Start a session of duration_ns (> 0) at hz samples per second
 * (1..1000) on the live target named `target`; origin is an enum
 * lynx_cpu_origin.  Returns 0 with *out (caller's storage) the new
 * session; LYNX_ECONFLICT when a session already runs on that target, its
 * id in out->id; LYNX_EBADARG; or an error of lynx_target_open().
 * Thread-safe. */
int lynx_cpu_start(lynx_cpu_t *c, const char *target, int64_t duration_ns,
                   uint32_t hz, uint32_t origin, lynx_cpu_session_t *out);

/* Look a session up by id, across the spool and every target.  A finished
 * session that is not saved yet is spooled on the way (that session only,
 * once; when that fails, out->spool_error says why; the endpoints that
 * answer GETs instead leave it to lynx_cpu_housekeep()); nothing else in the
 * spool is changed; a running session of a target that has died is reported
 * LYNX_CPU_FAILED ("target process exited (pid N)") and spooled with what
 * it sampled, and so is one whose agent has not answered (stale
 * heartbeat) for 5 s past its end ("target stopped responding").  A
 * spooled session whose files are damaged has state LYNX_CPU_DAMAGED.
 * Returns 0 with *out filled,
 * LYNX_EBADARG (malformed id), LYNX_ENOSESSION, or -errno.  Thread-safe. */
int lynx_cpu_get(lynx_cpu_t *c, const char *id, lynx_cpu_session_t *out);

/* Every session, running and finished, newest first; target NULL for all
 * targets, else only that target's.  Reads only: a session that has ended
 * but is not spooled yet is described from its record (failed when its
 * target died or stalled, as lynx_cpu_get() says) and left for
 * lynx_cpu_housekeep() or lynx_cpu_get() to save.  Returns 0 with *out malloc'd (the
 * caller free()s it; NULL when *count is 0 is allowed) and *count
 * entries, or -errno.  Thread-safe. */
int lynx_cpu_list(lynx_cpu_t *c, const char *target,
                  lynx_cpu_session_t **out, size_t *count);

/* End a running session early (LYNX_CPU_CANCELLED, samples kept), wait
 * for the agent to record it and spool it.  *out (caller's storage, may be
 * NULL) is the result.  Returns 0, LYNX_ENOSESSION, LYNX_ENOTREADY (not
 * running; *out then holds it), or an agent error.  Thread-safe. */
int lynx_cpu_stop(lynx_cpu_t *c, const char *id, lynx_cpu_session_t *out);

/* Wait until session `id` has ended (polling every 100 ms), at most until
 * CLOCK_MONOTONIC reaches deadline_mono_ns; *out (caller's storage) is the
 * session then.  Returns 0 when it has ended (and is spooled),
 * LYNX_ETIMEOUT while it still runs, or an error of lynx_cpu_get().
 * Thread-safe; blocks the calling thread. */
int lynx_cpu_wait(lynx_cpu_t *c, const char *id, int64_t deadline_mono_ns,
                  lynx_cpu_session_t *out);

/* Remove a finished session: its spooled files and its record in the
 * target's block.  Returns 0, LYNX_ENOSESSION, LYNX_ENOTREADY (still
 * running), or -errno.  Thread-safe. */
int lynx_cpu_delete(lynx_cpu_t *c, const char *id);

/* The gzipped pprof (profile.proto) of a finished session.  Returns 0
 * with *data malloc'd (the caller free()s it) holding *len bytes, and *out
 * (caller's storage, may be NULL) the session; LYNX_ENOSESSION;
 * LYNX_ENOTREADY (still running); -ENODATA (ended without a profile);
 * LYNX_EDAMAGED (its files do not check out); the error that kept it from
 * being saved (-ENOSPC, ...).  On error *data is NULL.  Thread-safe. */
int lynx_cpu_profile(lynx_cpu_t *c, const char *id, lynx_cpu_session_t *out,
                     uint8_t **data, size_t *len);

/* Housekeeping, safe from any number of processes at once (one does the
 * work, the others return 0 at once), and the only call that removes
 * anything from the spool but lynx_cpu_delete(): spools every finished
 * session still in a block; then, when the last cleanup by any process is at least
 * cleanup_interval_ns old (0: now), removes the sessions that ended more
 * than retention_ns ago, stale temporary files and tombstones.  Returns
 * the number of sessions spooled and removed (>= 0), or an error.
 * Thread-safe. */
int lynx_cpu_housekeep(lynx_cpu_t *c, int64_t retention_ns,
                       int64_t cleanup_interval_ns);

#ifdef __cplusplus
}
#endif

#endif
