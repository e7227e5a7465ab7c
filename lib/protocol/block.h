/*
 * protocol/block.h - layout of the shared-memory control block (version 3).
 *
 * The control block is the only channel between the endpoints and a profiled
 * process.  The agent inside the target creates two POSIX shared-memory
 * objects:
 *   - the data object "/lynxprof.<name>" (/dev/shm/lynxprof.<name>), written
 *     only by the agent: header, answers to commands, CPU sessions, module
 *     snapshot, CPU table, memory statistics snapshot, bulk replies.
 *     Endpoints map it PROT_READ; the endpoints' group may only read it
 *     (mode 0640, or 0600 without a group).
 *   - the mailbox object "/lynxprof-mbox.<name>": slot states, commands and
 *     their arguments, which the group may write (0660, or 0600).  Its inode
 *     is recorded in the data object's header, so the pair cannot be mixed.
 *
 * Data layout: a fixed header, then regions located through the header's
 * region table (offset and size of each), so that sizes can be tuned per
 * target and readers never rely on compile-time offsets beyond the header.
 * Every field that one side writes is untrusted input to the other side:
 * readers validate magic, version, sizes and every offset, index and length
 * before use, each from a single read kept in their own memory.
 *
 * All shared words that are waited on are 32-bit (futex words).  Fields that
 * are written by one side while the other reads them are _Atomic; plain
 * fields are written once before the block is published (magic is stored
 * last, with release order) or only inside a mailbox slot while its owner
 * holds it.
 */
#ifndef LYNX_PROTOCOL_BLOCK_H
#define LYNX_PROTOCOL_BLOCK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "protocol/module.h"
#include "lynxprof.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LYNX_BLOCK_MAGIC 0x464f5250584e594cULL /* "LYNXPROF", little end. */
#define LYNX_BLOCK_VERSION 3u
#define LYNX_BLOCK_PREFIX "lynxprof." /* file name prefix in /dev/shm */
#define LYNX_MAILBOX_PREFIX "lynxprof-mbox." /* the mailbox object's */
#define LYNX_SHM_DIR "/dev/shm"
#define LYNX_NAME_MAX 64              /* bytes of a target name, NUL included */
#define LYNX_BLOCK_MAX_BYTES (4ULL << 30) /* readers refuse larger blocks */
#define LYNX_MAX_REGIONS 16
/* Bytes of one mailbox slot's bulk area (LYNXPROF_BULK_BYTES): the agent
 * refuses other values, and endpoints accept no bulk reply larger. */
#define LYNX_BULK_MIN_BYTES (1ULL << 20)
#define LYNX_BULK_MAX_BYTES (256ULL << 20)

/* Heartbeat: the agent refreshes it every period; a reader calls the agent
 * stale when it is older than LYNX_STALE_NS. */
#define LYNX_HEARTBEAT_PERIOD_MS 200u
#define LYNX_STALE_NS (3LL * 1000 * 1000 * 1000)

enum lynx_region_kind {
    LYNX_REGION_ANSWERS = 1,  /* lynx_answers_t: the agent's answers */
    LYNX_REGION_SESSIONS = 2, /* lynx_sessions_t: CPU session records */
    LYNX_REGION_MODULES = 3,  /* lynx_modules_t: loaded-module snapshot */
    LYNX_REGION_CPU = 4,      /* lynx_cpu_table_t: CPU samples by stack */
    LYNX_REGION_BULK = 5,     /* LYNX_MAILBOX_SLOTS bulk reply areas of
                                 size_bytes / LYNX_MAILBOX_SLOTS each
                                 (a multiple of 4096) */
    LYNX_REGION_MEMSNAP = 6,  /* lynx_memsnap_t: the last memory statistics
                                 the agent published.  Optional, so added
                                 within version 2: lynx_block_validate()
                                 checks every region's bounds but skips
                                 kinds it does not know, so older readers
                                 ignore it, and readers of a block without
                                 it ask the agent */
};

typedef struct lynx_region {
    uint32_t kind;       /* enum lynx_region_kind */
    uint32_t reserved;
    uint64_t offset;     /* bytes from the block start, 64-byte aligned */
    uint64_t size_bytes; /* offset + size_bytes <= total_size_bytes */
} lynx_region_t;

