/*
 * agent/context.h - the agent's state: one lynx_agent_t for the whole
 * process, with one part per facility, reached in one way.
 *
 * The instance, `lynx_agent`, is defined once (agent/agent.c) in static
 * storage and initialised by the compiler: every field is zero except the
 * few defaults given in its initialiser (mutex initialisers, "no session",
 * "lock functions not resolved yet").  No constructor ever runs for it, so
 * it is valid from the first instruction of the process: the malloc and
 * lock hooks run before any constructor, from the dynamic loader and libc
 * start-up.
 *
 * Each file reaches its own part only, under the name `g` (or `heap` in
 * agent/malloc_hooks.c), defined at its top as
 *     #define g (lynx_agent.cpu)
 * which compiles to the same direct, PC-relative access as the file-local
 * static it replaces: a member of a hidden global at a constant offset, no
 * pointer to load first (the malloc and lock fast paths depend on it).
 * tests/integration/test_layout.sh checks that no file reaches two parts.
 *
 * What signal handlers and the hooks touch keeps its atomics and its
 * memory orders; the comments of each part say who writes what.
 * Nothing here is exported from libprofile-agent.so.
 */
#ifndef LYNX_AGENT_CONTEXT_H
#define LYNX_AGENT_CONTEXT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "agent/internal.h"
#include "protocol/block.h"
#include "protocol/block_threads.h"

/* ---- agent/agent.c: the block, the mailbox and the agent thread ---------- */

typedef struct lynx_agent_core_state {
    /* Guards start/stop (taken by the program's threads only, never by
     * the agent thread or a signal handler). */
    pthread_mutex_t lock;
    int running;
    int atfork_done;
    pthread_t thread;
    _Atomic int stop;
    pid_t pid;             /* the process that created the block */
    lynx_block_header_t *header; /* the data object, size_bytes long */
    lynx_mailbox_t *mailbox;     /* the mailbox object, its own mapping */
    size_t size_bytes;
    lynx_answers_t *answers;     /* in the data object */
    char mailbox_path[128];
    uint64_t mailbox_ino;  /* the mailbox object's inode */
    /* The block's geometry as laid out at creation: the only source of
     * sizes and offsets the agent uses (never read back from the block). */
    lynx_agent_block_t blk;
    char *bulk;            /* slot i's area: bulk + i * bulk_bytes */
    uint64_t bulk_bytes;   /* per slot */
    char name[LYNX_NAME_MAX];
    char family[LYNX_NAME_MAX]; /* the name asked for: this block is
                                   "<family>" or "<family>.<pid>" */
    char path[128];
    int debug;
    uint8_t bulk_dirty[LYNX_MAILBOX_SLOTS]; /* agent thread only */
    /* Each slot's state and seq as tidy_slots() last saw them, and since
     * when (CLOCK_MONOTONIC ns); agent thread only. */
    struct {
        uint32_t state;
        uint64_t seq;
        int64_t since_ns;
    } slot_seen[LYNX_MAILBOX_SLOTS];
} lynx_agent_core_state_t;

/* ---- agent/cpu.c: CPU sessions; agent thread only ------------------------ */

typedef struct lynx_agent_cpu_state {
    lynx_sessions_t *sessions;  /* the block's records, written only */
    lynx_session_t recs[LYNX_MAX_SESSIONS]; /* the truth; gen unused */
    uint32_t rec_gen[LYNX_MAX_SESSIONS];    /* each record's seqlock */
    lynx_cpu_table_t *table;    /* the block's table, written only */
    uint32_t table_cap;         /* entries in table->stacks[] */
    uint32_t nstacks;           /* entries in use, <= table_cap */
    uint32_t table_gen;
    uint64_t samples;
    uint64_t lost_samples;
    uint32_t *index;          /* open addressing: stack slot + 1, 0 = empty */
    uint32_t index_cap;       /* power of two, >= 2 * table capacity */
    int running;              /* session record index, or -1 */
    int64_t deadline_mono_ns;
    int64_t started_mono_ns;
    int64_t next_rescan_ns;
    unsigned long long adds;  /* loader's object count at the last update */
} lynx_agent_cpu_state_t;

/* ---- agent/fork.c: the fork gate; async-signal-safe, see there ----------- */

/* Entries in flight are counted in stripes, a cache line each: a thread
 * keeps to the stripe it drew at its first entry, so threads that unwind
 * at once (allocation samples on every thread) do not pass one line back
 * and forth; the prepare handler sums the stripes. */
