/*
 * protocol/block_threads.h - payloads of the thread, lock and thread-creation
 * commands (LYNX_CMD_THREAD_DUMP, LYNX_CMD_LOCKS, LYNX_CMD_THREADCREATE),
 * shared by the agent and the endpoints.
 *
 * Inline replies carry the counts; the records go into the slot's bulk
 * area as arrays of fixed-size records.  The endpoint treats all of it as
 * untrusted: it checks bulk_len == n * sizeof(record), depth bounds and
 * string termination before use.
 */
#ifndef LYNX_PROTOCOL_BLOCK_THREADS_H
#define LYNX_PROTOCOL_BLOCK_THREADS_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/block.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LYNX_STACK_MAX_DEPTH LYNX_CPU_MAX_DEPTH /* frames per record */

/* ---- thread dump ------------------------------------------------------- */

#define LYNX_DUMP_TIMEOUT_DEFAULT_MS 100u
#define LYNX_DUMP_TIMEOUT_MAX_MS 2000u
#define LYNX_DUMP_MAX_THREADS 4096u /* records in one dump, at most */

typedef struct lynx_thread_dump_arg {
    uint32_t timeout_ms;   /* per dump: 1..LYNX_DUMP_TIMEOUT_MAX_MS,
                              0 = LYNX_DUMP_TIMEOUT_DEFAULT_MS */
    uint32_t flags;        /* LYNX_DUMP_*; the agent refuses others */
} lynx_thread_dump_arg_t;

/* Signal only the threads that are not blocked in the kernel: a thread
 * whose /proc state is 'S' or 'D' when the agent looks is not sent
 * SIGPROF (which would make nanosleep, poll, epoll_wait, select,
 * sem_timedwait... return EINTR); its record has status
 * LYNX_THREAD_BLOCKED, its state and wchan, and no stack. */
#define LYNX_DUMP_RUNNING_ONLY 0x1u
#define LYNX_DUMP_FLAGS_KNOWN LYNX_DUMP_RUNNING_ONLY

/* lynx_thread_rec_t.status */
enum lynx_thread_status {
    LYNX_THREAD_OK = 0,         /* stack captured */
    LYNX_THREAD_NO_ANSWER = 1,  /* did not answer within the timeout */
    LYNX_THREAD_GONE = 2,       /* ended before it could answer */
    LYNX_THREAD_SKIPPED = 3,    /* more threads than the agent can ask */
    LYNX_THREAD_BLOCKED = 4,    /* blocked in the kernel, not signalled
                                   (LYNX_DUMP_RUNNING_ONLY): wchan, no
                                   stack */
};

#define LYNX_THREAD_WCHAN_MAX 64 /* wchan, NUL included */

typedef struct lynx_thread_rec {
    int32_t tid;
    uint32_t status;                 /* enum lynx_thread_status */
    uint32_t flags;                  /* LYNX_STACK_*; LYNX_THREAD_AGENT */
    uint32_t depth;                  /* 0..LYNX_STACK_MAX_DEPTH */
    char state;                      /* /proc state letter, '?' unknown */
    char reserved[7];
    char name[LYNX_THREAD_NAME_MAX]; /* comm, NUL-terminated */
    lynx_sample_labels_t labels;     /* LYNX_THREAD_OK: the request labels
                                        the thread had pushed when it
                                        answered (its tid and name are
                                        the fields above); since
                                        version 3 */
    union {
        uint64_t pcs[LYNX_STACK_MAX_DEPTH]; /* leaf first; pcs[0] is the
                                               interrupted instruction */
        char wchan[LYNX_THREAD_WCHAN_MAX];  /* LYNX_THREAD_BLOCKED: the
                                               kernel function it waits
                                               in, NUL-terminated, "" if
                                               unknown */
    };
} lynx_thread_rec_t;

_Static_assert(LYNX_THREAD_WCHAN_MAX <= LYNX_STACK_MAX_DEPTH * 8,
               "wchan fits in the stack's room");
_Static_assert(offsetof(lynx_thread_rec_t, labels) == 40,
               "thread rec labels");
_Static_assert(sizeof(lynx_thread_rec_t) == 40 + 280 + 8 * LYNX_STACK_MAX_DEPTH,
               "lynx_thread_rec_t");

#define LYNX_THREAD_AGENT 0x100u     /* the agent's own thread */

typedef struct lynx_thread_dump_reply {
    uint32_t nthreads;      /* records in the bulk area */
    uint32_t nanswered;     /* status LYNX_THREAD_OK */
    uint32_t nmissing;      /* NO_ANSWER + SKIPPED */
    uint32_t timeout_ms;    /* the timeout applied */
    int64_t taken_unix_ns;  /* when the signals were sent */
    int64_t elapsed_ns;     /* from the first signal to the last answer */
} lynx_thread_dump_reply_t;