enum lynx_agent_state {
    LYNX_AGENT_STARTING = 0,
    LYNX_AGENT_RUNNING = 1,
    LYNX_AGENT_STOPPED = 2, /* agent shut down cleanly (process exiting) */
};

typedef struct lynx_block_header {
    _Atomic uint64_t magic;      /* LYNX_BLOCK_MAGIC; stored last at creation */
    uint32_t version;            /* LYNX_BLOCK_VERSION */
    uint32_t header_size_bytes;  /* sizeof(lynx_block_header_t) */
    uint64_t total_size_bytes;   /* equals the object's file size */
    int32_t pid;                 /* the target process */
    uint32_t nregions;           /* entries used in regions[], <= 16 */
    uint64_t start_ticks;        /* field 22 of /proc/<pid>/stat: tells a
                                    reused pid from the target */
    int64_t started_unix_ns;     /* process start, CLOCK_REALTIME */
    int64_t agent_started_unix_ns;
    _Atomic int64_t heartbeat_ns; /* CLOCK_MONOTONIC of the last beat */
    _Atomic uint32_t agent_state; /* enum lynx_agent_state */
    uint32_t heartbeat_period_ms;
    char name[LYNX_NAME_MAX];    /* target name, NUL-terminated */
    char exe[256];               /* /proc/self/exe at start, NUL-terminated */
    char cmdline[1024];          /* argv joined by NUL bytes */
    uint32_t cmdline_len;        /* bytes used in cmdline */
    uint32_t reserved0;
    uint64_t mailbox_size_bytes; /* the mailbox object's size */
    uint64_t mailbox_ino;        /* the mailbox object's inode number */
    lynx_region_t regions[LYNX_MAX_REGIONS];
} lynx_block_header_t;

/* ---- mailbox ---------------------------------------------------------- */

#define LYNX_MAILBOX_SLOTS 8
#define LYNX_ARG_MAX 1024     /* bytes of command arguments */
#define LYNX_REPLY_MAX 4096   /* bytes of an inline reply */
#define LYNX_MSG_MAX 256      /* bytes of an error message */

/* Slot states.  FREE -> CLAIMED (client, CAS) -> REQUEST (client) -> BUSY
 * (agent, CAS) -> DONE (agent, CAS) -> FREE (client).  A client that gives up
 * moves REQUEST or BUSY to ABANDONED by CAS; the agent frees abandoned slots
 * and slots whose client process has died.  The answer to slot i is in
 * answer i of the data object, tagged with the slot's seq. */
enum lynx_slot_state {
    LYNX_SLOT_FREE = 0,
    LYNX_SLOT_CLAIMED = 1,
    LYNX_SLOT_REQUEST = 2,
    LYNX_SLOT_BUSY = 3,
    LYNX_SLOT_DONE = 4,
    LYNX_SLOT_ABANDONED = 5,
};

enum lynx_command {
    LYNX_CMD_PING = 1,     /* reply: lynx_ping_reply_t */
    LYNX_CMD_MEMSTATS = 2, /* arg: none, or lynx_memstats_arg_t;
                              reply: lynx_memstats_t */
    /* An agent answers an unknown command with LYNX_EBADCMD. */
    LYNX_CMD_CPU_START = 3,  /* arg: lynx_cpu_start_arg_t;
                                reply: lynx_cpu_start_reply_t; fails with
                                LYNX_ECONFLICT (running session's id in the
                                reply) or LYNX_ENOTREADY (the CPU table
                                still holds a finished session that is not
                                spooled yet) */
    LYNX_CMD_CPU_STOP = 4,   /* arg: lynx_session_arg_t; ends a running
                                session early as CANCELLED, keeping its
                                samples.  LYNX_ENOSESSION, LYNX_ENOTREADY
                                (not running) */
    LYNX_CMD_CPU_SPOOLED = 5, /* arg: lynx_session_arg_t; the endpoint has
                                saved the session's profile: the record's
                                spooled flag is set and the CPU table is
                                free */
    LYNX_CMD_CPU_FORGET = 6,  /* arg: lynx_session_arg_t; drop a finished
                                record from the block (after spooling or
                                deletion) */
    /* Heap profile: 16..19 (payloads in protocol/block_heap.h). */
    LYNX_CMD_HEAP_SNAPSHOT = 16, /* arg: lynx_heap_snapshot_arg_t; reply:
                                    lynx_heap_snapshot_reply_t; bulk:
                                    packed lynx_heap_record_t + pcs */
    /* Threads, locks and thread creation: 32..35 (payloads in
     * protocol/block_threads.h). */
    LYNX_CMD_THREAD_DUMP = 32,  /* arg: lynx_thread_dump_arg_t; reply:
                                   lynx_thread_dump_reply_t; bulk:
                                   lynx_thread_rec_t[nthreads] */
    LYNX_CMD_LOCKS = 33,        /* arg: lynx_locks_arg_t; reply:
                                   lynx_locks_reply_t; bulk:
                                   lynx_lock_rec_t[nrecords] */
    LYNX_CMD_THREADCREATE = 34, /* arg: lynx_threadcreate_arg_t; reply:
                                   lynx_threadcreate_reply_t; bulk:
                                   lynx_threadcreate_rec_t[nrecords] */
    LYNX_CMD_LOCKS_WINDOW = 35, /* arg: lynx_locks_window_arg_t; reply:
                                   lynx_locks_window_reply_t; opens or
                                   closes a window in which lock contention
                                   is recorded; LYNX_EBUSY when all
                                   LYNX_LOCKS_WINDOWS are open */
};