#define LYNX_FORK_STRIPES 32u

typedef struct lynx_fork_stripe {
    _Atomic int32_t inflight;  /* entries not yet left, of its threads */
    _Atomic uint64_t leaves;   /* entries left, ever */
} __attribute__((aligned(64))) lynx_fork_stripe_t;

typedef struct lynx_agent_fork_state {
    /* Read by every entry, written only around a fork: */
    _Atomic int32_t closing;   /* forks being prepared */
    _Atomic pid_t owner;       /* may unwind; 0: forked child, no agent */
    _Atomic uint64_t stuck_at; /* leaves at the last timeout, +1; 0 none */
    _Atomic uint64_t timeouts;
    /* Written once per thread (its first entry): */
    _Atomic uint32_t next_stripe __attribute__((aligned(64)));
    lynx_fork_stripe_t stripes[LYNX_FORK_STRIPES];
} lynx_agent_fork_state_t;

/* ---- agent/lock_hooks.c: lock contention (block and mutex) --------------- */

#define LYNX_LOCK_WAIT_SLOTS 1024u /* locks tracked at once (mutex) */

/* Set in the recording word until the real lock functions are resolved:
 * the hooks then take their slow path, which resolves. */
#define LYNX_LOCKS_UNRESOLVED 0x80000000u

struct lynx_lock_stack;  /* agent/lock_hooks.c */

typedef struct lynx_lock_table {
    _Atomic(struct lynx_lock_stack *) stacks; /* LOCK_STACKS entries */
    _Atomic uint64_t lost;
    _Atomic uint64_t count_milli;
    _Atomic uint64_t delay_ns;
} lynx_lock_table_t;

/* One lock with waiters, for the mutex profile.  `spin` guards the fields
 * after it; it is held for a few instructions, never across a call. */
typedef struct lynx_wait_slot {
    _Atomic uintptr_t addr;     /* the lock; may change when nwaiters == 0 */
    _Atomic uint32_t spin;
    uint32_t nwaiters;
    uint64_t gen;               /* bumped by every charging unlock */
    int64_t sum_start_ns;       /* sum of the waiters' (re)start times */
    int64_t reset_ns;           /* time of the last charging unlock */
} __attribute__((aligned(64))) lynx_wait_slot_t;

/* A recording window; agent thread only. */
typedef struct lynx_lock_window {
    uint64_t id;                    /* 0: free */
    int64_t deadline_ns;            /* CLOCK_MONOTONIC */
} lynx_lock_window_t;

typedef struct lynx_agent_locks_state {
    /* Open windows, plus 1 with LYNXPROF_LOCKS=always, plus
     * LYNX_LOCKS_UNRESOLVED until the real functions are known: the hooks
     * go past their first branch only while it is not 0.  Alone on its
     * cache line, read-mostly. */
    _Atomic uint32_t recording __attribute__((aligned(64)));
    uint32_t always;
    lynx_lock_window_t windows[LYNX_LOCKS_WINDOWS];
    uint64_t next_window_id;
    _Atomic int64_t block_rate __attribute__((aligned(64))); /* ns; 0 = off */
    _Atomic int64_t mutex_fraction; /* N; 0 = off */
    _Atomic int on;                 /* either is on */
    lynx_lock_table_t tables[2];    /* [0] block, [1] mutex */
    lynx_wait_slot_t waits[LYNX_LOCK_WAIT_SLOTS];
    _Atomic uint32_t waiting;       /* registered waiters, all locks */
    _Atomic uint64_t untracked;
} lynx_agent_locks_state_t;

/* ---- agent/malloc_hooks.c: the heap profile's tables --------------------- */

struct lynx_live_entry;  /* agent/malloc_hooks.c */
struct lynx_stack_entry; /* agent/malloc_hooks.c */

/* Two lines and more: what every sampled allocation reads (set once by
 * the constructor before `configured` is published), and apart from it
 * the lock and what it guards, written by every sample: a sample on one
 * thread then does not take away the line another thread is reading. */