/* ---- lock contention ----------------------------------------------------- */

enum lynx_lock_kind {
    LYNX_LOCKS_BLOCK = 1,   /* waits: waiter's stack */
    LYNX_LOCKS_MUTEX = 2,   /* contention: the releasing holder's stack */
};

#define LYNX_LOCKS_SUMMARY 0x1u /* counts only, no records */
#define LYNX_LOCKS_MAX_RECORDS 4096u /* distinct stacks per kind */

typedef struct lynx_locks_arg {
    uint32_t kind;          /* enum lynx_lock_kind */
    uint32_t flags;         /* LYNX_LOCKS_* */
} lynx_locks_arg_t;

typedef struct lynx_locks_reply {
    uint32_t kind;
    uint32_t nrecords;      /* records in the bulk area */
    int64_t rate;           /* block: LYNXPROF_BLOCK_RATE (ns); mutex:
                               LYNXPROF_MUTEX_FRACTION; 0 = off */
    uint64_t contentions;   /* estimated events, all stacks (debiased) */
    uint64_t delay_ns;      /* estimated delay, all stacks (debiased) */
    uint64_t lost;          /* recorded events dropped: table full */
    uint64_t untracked;     /* mutex: waits on an untracked lock */
} lynx_locks_reply_t;

/* Lock contention is recorded only while a window is open (or always,
 * LYNXPROF_LOCKS=always).  Windows are counted, so overlapping ones from
 * different requests each see everything recorded while they are open; a
 * window that is not closed closes itself when its duration has passed
 * (the agent thread enforces it, within a heartbeat period). */
enum lynx_locks_window_op {
    LYNX_LOCKS_WINDOW_OPEN = 1,  /* duration_ns > 0; reply: its id */
    LYNX_LOCKS_WINDOW_CLOSE = 2, /* id: a window OPEN returned; closing an
                                    expired or unknown id is not an error */
};

#define LYNX_LOCKS_WINDOWS 16 /* windows open at once */
#define LYNX_LOCKS_WINDOW_MAX_NS (3600LL * 1000 * 1000 * 1000)

typedef struct lynx_locks_window_arg {
    uint32_t op;            /* enum lynx_locks_window_op */
    uint32_t reserved;
    int64_t duration_ns;    /* OPEN: 1..LYNX_LOCKS_WINDOW_MAX_NS */
    uint64_t id;            /* CLOSE */
} lynx_locks_window_arg_t;

typedef struct lynx_locks_window_reply {
    uint64_t id;            /* OPEN: the new window's id (never 0) */
    uint32_t open;          /* windows open after the command */
    uint32_t always;        /* 1: recording always (LYNXPROF_LOCKS=always) */
} lynx_locks_window_reply_t;

/* Cumulative over every window since the process started (over its whole
 * life with LYNXPROF_LOCKS=always): the endpoint takes deltas. */
typedef struct lynx_lock_rec {
    uint64_t contentions;   /* estimated events with this stack */
    uint64_t delay_ns;      /* estimated total delay */
    uint32_t depth;         /* 1..LYNX_STACK_MAX_DEPTH */
    uint32_t flags;         /* LYNX_STACK_* */
    uint64_t pcs[LYNX_STACK_MAX_DEPTH]; /* leaf first, return addresses */
} lynx_lock_rec_t;

/* ---- thread creation ----------------------------------------------------- */

#define LYNX_THREADCREATE_MAX_RECORDS 4096u /* creation stacks kept */

typedef struct lynx_threadcreate_arg {
    uint32_t flags;         /* LYNX_LOCKS_SUMMARY: counts only */
    uint32_t reserved;
} lynx_threadcreate_arg_t;

typedef struct lynx_threadcreate_reply {
    uint32_t nrecords;      /* records in the bulk area */
    uint32_t capacity;      /* records the agent keeps at most */
    uint64_t created;       /* pthread_create calls that succeeded */
    uint64_t overflow;      /* created but not recorded (table full) */
} lynx_threadcreate_reply_t;

typedef struct lynx_threadcreate_rec {
    int32_t tid;            /* the new thread, 0 until it ran */
    uint32_t depth;         /* 1..LYNX_STACK_MAX_DEPTH */
    uint32_t flags;         /* LYNX_STACK_* */
    uint32_t reserved;
    uint64_t pcs[LYNX_STACK_MAX_DEPTH]; /* leaf first: pthread_create */
} lynx_threadcreate_rec_t;

#ifdef __cplusplus
}
#endif

#endif