/* One request slot, in the mailbox object (writable by the group). */
typedef struct lynx_slot {
    _Atomic uint32_t state;  /* enum lynx_slot_state; futex word */
    int32_t client_pid;      /* who claimed it */
    uint32_t command;        /* enum lynx_command */
    uint32_t arg_len;        /* bytes used in arg, <= LYNX_ARG_MAX */
    uint64_t seq;            /* set by the client at every claim */
    uint8_t arg[LYNX_ARG_MAX];
} lynx_slot_t;

/* The mailbox object. */
typedef struct lynx_mailbox {
    _Atomic uint32_t doorbell; /* futex word the agent waits on */
    uint32_t nslots;           /* LYNX_MAILBOX_SLOTS */
    _Atomic uint64_t served;   /* commands answered, for tests and stats */
    lynx_slot_t slots[LYNX_MAILBOX_SLOTS];
} lynx_mailbox_t;

/* The answer to one slot, in the data object (written by the agent only,
 * before it moves the slot to DONE). */
typedef struct lynx_answer {
    uint64_t seq;            /* the slot's seq this answers */
    int32_t result;          /* 0 or a negative lynx/errno code */
    uint32_t reply_len;      /* bytes used in reply, <= LYNX_REPLY_MAX */
    uint64_t bulk_len;       /* bytes used in the slot's bulk area */
    char message[LYNX_MSG_MAX];  /* detail for result != 0 */
    uint8_t reply[LYNX_REPLY_MAX];
} lynx_answer_t;

typedef struct lynx_answers {
    lynx_answer_t answers[LYNX_MAILBOX_SLOTS];
} lynx_answers_t;

/* ---- command payloads ------------------------------------------------- */

typedef struct lynx_ping_reply {
    int32_t pid;
    uint32_t version;
    int64_t now_unix_ns;
} lynx_ping_reply_t;


/* ---- CPU sessions ------------------------------------------------------ */

#define LYNX_SESSION_ID_MAX 32   /* "cpu_<unix ns>", NUL included */
#define LYNX_MAX_SESSIONS 16     /* records kept in the block */
#define LYNX_CPU_MAX_DEPTH 64    /* frames kept per CPU sample */
#define LYNX_CPU_HZ_MIN 1
#define LYNX_CPU_HZ_MAX 1000
#define LYNX_CPU_HZ_DEFAULT 100

enum lynx_session_state {
    LYNX_SESSION_FREE = 0,      /* unused record */
    LYNX_SESSION_RUNNING = 1,   /* sampling; its data is in the CPU table */
    LYNX_SESSION_COMPLETED = 2, /* ran its duration; data in the CPU table */
    LYNX_SESSION_CANCELLED = 3, /* stopped early; data kept in the table */
    LYNX_SESSION_FAILED = 4,    /* error[] says why; table may hold data */
};

