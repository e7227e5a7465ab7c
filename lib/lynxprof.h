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
    X(PERM, -1011, "permission denied on the target's control block")         \
    X(PROTO, -1012, "malformed reply from the agent")                          \
    X(BADCMD, -1013, "unknown command")                                        \
    X(BADARG, -1014, "invalid command argument")                               \
    X(CONFLICT, -1015, "a CPU profile is already running")                     \
    X(NOSESSION, -1016, "profile session not found")                           \
    X(NOTREADY, -1017, "profile session not completed yet")                    \
    X(UNSUPPORTED, -1018, "not supported by this agent")                       \
    X(TOOBIG, -1019, "result too large")                                      \
    X(OWNER, -1020, "control block not owned by the target's user, or "       \
                    "writable by others")

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
    char exe[256];
} lynx_target_info_t;

/* List the control blocks on this host, sorted by name, dead ones
 * included (their status says so).  *out is malloc'd (free() it), *count
 * entries.  0 or -errno. */
int lynx_targets_list(lynx_target_info_t **out, size_t *count);

/* Attach to a target.  name: the one asked for, or NULL; then fallback
 * (a configured default) when not NULL; else the only live target.
 * Errors: LYNX_EBADNAME, LYNX_ENOTARGET, LYNX_EAMBIGUOUS, LYNX_EDEAD,
 * LYNX_ESTALE, LYNX_EPERM, LYNX_EOWNER, LYNX_EBADMAGIC, LYNX_EVERSION,
 * LYNX_EBADSIZE. */
int lynx_target_open(const char *name, const char *fallback,
                     lynx_target_t **out);

/* Detach; accepts NULL. */
void lynx_target_close(lynx_target_t *t);

const char *lynx_target_name(const lynx_target_t *t); /* owned by t */
int32_t lynx_target_pid(const lynx_target_t *t);
int64_t lynx_target_started_unix_ns(const lynx_target_t *t);

/* Round trip through the mailbox.  0, LYNX_ETIMEOUT, LYNX_EDEAD, ... */
int lynx_target_ping(lynx_target_t *t, int64_t timeout_ns);

/* The target's memory statistics.  0 or an error as above. */
int lynx_target_memstats(lynx_target_t *t, lynx_memstats_t *ms,
                         int64_t timeout_ns);

#ifdef __cplusplus
}
#endif

#endif