typedef struct lynx_agent_heap_state {
    _Atomic int configured;          /* the constructor has run */
    uint64_t rate;                   /* 0 = off */
    double inv_rate;
    uint32_t sample_limit;           /* samples a second a thread; 0 = any */
    double mean_max;                 /* the largest mean a thread may use */
    pthread_key_t exit_key;
    int key_ready;
    struct lynx_stack_entry *stacks; /* STACK_SLOTS; NULL when off */
    uint32_t *stack_index;           /* STACK_INDEX: stack + 1, 0 = empty */
    _Atomic(const void *) unwind_site; /* set once: lynx_heap_unwind_site */
    /* Guarded by `lock` (a spinlock: agent/malloc_hooks.c): */
    _Atomic int lock __attribute__((aligned(64)));
    uint32_t nlive;
    uint32_t nstacks;                /* >= 1: entry 0 is the empty stack */
    uint32_t live_bits;
    struct lynx_live_entry *live;    /* 1 << live_bits, open addressing;
                                        doubled when half full; NULL
                                        when blocks are tagged (glibc) */
    uint64_t samples;
    uint64_t paced;                  /* of which at a raised mean */
    uint64_t untracked;
    uint64_t overflow;
} lynx_agent_heap_state_t;

/* ---- agent/modules.c: the module snapshot; agent thread only ------------- */

typedef struct lynx_agent_modules_state {
    lynx_modules_t *shared;  /* the block's region, written only */
    lynx_module_t *recs;     /* private copy: capacity entries */
    uint32_t capacity;
    uint32_t n;              /* records in use, <= capacity */
    uint32_t generation;     /* the seqlock's value, odd while writing */
} lynx_agent_modules_state_t;

/* ---- agent/threadcreate.c: thread creation stacks ------------------------ */

struct lynx_tc_rec;      /* agent/threadcreate.c */

typedef struct lynx_agent_threadcreate_state {
    _Atomic(struct lynx_tc_rec *) recs; /* TC_CAPACITY records, mmap'd once */
    _Atomic uint32_t next;      /* records handed out (may exceed cap) */
    _Atomic uint64_t created;
    _Atomic uint64_t overflow;
    _Atomic uint64_t failed;
} lynx_agent_threadcreate_state_t;

/* ---- agent/threaddump.c: thread dumps; the slots are written in the
 * SIGPROF handler ---------------------------------------------------------- */

struct lynx_dump_slot;   /* agent/threaddump.c */

typedef struct lynx_agent_threaddump_state {
    struct lynx_dump_slot *slots; /* DUMP_MAX_THREADS, mmap'd at first use */
    _Atomic uint32_t nslots;      /* slots of the current request */
    _Atomic int pending;          /* 1 while a request waits for answers */
    _Atomic uint32_t answered;    /* answers to the current request */
    pid_t pid;
    pid_t agent_tid;
    int have_modules;
    unsigned long long adds;
} lynx_agent_threaddump_state_t;

/* ---- agent/threads.c: per-thread CPU timers ------------------------------ */

#define LYNX_THREAD_TIMERS_MAX 4096

typedef struct lynx_thread_timer {
    pid_t tid;
    timer_t timer;
} lynx_thread_timer_t;

typedef struct lynx_agent_threads_state {
    pthread_mutex_t lock;    /* guards everything below */
    lynx_thread_timer_t timers[LYNX_THREAD_TIMERS_MAX];
    size_t ntimers;
    int armed;
    int64_t period_ns;
    uint64_t rng;
    pid_t agent_tid;
    pthread_key_t exit_key;  /* its destructor deletes a thread's timer */
    int key_ready;
} lynx_agent_threads_state_t;

/* ---- the whole ----------------------------------------------------------- */

/* Each part starts a cache line of its own: a part that one thread writes
 * often (the fork gate's counters, a contended lock's waiter count) never
 * shares a line with what another facility reads on its fast path. */
#define LYNX_AGENT_PART __attribute__((aligned(64)))

typedef struct lynx_agent {
    lynx_agent_core_state_t core LYNX_AGENT_PART;
    lynx_agent_cpu_state_t cpu LYNX_AGENT_PART;
    lynx_agent_fork_state_t fork LYNX_AGENT_PART;
    lynx_agent_locks_state_t locks LYNX_AGENT_PART;
    lynx_agent_heap_state_t heap LYNX_AGENT_PART;
    lynx_agent_modules_state_t modules LYNX_AGENT_PART;
    lynx_agent_threadcreate_state_t threadcreate LYNX_AGENT_PART;
    lynx_agent_threaddump_state_t threaddump LYNX_AGENT_PART;
    lynx_agent_threads_state_t threads LYNX_AGENT_PART;
} lynx_agent_t;

/* Hidden, so that every access is PC-relative (no GOT entry to load). */
extern lynx_agent_t lynx_agent __attribute__((visibility("hidden")));

#endif