enum lynx_session_origin {
    LYNX_ORIGIN_API = 1,        /* /api/v1/profiling/cpu/start */
    LYNX_ORIGIN_DEBUG = 2,      /* /debug/pprof/profile */
};

/* One CPU session.  Written only by the agent thread, under the record's
 * seqlock: readers copy the record and retry while gen is odd or changed. */
typedef struct lynx_session {
    _Atomic uint32_t gen;       /* odd while the agent writes */
    uint32_t state;             /* enum lynx_session_state */
    char id[LYNX_SESSION_ID_MAX];
    int64_t started_unix_ns;
    int64_t duration_ns;        /* asked for, > 0 */
    int64_t ended_unix_ns;      /* 0 while running */
    uint32_t hz;                /* sampling rate asked for */
    uint32_t origin;            /* enum lynx_session_origin */
    uint64_t samples;           /* samples aggregated in the table */
    uint64_t lost_samples;      /* dropped: ring full or table full */
    uint32_t in_table;          /* 1 while the CPU table holds its data */
    uint32_t spooled;           /* 1 once an endpoint saved its profile */
    char error[128];            /* reason when FAILED, NUL-terminated */
} lynx_session_t;

typedef struct lynx_sessions {
    uint32_t capacity;          /* LYNX_MAX_SESSIONS */
    uint32_t reserved;
    lynx_session_t sessions[LYNX_MAX_SESSIONS];
} lynx_sessions_t;

typedef struct lynx_cpu_start_arg {
    int64_t duration_ns;        /* > 0 */
    uint32_t hz;                /* LYNX_CPU_HZ_MIN..LYNX_CPU_HZ_MAX */
    uint32_t origin;            /* enum lynx_session_origin */
    int64_t now_unix_ns;        /* the endpoint's clock, for the id */
} lynx_cpu_start_arg_t;

typedef struct lynx_cpu_start_reply {
    char id[LYNX_SESSION_ID_MAX]; /* the new session, or on LYNX_ECONFLICT
                                     the running one */
    int64_t started_unix_ns;
} lynx_cpu_start_reply_t;

typedef struct lynx_session_arg {
    char id[LYNX_SESSION_ID_MAX];
} lynx_session_arg_t;

/* ---- CPU samples, aggregated by stack ------------------------------------ */

#define LYNX_STACK_TRUNCATED 0x1u /* deeper than LYNX_CPU_MAX_DEPTH */
#define LYNX_STACK_UNWIND_SKIPPED 0x2u /* not unwound: the thread was in
                                          the loader (dlopen, dlclose or
                                          dl_iterate_phdr); pcs[0] only */
#define LYNX_STACK_LABELS_CUT 0x4u /* the thread's request labels did not
                                      all fit: more than LYNX_LABEL_DEPTH
                                      pushed, a value cut to its room, or
                                      a key refused (since version 3) */

/* ---- labels of a sample (since version 3) ------------------------------ */

#define LYNX_THREAD_NAME_MAX 16  /* comm (TASK_COMM_LEN), NUL included */
#define LYNX_LABEL_DEPTH 4       /* request labels kept per sample */
#define LYNX_LABEL_KEY_MAX 16    /* bytes of a label key, NUL included */
#define LYNX_LABEL_VALUE_MAX 48  /* bytes of a label value, NUL included */

/* One request label as the program pushed it (lynx_label_push).  Both
 * strings NUL-terminated and zero-filled to the end; an empty key marks
 * a push that was refused (it still counts for the matching pop).  Read
 * by the endpoints as untrusted bytes: bounded copies, UTF-8 checked. */
typedef struct lynx_label_rec {
    char key[LYNX_LABEL_KEY_MAX];
    char value[LYNX_LABEL_VALUE_MAX];
} lynx_label_rec_t;

/* Who a sample ran for: the thread (tid, and its name at sample time) and
 * the request labels it had pushed, outermost first.  Part of the CPU
 * table's aggregation key: two samples are merged only when these bytes
 * are equal too (unused bytes are zero). */
typedef struct lynx_sample_labels {
    int32_t tid;                       /* the sampled thread, 0 unknown */
    uint32_t nlabels;                  /* entries used in labels, <=
                                          LYNX_LABEL_DEPTH */
    char thread[LYNX_THREAD_NAME_MAX]; /* its name, NUL-terminated */
    lynx_label_rec_t labels[LYNX_LABEL_DEPTH];
} lynx_sample_labels_t;

typedef struct lynx_cpu_stack {
    uint64_t count;             /* samples with exactly this stack */
    uint32_t depth;             /* frames used in pcs, 1..LYNX_CPU_MAX_DEPTH */
    uint32_t flags;             /* LYNX_STACK_* */
    lynx_sample_labels_t labels; /* thread and request labels */
    uint64_t pcs[LYNX_CPU_MAX_DEPTH]; /* leaf first; pcs[0] is the
                                         interrupted instruction, the others
                                         return addresses */
} lynx_cpu_stack_t;

/* The CPU table.  The agent thread is its only writer; it appends stacks
 * and bumps counts while a session runs.  Readers use it only when no
 * session runs (the session is COMPLETED, CANCELLED or FAILED and in_table)
 * and check gen before and after copying. */
typedef struct lynx_cpu_table {
    _Atomic uint32_t gen;       /* bumped when a session starts using it */
    uint32_t capacity;          /* entries in stacks[] */
    _Atomic uint32_t nstacks;   /* entries in use, <= capacity */
    uint32_t session_index;     /* record whose data this is */
    int64_t period_ns;          /* CPU time per sample, 1e9 / hz */
    uint64_t samples;
    uint64_t lost_samples;
    lynx_cpu_stack_t stacks[];  /* capacity entries */
} lynx_cpu_table_t;

/* ---- loaded modules ------------------------------------------------------ */

#define LYNX_MAX_MODULES 512

/* Snapshot of every module loaded since the agent started (modules that
 * were unloaded stay listed, so samples taken in them still resolve).
 * Written by the agent thread under the seqlock. */
typedef struct lynx_modules {
    _Atomic uint32_t generation; /* odd while the agent writes (seqlock) */
    uint32_t nmodules;           /* <= capacity */
    uint32_t capacity;           /* entries in modules[] */
    uint32_t reserved;
    lynx_module_t modules[];     /* capacity entries */
} lynx_modules_t;

/* ---- memory statistics snapshot ------------------------------------------ */

/* While an endpoint has asked for memory statistics with
 * LYNX_MEMSTATS_PUBLISH in the last LYNX_MEMSNAP_INTEREST_NS, the agent
 * thread publishes them here every
 * LYNX_MEMSNAP_PERIOD_NS, so that a request that accepts statistics that
 * old needs no round trip through the mailbox.  Nobody asking: nothing is
 * published (the idle agent does no work for it). */
#define LYNX_MEMSNAP_PERIOD_NS (750LL * 1000 * 1000)
#define LYNX_MEMSNAP_INTEREST_NS (10LL * 1000 * 1000 * 1000)

/* LYNX_CMD_MEMSTATS's optional argument.  Only requests that will read
 * the snapshot ask for it (the memory endpoint; not /metrics, whose
 * scrapes are far apart): an agent nobody reads snapshots from publishes
 * none. */
#define LYNX_MEMSTATS_PUBLISH 0x1u /* publish for LYNX_MEMSNAP_INTEREST_NS */
typedef struct lynx_memstats_arg {
    uint32_t flags;            /* LYNX_MEMSTATS_PUBLISH */
    uint32_t reserved;         /* 0 */
} lynx_memstats_arg_t;

/* Written by the agent thread only, under the seqlock: seq is made odd,
 * the rest written, seq made even again.  Readers copy the whole struct
 * twice (pread) and use it only when both copies are equal and seq is
 * even; then every field is checked like any other agent reply. */
typedef struct lynx_memsnap {
    _Atomic uint32_t seq;      /* odd while the agent writes; 0: never */
    uint32_t stats_bytes;      /* sizeof(lynx_memstats_t) */
    int64_t sampled_mono_ns;   /* CLOCK_MONOTONIC when stats were taken */
    lynx_memstats_t stats;     /* stats.sampled_unix_ns: the same moment */
} lynx_memsnap_t;

/* ---- the wire format of version 3 -------------------------------------------
 * Sizes and offsets are part of the layout version: a change to any of them
 * must come with a new LYNX_BLOCK_VERSION. */
_Static_assert(LYNX_BLOCK_VERSION == 3, "layout asserts are for version 3");
_Static_assert(sizeof(lynx_region_t) == 24, "lynx_region_t");
_Static_assert(sizeof(lynx_block_header_t) == 1824, "lynx_block_header_t");
_Static_assert(offsetof(lynx_block_header_t, version) == 8, "version");
_Static_assert(offsetof(lynx_block_header_t, total_size_bytes) == 16,
               "total_size_bytes");
_Static_assert(offsetof(lynx_block_header_t, pid) == 24, "pid");
_Static_assert(offsetof(lynx_block_header_t, heartbeat_ns) == 56,
               "heartbeat_ns");
_Static_assert(offsetof(lynx_block_header_t, agent_state) == 64,
               "agent_state");
_Static_assert(offsetof(lynx_block_header_t, name) == 72, "name");
_Static_assert(offsetof(lynx_block_header_t, mailbox_size_bytes) == 1424,
               "mailbox_size_bytes");
_Static_assert(offsetof(lynx_block_header_t, regions) == 1440, "regions");
_Static_assert(sizeof(lynx_slot_t) == 1048, "lynx_slot_t");
_Static_assert(offsetof(lynx_slot_t, seq) == 16, "slot seq");
_Static_assert(offsetof(lynx_slot_t, arg) == 24, "slot arg");
_Static_assert(sizeof(lynx_mailbox_t) == 16 + 8 * 1048, "lynx_mailbox_t");
_Static_assert(offsetof(lynx_mailbox_t, slots) == 16, "mailbox slots");
_Static_assert(sizeof(lynx_answer_t) == 24 + LYNX_MSG_MAX + LYNX_REPLY_MAX,
               "lynx_answer_t");
_Static_assert(offsetof(lynx_answer_t, message) == 24, "answer message");
_Static_assert(sizeof(lynx_session_t) == 224, "lynx_session_t");
_Static_assert(offsetof(lynx_session_t, error) == 96, "session error");
_Static_assert(sizeof(lynx_sessions_t) == 8 + 16 * 224, "lynx_sessions_t");
/* Version 3: the labels of a CPU sample, inside lynx_cpu_stack_t. */
_Static_assert(sizeof(lynx_label_rec_t) == 64, "lynx_label_rec_t");
_Static_assert(sizeof(lynx_sample_labels_t) == 24 + 64 * LYNX_LABEL_DEPTH,
               "lynx_sample_labels_t");
_Static_assert(offsetof(lynx_sample_labels_t, thread) == 8, "labels thread");
_Static_assert(offsetof(lynx_sample_labels_t, labels) == 24,
               "labels labels");
_Static_assert(offsetof(lynx_cpu_stack_t, labels) == 16, "stack labels");
_Static_assert(offsetof(lynx_cpu_stack_t, pcs) == 16 + 280, "stack pcs");
_Static_assert(sizeof(lynx_cpu_stack_t) ==
                   16 + 280 + 8 * LYNX_CPU_MAX_DEPTH,
               "lynx_cpu_stack_t");
_Static_assert(sizeof(lynx_cpu_table_t) == 40, "lynx_cpu_table_t");
_Static_assert(sizeof(lynx_modules_t) == 16, "lynx_modules_t");
_Static_assert(sizeof(lynx_module_t) == 328, "lynx_module_t");
/* Added in version 2 as an optional region (see LYNX_REGION_MEMSNAP). */
_Static_assert(sizeof(lynx_memstats_t) == 240, "lynx_memstats_t");
_Static_assert(sizeof(lynx_memsnap_t) == 16 + 240, "lynx_memsnap_t");
_Static_assert(offsetof(lynx_memsnap_t, stats) == 16, "memsnap stats");
_Static_assert(sizeof(lynx_memstats_arg_t) == 8, "lynx_memstats_arg_t");

/* Find a region of the given kind in a validated header; NULL if absent. */
static inline const lynx_region_t *
lynx_block_region(const lynx_block_header_t *h, uint32_t kind)
{
    for (uint32_t i = 0; i < h->nregions && i < LYNX_MAX_REGIONS; i++) {
        if (h->regions[i].kind == kind) {
            return &h->regions[i];
        }
    }
    return NULL;
}

#ifdef __cplusplus
}
#endif

#endif
