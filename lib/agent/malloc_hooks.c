/*
 * agent/malloc_hooks.c - the malloc family of the target, interposed: a
 * sampling heap profiler, and exact counters on every call when asked for
 * (LYNXPROF_HEAP_COUNTERS=1; off by default for their cost).
 *
 * RUNS INSIDE MALLOC, on every thread of the target, at any time, also
 * while the dynamic loader bootstraps and re-entered from code it calls.
 * What that forbids, for every function in this file:
 *   - no call into the allocator except through `real` (the next
 *     definitions, from dlsym(RTLD_NEXT)); no stdio, no getenv after start,
 *     no pthread mutex (the lock profiler interposes them): the only lock is
 *     heap_lock below, a spinlock held for table updates only, never while
 *     calling out (not while unwinding, not around the real allocator);
 *   - state lives in static storage, initial-exec TLS (no allocation on
 *     first access) and tables mmap'd once by the constructor;
 *   - errno is left as the real allocator sets it (the slow path saves and
 *     restores it);
 *   - code reached with tls_guard set (our own unwinding) is counted but
 *     never sampled, so re-entry terminates.
 * The program's signal handlers may interrupt any of this: as long as they
 * allocate nothing (POSIX already forbids it), they see no state of ours.
 * A sample unwinds through lynx_unwind_here: a SIGPROF (the CPU sampler
 * and thread dumps, which unwind too) that lands meanwhile is held back
 * and delivered after it, so libunwind's per-thread cache is never used
 * twice at once, without a system call to block the signal.
 *
 * Workload: millions of calls per second on many threads.  With glibc
 * underneath and the defaults, the fast path of malloc and calloc is the
 * countdown (compare, subtract) and a tail call; of free a test of the
 * block's address and a tail call (7 instructions, nothing read but the
 * thread's own word: see "tag" below).  With the counters on, malloc
 * adds the real call, the chunk size from its header and two plain adds
 * to the thread's own counter slot (about 25 instructions); free reads
 * the chunk header word (which also tells a sampled or mmapped block),
 * adds two and tail-calls (16).  Sampling is a
 * Poisson process over requested bytes with mean `rate`
 * (LYNXPROF_HEAP_RATE, default 512 KiB; longer for a thread that samples
 * more than LYNXPROF_HEAP_SAMPLE_LIMIT times a second: see pace()): a
 * thread-local countdown drawn from the exponential distribution; the
 * allocation that crosses zero is sampled with its stack (libunwind
 * unw_backtrace), weighted 1/(1-exp(-size/mean)) (Go's scaleHeapSample,
 * applied per sample, with the mean its interval was drawn with),
 * aggregated per stack, and remembered so that free and realloc take it
 * out of the in-use estimates: in the block's own prefix with glibc
 * underneath (see "tag" below), else in the live table.
 *
 * Tables, all mapped at start: THREAD_SLOTS per-thread counter slots
 * (threads beyond that share one slot with atomic adds); STACK_SLOTS
 * distinct stacks (then samples go to stack 0, the empty stack, counted in
 * overflow_samples); with another allocator than glibc's, LIVE_MAX live
 * sampled pointers (then a sample counts in alloc_* only, in
 * untracked_samples) in a table that starts small and doubles under the
 * lock when half full.
 *
 * Under AddressSanitizer (which owns malloc itself, and calls it before it
 * is initialised) the interposed functions are left out: the counters then
 * report "not available" and nothing is sampled.
 */
#define UNW_LOCAL_ONLY
#include <dlfcn.h>
#include <errno.h>
#include <libunwind.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "agent/context.h"
#include "agent/heap.h"
#include "agent/labels.h"
#include "agent/sampler.h"
#include "agent/internal.h"
#include "protocol/block.h"
#include "protocol/clock.h"

#define EXPORT __attribute__((visibility("default")))
#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define INLINE static inline __attribute__((always_inline))
#define IE_TLS __attribute__((tls_model("initial-exec")))
#define RETURN_ADDRESS() __builtin_return_address(0)
#define MAYBE_UNUSED __attribute__((unused)) /* unused without hooks */

#define THREAD_SLOTS 1024u
/* The word before a block of ours that is not a plain glibc chunk (see
 * "tag" below) has bit 3 set, which a glibc chunk size never has. */
#define TAG_BIT ((size_t)8)
#define TAG ((size_t)0x4c594e58u << 32 | TAG_BIT)      /* sampled */
#define BOOT_TAG ((size_t)0x424f4f54u << 32 | TAG_BIT) /* boot memory */
#define TAG_PREFIX_MAX 4096u
#define TAG_UNTRACKED SIZE_MAX /* a tagged block's stack: none */
/* Every sampled block (and every block of boot memory) starts at a
 * multiple of TAG_ALIGN: free() without counters rules the others out by
 * their address alone, without reading their header.  A glibc block lands
 * there one time in 32. */
#define TAG_ALIGN 512u
#define BOOT_BYTES (128u * 1024)   /* allocations made while dlsym runs */
#define BOOT_HEADER 16u
#define FILTER_BITS 14u            /* 16 KiB of 8-bit counters */
#define LIVE_BITS_MIN 10u         /* 32 KiB at first */
#define LIVE_BITS_MAX 18u         /* 8 MiB at most */
#define LIVE_MAX ((1u << LIVE_BITS_MAX) / 4 * 3)
#define STACK_SLOTS 16384u         /* ~14 MiB; entry 0 is the empty stack */
#define STACK_INDEX (2 * STACK_SLOTS)
#define UNWIND_MAX (LYNX_HEAP_MAX_DEPTH + 8) /* + our own frames */
#define GOLDEN 0x9e3779b97f4a7c15ULL
/* pace(): a thread's samples are counted over a second at most; a window
 * closed sooner counts as 1 ms at least (the rate seen is then capped). */
#define PACE_WINDOW_NS 1000000000LL
#define PACE_MIN_NS 1000000LL
#define PACE_MEAN_MAX 1099511627776.0 /* 1 TiB: far beyond any thread */

#if defined(__SANITIZE_ADDRESS__)
#define LYNX_NO_MALLOC_HOOKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define LYNX_NO_MALLOC_HOOKS 1
#endif
#endif

/* ---- the real allocator ----------------------------------------------------- */

typedef struct real_fns {
    void *(*malloc)(size_t);
    void (*free)(void *);
    void *(*calloc)(size_t, size_t);
    void *(*realloc)(void *, size_t);
    void *(*reallocarray)(void *, size_t, size_t);
    int (*posix_memalign)(void **, size_t, size_t);
    void *(*aligned_alloc)(size_t, size_t);
    void *(*memalign)(size_t, size_t);
    void *(*valloc)(size_t);
    void *(*pvalloc)(size_t);
    size_t (*usable)(void *);
} real_fns_t;

enum { REAL_NONE = 0, REAL_RESOLVING = 1, REAL_READY = 2, REAL_FAILED = 3 };

static real_fns_t real;
static _Atomic int real_state;
/* 1 when the next allocator is glibc's: a block's usable size is then read
 * from its own chunk header (glibc's malloc_usable_size also reads the
 * next chunk's, another cache line).  Set by the constructor. */
static int glibc_chunks;
static __thread int tls_resolving IE_TLS;

/* ---- exact counters, one slot per thread --------------------------------- */

/* Written by its owner only (load + store, no locked instruction); summed
 * by readers with relaxed loads.  A slot outlives its thread: the next
 * thread that claims it keeps adding, so the sums never lose anything.
 * The byte counters hold, per block, its usable size plus BLOCK_EXTRA: for
 * a glibc chunk that is not mmapped that is the chunk size itself, which
 * the fast paths add without arithmetic; lynx_heap_totals takes it off
 * again per block. */
#define BLOCK_EXTRA ((size_t)8)
typedef struct thread_counts {
    _Atomic uint64_t allocs;
    _Atomic uint64_t frees;
    _Atomic uint64_t alloc_bytes;
    _Atomic uint64_t free_bytes;
    _Atomic uint32_t owned;          /* 1 while a live thread owns it */
} __attribute__((aligned(64))) thread_counts_t;

enum { TS_NONE = 0, TS_OWN = 1, TS_SHARED = 2 };

static thread_counts_t counts[THREAD_SLOTS];
static thread_counts_t shared_counts; /* atomic adds: threads without slot */
/* 1 with LYNXPROF_HEAP_COUNTERS=1: exact counters, else 0 (set once by
 * the constructor; 1 until then, so that what was allocated before it is
 * counted when they are on).  Without them the fast paths use `uncounted`
 * as their slot, which nothing ever adds to, and call the real functions
 * as tail calls. */
static int counting = 1;
static MAYBE_UNUSED thread_counts_t uncounted;
static _Atomic uint32_t slot_hint;
static __thread thread_counts_t *tls_counts IE_TLS; /* NULL unless TS_OWN */
static __thread int tls_state IE_TLS;

/* ---- sampling ------------------------------------------------------------------ */

typedef struct lynx_live_entry {
    uintptr_t ptr;                   /* 0 = empty slot */
    uint64_t size_bytes;             /* requested */
    double weight;
    uint32_t stack;                  /* index into stacks */
    uint32_t reserved;
} live_entry_t;

typedef struct lynx_stack_entry {
    double alloc_objects;
    double alloc_bytes;
    double inuse_objects;
    double inuse_bytes;
    uint64_t alloc_samples;
    uint64_t alloc_sampled_bytes;
    uint64_t inuse_samples;
    uint64_t inuse_sampled_bytes;
    uint64_t hash;
    uint32_t depth;
    uint32_t flags;
    lynx_sample_labels_t labels;     /* part of the key, tid 0 */
    uint64_t pcs[LYNX_HEAP_MAX_DEPTH];
} stack_entry_t;

/* The heap profile's tables and settings: this file's part of the agent's
 * state (agent/context.h), guarded by heap_lock except the fields set once
 * by the constructor before `configured` is published. */
#define heap (lynx_agent.heap)

#define heap_lock (heap.lock)
/* Counting filter over live sampled addresses: free() looks the table up
 * only when its byte is non-zero.  255 sticks (never decremented). */
static _Atomic uint8_t filter[1u << FILTER_BITS];
/* A coarse level in front of it: each counter is the (saturating) sum of
 * 32 filter counters, so 512 bytes that stay in the cache answer most
 * frees, and the 16 KiB filter is read only where sampled pointers are. */
#define COARSE_SHIFT 5u
static _Atomic uint8_t coarse[1u << (FILTER_BITS - COARSE_SHIFT)];

/* What the fast paths read, together (one TLS offset to load): the
 * thread's counter slot when the fast paths may be taken (glibc underneath,
 * slot owned), else NULL; bytes until the next sample (<= 0: due; never
 * negative outside the slow paths). */
static __thread struct {
    thread_counts_t *fast;
    int64_t countdown;
} tls_hot IE_TLS;
#define tls_countdown tls_hot.countdown
/* 1 when sampled blocks are tagged (glibc, checked at start:
 * see "tag" below). */
static int tagging;
/* The words before a tagged block, counted back from it. */
#define TAG_WORD_WEIGHT 5
#define TAG_WORD_STACK 4
#define TAG_WORD_SIZE 3
#define TAG_WORD_PREFIX 2
#define TAG_WORDS 5
static __thread uint64_t tls_rng IE_TLS;      /* 0 until first sample */
static __thread int tls_guard IE_TLS;         /* inside our slow path */

/* The thread's pace (see pace() below), read and written by the sampling
 * slow path only: the mean interval it draws with (0 until its first
 * sample: heap.rate), the inverse of the mean the last sample was taken
 * at (its weight's), and the window over which it counts its samples. */
static __thread struct {
    double mean;
    double inv_mean;                 /* 1 / mean, when mean > 0 */
    double taken_inv;
    int64_t window_start_ns;         /* CLOCK_MONOTONIC; 0: none yet */
    uint32_t window_samples;
    int taken_raised;                /* the last sample's mean > rate */
} tls_pace IE_TLS;
static _Atomic uint64_t seed_counter;


/* ---- the lock ------------------------------------------------------------------- */

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("pause");
#else
    __asm__ volatile("" ::: "memory");
#endif
}

static void lock(void)
{
    unsigned spins = 0;

    while (atomic_exchange_explicit(&heap_lock, 1, memory_order_acquire)) {
        while (atomic_load_explicit(&heap_lock, memory_order_relaxed)) {
            if (++spins < 128) {
                cpu_relax();
            } else {
                sched_yield();
            }
        }
    }
}

static void unlock(void)
{
    atomic_store_explicit(&heap_lock, 0, memory_order_release);
}

/* ---- bootstrap: before (and while) the real functions are looked up ---- */

static _Alignas(64) unsigned char boot_arena[BOOT_BYTES];
static _Atomic size_t boot_used;

static MAYBE_UNUSED void *boot_alloc(size_t size, size_t align)
{
    size_t used = atomic_load_explicit(&boot_used, memory_order_relaxed);

    if (align < TAG_ALIGN) {
        align = TAG_ALIGN; /* free()'s address test steps aside too */
    }
    for (;;) {
        size_t start = (used + BOOT_HEADER + align - 1) & ~(align - 1);
        if (size > BOOT_BYTES || start + size > BOOT_BYTES ||
            (align & (align - 1)) != 0) {
            errno = ENOMEM;
            return NULL;
        }
        if (atomic_compare_exchange_weak(&boot_used, &used, start + size)) {
            const size_t tag = BOOT_TAG; /* free()'s fast path steps aside */
            memcpy(boot_arena + start - BOOT_HEADER, &size, sizeof(size));
            memcpy(boot_arena + start - sizeof(tag), &tag, sizeof(tag));
            return boot_arena + start;
        }
    }
}

INLINE int is_boot(const void *p)
{
    return (uintptr_t)p - (uintptr_t)boot_arena < BOOT_BYTES;
}

static MAYBE_UNUSED size_t boot_size(const void *p)
{
    size_t size;

    memcpy(&size, (const char *)p - BOOT_HEADER, sizeof(size));
    return size;
}

/* Look the real functions up once.  0 while this thread is inside dlsym
 * (its allocations then come from boot_arena) or if it failed. */
static int resolve(void)
{
    int expected = REAL_NONE;
    int st;

    if (tls_resolving) {
        return 0;
    }
    if (atomic_compare_exchange_strong(&real_state, &expected,
                                       REAL_RESOLVING)) {
        real_fns_t r;
        tls_resolving = 1;
        memset(&r, 0, sizeof(r));
        r.malloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "malloc");
        r.free = (void (*)(void *))dlsym(RTLD_NEXT, "free");
        r.calloc = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "calloc");
        r.realloc = (void *(*)(void *, size_t))dlsym(RTLD_NEXT, "realloc");
        r.reallocarray = (void *(*)(void *, size_t, size_t))dlsym(
            RTLD_NEXT, "reallocarray");
        r.posix_memalign = (int (*)(void **, size_t, size_t))dlsym(
            RTLD_NEXT, "posix_memalign");
        r.aligned_alloc =
            (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "aligned_alloc");
        r.memalign = (void *(*)(size_t, size_t))dlsym(RTLD_NEXT, "memalign");
        r.valloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "valloc");
        r.pvalloc = (void *(*)(size_t))dlsym(RTLD_NEXT, "pvalloc");
        r.usable = (size_t (*)(void *))dlsym(RTLD_NEXT, "malloc_usable_size");
        tls_resolving = 0;
        if (r.malloc == NULL || r.free == NULL || r.calloc == NULL ||
            r.realloc == NULL || r.memalign == NULL ||
            r.posix_memalign == NULL || r.usable == NULL) {
            atomic_store_explicit(&real_state, REAL_FAILED,
                                  memory_order_release);
            return 0;
        }
        real = r;
        atomic_store_explicit(&real_state, REAL_READY, memory_order_release);
        return 1;
    }
    /* Another thread is resolving: wait for it (start-up only). */
    while ((st = atomic_load_explicit(&real_state, memory_order_acquire)) ==
           REAL_RESOLVING) {
        sched_yield();
    }
    return st == REAL_READY;
}

INLINE int ready(void)
{
    return LIKELY(atomic_load_explicit(&real_state, memory_order_acquire) ==
                  REAL_READY) ||
           resolve();
}

/* ---- counting ------------------------------------------------------------------ */

/* Add to a counter only this thread writes; readers load it relaxed.  On
 * x86-64 one add to memory (an aligned 8-byte store is seen whole). */
INLINE void bump(_Atomic uint64_t *w, uint64_t by)
{
#if defined(__x86_64__)
    __asm__("addq %1, %0" : "+m"(*(uint64_t *)w) : "er"(by));
#else
    atomic_store_explicit(
        w, atomic_load_explicit(w, memory_order_relaxed) + by,
        memory_order_relaxed);
#endif
}

static MAYBE_UNUSED void thread_gone(void *slot)
{
    thread_counts_t *c = slot;

    /* Later allocations of this thread (other destructors) share. */
    tls_counts = NULL;
    tls_hot.fast = NULL;
    tls_state = TS_SHARED;
    atomic_store_explicit(&c->owned, 0, memory_order_release);
}

static void claim_slot(void)
{
    uint32_t start = atomic_fetch_add_explicit(&slot_hint, 1,
                                               memory_order_relaxed);

    tls_state = TS_SHARED;
    for (uint32_t k = 0; k < THREAD_SLOTS; k++) {
        thread_counts_t *c = &counts[(start + k) % THREAD_SLOTS];
        uint32_t expected = 0;
        if (atomic_load_explicit(&c->owned, memory_order_relaxed) == 0 &&
            atomic_compare_exchange_strong_explicit(
                &c->owned, &expected, 1, memory_order_acquire,
                memory_order_relaxed)) {
            tls_counts = c;
            tls_state = TS_OWN;
            break;
        }
    }
    /* May allocate (keys past the first 32): counted in the new slot. */
    if (tls_counts != NULL && heap.key_ready) {
        pthread_setspecific(heap.exit_key, tls_counts);
    }
}

static __attribute__((noinline)) void count_slow(int is_alloc, size_t bytes)
{
    thread_counts_t *c;

    if (!counting) {
        return;
    }
    if (tls_state == TS_NONE) {
        claim_slot();
    }
    bytes += BLOCK_EXTRA;
    c = tls_counts;
    if (c != NULL) {
        bump(is_alloc ? &c->allocs : &c->frees, 1);
        bump(is_alloc ? &c->alloc_bytes : &c->free_bytes, bytes);
        return;
    }
    c = &shared_counts;
    atomic_fetch_add_explicit(is_alloc ? &c->allocs : &c->frees, 1,
                              memory_order_relaxed);
    atomic_fetch_add_explicit(is_alloc ? &c->alloc_bytes : &c->free_bytes,
                              bytes, memory_order_relaxed);
}

INLINE void count_alloc(size_t bytes)
{
    thread_counts_t *c = tls_counts;

    if (LIKELY(c != NULL)) {
        bump(&c->allocs, 1);
        bump(&c->alloc_bytes, bytes + BLOCK_EXTRA);
    } else {
        count_slow(1, bytes);
    }
}

INLINE void count_free(size_t bytes)
{
    thread_counts_t *c = tls_counts;

    if (LIKELY(c != NULL)) {
        bump(&c->frees, 1);
        bump(&c->free_bytes, bytes + BLOCK_EXTRA);
    } else {
        count_slow(0, bytes);
    }
}

/* ---- the tables (heap_lock held) ------------------------------------------- */

INLINE uint32_t filter_index(uintptr_t p)
{
    return (uint32_t)(((uint64_t)(p >> 4) * GOLDEN) >> (64 - FILTER_BITS));
}

INLINE int filter_hit(const void *p)
{
    uint32_t i = filter_index((uintptr_t)p);

    if (LIKELY(atomic_load_explicit(&coarse[i >> COARSE_SHIFT],
                                    memory_order_relaxed) == 0)) {
        return 0;
    }
    return atomic_load_explicit(&filter[i], memory_order_relaxed) != 0;
}

static void filter_add(uintptr_t p, int delta)
{
    uint32_t i = filter_index(p);
    _Atomic uint8_t *f = &filter[i];
    _Atomic uint8_t *c = &coarse[i >> COARSE_SHIFT];
    uint8_t v = atomic_load_explicit(f, memory_order_relaxed);
    uint8_t cv;

    if (v == 255 || (delta < 0 && v == 0)) {
        return; /* saturated counters stick */
    }
    /* The coarse counter moves with the fine one (saturating and sticking
     * at 255 too), so it is never 0 while a counter under it is not. */
    cv = atomic_load_explicit(c, memory_order_relaxed);
    if (cv != 255 && !(delta < 0 && cv == 0)) {
        atomic_store_explicit(c, (uint8_t)(cv + delta), memory_order_relaxed);
    }
    atomic_store_explicit(f, (uint8_t)(v + delta), memory_order_relaxed);
}

static uint32_t live_home(uintptr_t p)
{
    return (uint32_t)(((uint64_t)(p >> 4) * GOLDEN) >> (64 - heap.live_bits));
}

static void stack_add(uint32_t si, const live_entry_t *e, int sign)
{
    stack_entry_t *st = &heap.stacks[si];

    st->inuse_objects += sign * e->weight;
    st->inuse_bytes += sign * e->weight * (double)e->size_bytes;
    st->inuse_samples += (uint64_t)(int64_t)sign;
    st->inuse_sampled_bytes += (uint64_t)(int64_t)sign * e->size_bytes;
}

/* The slot holding p in the live table, or -1. */
static int64_t live_find(uintptr_t p)
{
    const uint32_t mask = (1u << heap.live_bits) - 1;
    uint32_t i = live_home(p);

    for (uint32_t n = 0; n <= mask && heap.live[i].ptr != 0;
         n++, i = (i + 1) & mask) {
        if (heap.live[i].ptr == p) {
            return i;
        }
    }
    return -1;
}

/* Take p out of the live table; its entry into *out.  1 if it was there. */
static int live_remove(uintptr_t p, live_entry_t *out)
{
    const uint32_t mask = (1u << heap.live_bits) - 1;
    int64_t found = live_find(p);
    uint32_t i;

    if (found < 0) {
        return 0;
    }
    i = (uint32_t)found;
    *out = heap.live[i];
    /* Backward-shift deletion keeps probe chains whole without
     * tombstones. */
    for (uint32_t j = (i + 1) & mask; heap.live[j].ptr != 0;
         j = (j + 1) & mask) {
        uint32_t k = live_home(heap.live[j].ptr);
        if (((j - k) & mask) >= ((j - i) & mask)) {
            heap.live[i] = heap.live[j];
            i = j;
        }
    }
    heap.live[i].ptr = 0;
    heap.nlive--;
    filter_add(p, -1);
    stack_add(out->stack, out, -1);
    return 1;
}

static MAYBE_UNUSED void *map_table(size_t bytes)
{
    void *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

    return p == MAP_FAILED ? NULL : p;
}


/* Put e in its place in the current table (there is room). */
static void live_place(const live_entry_t *e)
{
    const uint32_t mask = (1u << heap.live_bits) - 1;
    uint32_t i = live_home(e->ptr);

    while (heap.live[i].ptr != 0) {
        i = (i + 1) & mask;
    }
    heap.live[i] = *e;
}

/* Double the live table: a small table stays in the cache, and pages of a
 * large one are touched only when that many samples are live.  0 when no
 * memory could be had (the old table stays). */
static int live_grow(void)
{
    live_entry_t *old = heap.live;
    uint32_t old_slots = 1u << heap.live_bits;
    live_entry_t *bigger =
        map_table((size_t)old_slots * 2 * sizeof(live_entry_t));

    if (bigger == NULL) {
        return 0;
    }
    heap.live = bigger;
    heap.live_bits++;
    for (uint32_t i = 0; i < old_slots; i++) {
        if (old[i].ptr != 0) {
            live_place(&old[i]);
        }
    }
    munmap(old, (size_t)old_slots * sizeof(live_entry_t));
    return 1;
}

static int live_insert(const live_entry_t *e)
{
    live_entry_t stale;

    /* An address we still hold was freed behind our back (a free we did
     * not see): forget the old sample first. */
    if (filter_hit((const void *)e->ptr) && live_remove(e->ptr, &stale)) {
        heap.untracked++;
    }
    if (heap.nlive >= LIVE_MAX) {
        return 0;
    }
    if (heap.nlive >= (1u << heap.live_bits) / 2 &&
        (heap.live_bits == LIVE_BITS_MAX || !live_grow()) &&
        heap.nlive >= (1u << heap.live_bits) / 4 * 3) {
        return 0;
    }
    live_place(e);
    heap.nlive++;
    filter_add(e->ptr, +1);
    stack_add(e->stack, e, +1);
    return 1;
}

static uint64_t hash_pcs(const uint64_t *pcs, uint32_t depth, uint32_t flags,
                         const lynx_sample_labels_t *labels)
{
    uint64_t h = GOLDEN ^ depth ^ ((uint64_t)flags << 32);
    uint64_t w[2];

    for (uint32_t i = 0; i < depth; i++) {
        h = (h ^ pcs[i]) * GOLDEN;
        h ^= h >> 29;
    }
    /* The thread's name and the first label's value tell most label sets
     * apart; equal hashes compare the labels whole. */
    memcpy(&w[0], labels->thread, sizeof(uint64_t));
    memcpy(&w[1], labels->labels[0].value, sizeof(uint64_t));
    for (int i = 0; i < 2; i++) {
        h = (h ^ w[i] ^ labels->nlabels) * GOLDEN;
        h ^= h >> 29;
    }
    return h | 1;
}

/* The stack's entry, added if new; 0 (the empty stack) when full.  `h`
 * is its hash_pcs, taken before the lock. */
static uint32_t stack_intern(const uint64_t *pcs, uint32_t depth,
                             uint32_t flags,
                             const lynx_sample_labels_t *labels, uint64_t h)
{
    const uint32_t mask = STACK_INDEX - 1;
    uint32_t i = (uint32_t)(h >> 32) & mask;
    /* Two captures are equal if their bytes up to the last label in use
     * are: the count is among them, and the rest is zero in both. */
    size_t used = offsetof(lynx_sample_labels_t, labels) +
                  (labels->nlabels < LYNX_LABEL_DEPTH ? labels->nlabels
                                                      : LYNX_LABEL_DEPTH) *
                      sizeof(lynx_label_rec_t);

    for (uint32_t n = 0; n < STACK_INDEX; n++, i = (i + 1) & mask) {
        uint32_t si = heap.stack_index[i];
        stack_entry_t *st;
        if (si == 0) {
            if (heap.nstacks >= STACK_SLOTS) {
                break;
            }
            si = heap.nstacks++;
            st = &heap.stacks[si];
            memset(st, 0, offsetof(stack_entry_t, pcs));
            st->hash = h;
            st->depth = depth;
            st->flags = flags;
            st->labels = *labels;
            memcpy(st->pcs, pcs, depth * sizeof(uint64_t));
            heap.stack_index[i] = si + 1;
            return si;
        }
        st = &heap.stacks[si - 1];
        if (st->hash == h && st->depth == depth && st->flags == flags &&
            memcmp(st->pcs, pcs, depth * sizeof(uint64_t)) == 0 &&
            memcmp(&st->labels, labels, used) == 0) {
            return si - 1;
        }
    }
    heap.overflow++;
    return 0;
}

/* ---- the slow path of an allocation ------------------------------------------- */

/* The two functions of libm the sampler needs, here so that the agent
 * needs no libm and never touches errno: ln(u) for u in (0, 1], to about
 * 1e-10 relative, and 1 - exp(-x) for x in [0.5, 40] (weight() needs it
 * only for blocks of half the rate and larger), to about 1e-12.  Their
 * series take 1/k from this table: a division in the loop costs more
 * than the rest of the series (each sample evaluates both). */
static const double inverse[22] = {
    0.0,       1.0,       1.0 / 2,  1.0 / 3,  1.0 / 4,  1.0 / 5,
    1.0 / 6,   1.0 / 7,   1.0 / 8,  1.0 / 9,  1.0 / 10, 1.0 / 11,
    1.0 / 12,  1.0 / 13,  1.0 / 14, 1.0 / 15, 1.0 / 16, 1.0 / 17,
    1.0 / 18,  1.0 / 19,  1.0 / 20, 1.0 / 21,
};

static double log_unit(double u)
{
    uint64_t bits;
    int e;
    double m;
    double t;
    double t2;
    double sum;

    memcpy(&bits, &u, sizeof(bits));
    e = (int)((bits >> 52) & 0x7ff) - 1023; /* u is normal: u >= 2^-53 */
    bits = (bits & 0x000fffffffffffffULL) | 0x3ff0000000000000ULL;
    memcpy(&m, &bits, sizeof(m)); /* u = m * 2^e, m in [1, 2) */
    if (m > 1.4142135623730951) {
        m *= 0.5;
        e++;
    }
    /* ln(m) = 2 atanh(t), t = (m - 1) / (m + 1), |t| < 0.172.  Six terms:
     * the first left out, t^12 / 13, is below 2e-10 of the sum, far under
     * what an exponential draw needs (the ten of before cost a quarter of
     * a sample's own time). */
    t = (m - 1.0) / (m + 1.0);
    t2 = t * t;
    sum = inverse[11];
    for (int k = 9; k >= 1; k -= 2) {
        sum = inverse[k] + t2 * sum;
    }
    return 2.0 * t * sum + e * 0.6931471805599453;
}

static double one_minus_exp_neg(double x)
{
    double y;
    double term;
    double sum;
    int squarings = 0;

    y = x;
    while (y > 1.0 / 64) {
        y *= 0.5;
        squarings++;
    }
    sum = 1.0;
    term = 1.0;
    for (int k = 1; k <= 8; k++) {
        term *= -y * inverse[k];
        sum += term;
    }
    while (squarings-- > 0) {
        sum *= sum; /* exp(-2y) = exp(-y)^2 */
    }
    return 1.0 - sum;
}


static void seed_rng(void)
{
    uint64_t s = atomic_fetch_add_explicit(&seed_counter, GOLDEN,
                                           memory_order_relaxed);

    s ^= (uintptr_t)&tls_rng * 0xbf58476d1ce4e5b9ULL;
    s ^= (uint64_t)getpid() << 32;
    tls_rng = s != 0 ? s : GOLDEN;
}

/* The thread's mean interval: heap.rate unless pace() raised it. */
INLINE double thread_mean(void)
{
    return tls_pace.mean > 0.0 ? tls_pace.mean : (double)heap.rate;
}

/* Bytes until the next sample: exponential with the thread's mean; 0
 * (every allocation) for rate 1. */
static int64_t draw_interval(void)
{
    uint64_t x = tls_rng;
    double u;
    double v;

    if (heap.rate <= 1) {
        return 0; /* every allocation: the countdown stays at 0 */
    }
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    tls_rng = x;
    u = (double)(((x * 2685821657736338717ULL) >> 11) + 1) * 0x1.0p-53;
    v = -log_unit(u) * thread_mean();
    return v > 4e18 ? (int64_t)4e18 : (int64_t)v;
}

double lynx_heap_paced_mean(double mean, uint32_t samples, int64_t elapsed_ns,
                            uint32_t limit, double rate, double mean_max)
{
    double seen;

    if (elapsed_ns < PACE_MIN_NS) {
        elapsed_ns = PACE_MIN_NS;
    }
    seen = (double)samples * 1e9 / (double)elapsed_ns; /* a second */
    mean *= seen / (double)limit;
    return mean < rate ? rate : mean > mean_max ? mean_max : mean;
}

/* The pace of a thread's samples (LYNXPROF_HEAP_SAMPLE_LIMIT, samples a
 * second; 0 = no limit; not for rate 1).  A sample costs a stack walk:
 * at the default rate, a thread that allocates 500 MB a second would
 * spend several per cent of its time on them.  So each thread counts its
 * samples over a window of a second, closed early when it holds `limit`
 * samples; when a window closes the mean is scaled by the rate seen over
 * the limit (lynx_heap_paced_mean), between heap.rate and heap.mean_max:
 * a thread that samples faster than the limit draws longer intervals
 * from then on, about `limit` samples a second, and one that slows down
 * draws shorter ones again, down to heap.rate (a window that ends after
 * a second holds fewer samples than the limit).  Other threads keep
 * their own pace.
 * Each sample still weighs the inverse of its chance, 1/(1-exp(-size /
 * mean)) with the mean its interval was drawn with (the countdown is
 * memoryless, and the mean is fixed before the bytes it applies to are
 * allocated), so every estimate stays unbiased; only the variance of a
 * fast allocating thread's share grows.  Called for every sample taken,
 * after its weight's mean is kept in taken_inv. */
static void pace(void)
{
    uint32_t limit = heap.sample_limit;
    int64_t now;
    int64_t elapsed;

    if (limit == 0 || heap.rate <= 1) {
        return;
    }
    now = lynx_mono_ns(); /* vDSO: no system call, nothing allocated */
    if (tls_pace.window_start_ns == 0) {
        tls_pace.window_start_ns = now;
    }
    tls_pace.window_samples++;
    elapsed = now - tls_pace.window_start_ns;
    if (tls_pace.window_samples < limit && elapsed < PACE_WINDOW_NS) {
        return;
    }
    tls_pace.mean =
        lynx_heap_paced_mean(thread_mean(), tls_pace.window_samples, elapsed,
                             limit, (double)heap.rate, heap.mean_max);
    tls_pace.inv_mean = 1.0 / tls_pace.mean;
    tls_pace.window_start_ns = now;
    tls_pace.window_samples = 0;
}

/* The weight of a sample of `size` bytes taken at the mean whose inverse
 * is `inv` (tls_pace.taken_inv). */
static double weight(size_t size, double inv)
{
    double x;

    if (heap.rate <= 1 || size == 0) {
        return 1.0;
    }
    x = (double)size * inv;
    if (x < 0.5) {
        /* Blocks under half the rate (nearly all): 1 / (1 - exp(-x)) by
         * its Laurent series (Bernoulli numbers), 1/x + 1/2 + x/12 -
         * x^3/720 + x^5/30240 - x^7/1209600, one division; the first term
         * left out, x^9/47900160, is under 2e-11 of the sum at x = 0.5. */
        double x2 = x * x;
        return 1.0 / x + 0.5 +
               x * (1.0 / 12 -
                    x2 * (1.0 / 720 -
                          x2 * (1.0 / 30240 - x2 * (1.0 / 1209600))));
    }
    if (x > 40.0) {
        return 1.0;
    }
    return 1.0 / one_minus_exp_neg(x);
}

/* Record a sampled allocation.  `ra` is the return address of the
 * interposed function: frames before it are ours and are dropped.
 * Returns the sample's stack: a tagged block keeps it in its prefix, and
 * only a block of another allocator goes into the live table (then
 * TAG_UNTRACKED is returned). */
INLINE size_t record(void *p, size_t size, double w, const void *ra)
{
    void *buf[UNWIND_MAX];
    uint64_t pcs[LYNX_HEAP_MAX_DEPTH];
    lynx_sample_labels_t labels;
    live_entry_t e;
    size_t tracked = TAG_UNTRACKED;
    uint64_t h;
    uint32_t depth = 0;
    uint32_t flags = 0;
    int first = 0;
    int n;

    n = lynx_unwind_inline(buf, UNWIND_MAX);
    if (UNLIKELY(n > 0 && atomic_load_explicit(&heap.unwind_site,
                                               memory_order_relaxed) == NULL)) {
        atomic_store_explicit(&heap.unwind_site, buf[0], memory_order_relaxed);
    }
    for (int i = 0; i < n && i < 8; i++) {
        if (buf[i] == ra) {
            first = i;
            break;
        }
    }
    if (first == 0 && n > 0 && buf[0] != ra) {
        /* Our return address was not found (an unwinder quirk): keep the
         * caller we know of as the leaf. */
        pcs[depth++] = (uint64_t)(uintptr_t)ra;
        first = n;
    }
    for (int i = first; i < n; i++) {
        if (depth == LYNX_HEAP_MAX_DEPTH) {
            flags |= LYNX_STACK_TRUNCATED;
            break;
        }
        pcs[depth++] = (uint64_t)(uintptr_t)buf[i];
    }
    if (n <= 0) {
        /* Not unwound (a fork is under way, or this is a child without an
         * agent: agent/fork.h): the caller we know of stands for it. */
        pcs[depth++] = (uint64_t)(uintptr_t)ra;
        flags |= LYNX_STACK_TRUNCATED;
    }
    e.ptr = (uintptr_t)p;
    e.size_bytes = size;
    e.weight = w;
    e.reserved = 0;
    /* The allocating thread and what it works for; not its id (the
     * table lives as long as the process, threads do not). */
    lynx_labels_capture(&labels, &flags);
    labels.tid = 0;

    h = hash_pcs(pcs, depth, flags, &labels);
    lock();
    e.stack = stack_intern(pcs, depth, flags, &labels, h);
    {
        stack_entry_t *st = &heap.stacks[e.stack];
        st->alloc_objects += e.weight;
        st->alloc_bytes += e.weight * (double)size;
        st->alloc_samples++;
        st->alloc_sampled_bytes += size;
    }
    heap.samples++;
    heap.paced += (uint64_t)tls_pace.taken_raised;
    if (tagging) {
        heap.nlive++;
        stack_add(e.stack, &e, +1);
        tracked = e.stack;
    } else if (!live_insert(&e)) {
        heap.untracked++;
    }
    unlock();
    return tracked;
}

/* The countdown ran out: whether this allocation is recorded.  Draws the
 * next interval; never for our own allocations (made while unwinding).
 * Leaves the countdown >= 0, which the fast paths rely on. */
static __attribute__((noinline)) int take_sample(void)
{
    int take = 0;

    if (tls_guard) {
        /* An allocation of our own unwinding: never sampled.  The next
         * one of the program's is, instead. */
        if (tls_countdown < 0) {
            tls_countdown = 0;
        }
        return 0;
    }
    if (!atomic_load_explicit(&heap.configured, memory_order_acquire)) {
        tls_countdown = 0; /* decide again once configured */
    } else if (heap.stacks == NULL) {
        tls_countdown = INT64_MAX; /* sampling is off */
    } else if (tls_rng == 0) {
        /* First decision on this thread: start its countdown. */
        seed_rng();
        tls_countdown += draw_interval();
        take = tls_countdown <= 0;
    } else {
        take = 1;
    }
    if (take) {
        /* The interval that ran out was drawn with the mean in force: the
         * sample weighs by it, and the next is drawn after pace(). */
        int raised = tls_pace.mean > (double)heap.rate;
        tls_pace.taken_inv = raised ? tls_pace.inv_mean : heap.inv_rate;
        tls_pace.taken_raised = raised;
        pace();
        tls_countdown = draw_interval();
    }
    return take;
}

/* Record a sampled allocation of weight `w` (the slow path: errno kept,
 * no re-entry).  Returns what record() does. */
INLINE size_t sample(void *p, size_t size, double w, const void *ra)
{
    int saved_errno = errno;
    size_t si;

    tls_guard = 1;
    si = record(p, size, w, ra);
    tls_guard = 0;
    errno = saved_errno;
    return si;
}

/* Usable bytes of a glibc chunk from its header word: size | flags, 0x2 =
 * mmapped.  Usable is the size minus the header (16 bytes for mmapped
 * chunks, else 8: the next chunk's prev_size field belongs to this one). */
INLINE size_t chunk_usable(size_t h)
{
    return (h & ~(size_t)7) - 8 - ((h & 2) << 2);
}

/* What the byte counters add for a chunk: its usable size + BLOCK_EXTRA,
 * the chunk size for all but mmapped chunks (large and rare). */
INLINE size_t chunk_counted(size_t h)
{
    return LIKELY((h & 2) == 0) ? h & ~(size_t)7
                                : chunk_usable(h) + BLOCK_EXTRA;
}

/* ---- sampled blocks carry a tag ---------------------------------------------
 *
 * With glibc's allocator, a sampled block is allocated up to TAG_ALIGN + 32
 * bytes larger (or its alignment, up to a page) and handed out at the
 * first multiple of TAG_ALIGN (or of its alignment) at least TAG_WORDS
 * words into the real block, with its sample in the words in front: its
 * weight, the stack it was allocated from (an index into the stack table,
 * or TAG_UNTRACKED), the size asked for, the distance from the real block
 * (`prefix`), then TAG where glibc keeps a chunk's size.  So the free of
 * a sampled block finds its sample without a table of live blocks.  It
 * checks the stack index against the table and the weight's range (a
 * program that writes before its block must make us neither write
 * outside the table nor spoil a stack's sums).  A chunk
 * size is a multiple of 16, so bit 3 of that word is never set in a block
 * of glibc's own: free() tells a sampled block from that word, and needs
 * no table lookup, no filter and no lock for all the others.  Without the
 * exact counters (which read the word anyway) free() reads it only for
 * blocks at a multiple of TAG_ALIGN.  With
 * another allocator, a counting filter of sampled addresses does that job
 * (slower).  malloc_usable_size, realloc and free know the tag; nothing
 * else reads chunk headers. */


/* Sampling is on but blocks cannot be tagged: the filter finds them. */
INLINE int filtering(void)
{
    return heap.stacks != NULL && !tagging;
}

INLINE int tagged(const void *q)
{
    return tagging && (((const size_t *)q)[-1] & TAG_BIT) != 0;
}

/* The real block under a tagged one, and the tagged block's usable size. */
static void *untag(void *q, size_t *usable)
{
    size_t prefix = ((const size_t *)q)[-TAG_WORD_PREFIX];
    void *r = (char *)q - prefix;

    *usable = chunk_usable(((const size_t *)r)[-1]) - prefix;
    return r;
}

/* malloc_usable_size of a block handed out by us (not boot memory). */
INLINE size_t usable_of(void *p)
{
    if (LIKELY(glibc_chunks)) {
        size_t h = ((const size_t *)p)[-1];
        if (UNLIKELY(h & TAG_BIT) && tagging) {
            size_t u;
            untag(p, &u);
            return u;
        }
        return chunk_usable(h);
    }
    return real.usable(p);
}

/* The countdown: true when this allocation of `size` bytes is due; then
 * take_sample must follow (it draws the next interval). */
INLINE int due(size_t size)
{
    if (UNLIKELY(__builtin_sub_overflow(tls_countdown, size,
                                        &tls_countdown))) {
        tls_countdown = -1; /* a size beyond any countdown */
    }
    return UNLIKELY(tls_countdown <= 0);
}

enum { ALLOC_PLAIN = 0, ALLOC_ZEROED = 1 };

/* The slow path of an allocation that is due: allocate and record it, or
 * NOT_TAKEN when it is not to be sampled after all (the caller then
 * allocates as usual).  `align` is 0 for malloc's own alignment. */
#define NOT_TAKEN ((void *)1)
static MAYBE_UNUSED __attribute__((noinline)) void *
alloc_sampled(int how, size_t align, size_t size, const void *ra)
{
    /* Up to TAG_ALIGN the block is over-allocated by TAG_ALIGN + 32 and
     * the prefix found once the real block is known; above it the real
     * block is aligned and the prefix is the alignment. */
    size_t extra = align > TAG_ALIGN ? align : TAG_ALIGN + 32;
    double w;
    size_t prefix;
    size_t total;
    size_t si;
    char *r;
    void *q;

    if (!take_sample()) {
        return NOT_TAKEN;
    }
    if (!tagging) {
        /* Another allocator: a plain block, found again by the filter. */
        q = how == ALLOC_ZEROED ? real.calloc(1, size)
            : align != 0        ? real.memalign(align, size)
                                : real.malloc(size);
        if (q == NULL) {
            return NULL;
        }
        count_alloc(real.usable(q));
        w = weight(size, tls_pace.taken_inv);
    } else {
        if (extra > TAG_PREFIX_MAX || (align & (align - 1)) != 0 ||
            __builtin_add_overflow(size, extra, &total)) {
            return NOT_TAKEN; /* rare shapes stay unsampled */
        }
        r = how == ALLOC_ZEROED ? real.calloc(1, total)
            : align > TAG_ALIGN ? real.memalign(align, total)
                                : real.malloc(total);
        if (r == NULL) {
            return NULL;
        }
        /* glibc's blocks are 16-aligned, so the prefix is 48 bytes
         * (TAG_WORDS words, rounded up to 16) to TAG_ALIGN + 32. */
        prefix = align > TAG_ALIGN
                     ? align
                     : (((uintptr_t)r + TAG_WORDS * sizeof(size_t) +
                         TAG_ALIGN - 1) &
                        ~(uintptr_t)(TAG_ALIGN - 1)) -
                           (uintptr_t)r;
        q = r + prefix;
        w = weight(size, tls_pace.taken_inv);
        ((double *)q)[-TAG_WORD_WEIGHT] = w;
        ((size_t *)q)[-TAG_WORD_SIZE] = size;
        ((size_t *)q)[-TAG_WORD_PREFIX] = prefix;
        ((size_t *)q)[-1] = TAG;
        count_alloc(chunk_usable(((const size_t *)r)[-1]) - prefix);
    }
    /* One call, inlined here with the unwind (each frame of ours between
     * the unwinder and the program costs a lookup a sample).  A tagged
     * block keeps the stack it returns; it is not handed out yet, so
     * nobody else can free it meanwhile. */
    si = sample(q, size, w, ra);
    if (tagging) {
        ((size_t *)q)[-TAG_WORD_STACK] = si;
    }
    return q;
}

/* Take a sampled pointer out of the in-use estimates: a tagged block by
 * the sample in its prefix, another by the live table. */
static void forget(void *p)
{
    live_entry_t e;

    if (tagging) {
        size_t si = ((const size_t *)p)[-TAG_WORD_STACK];
        e.size_bytes = ((const size_t *)p)[-TAG_WORD_SIZE];
        e.weight = ((const double *)p)[-TAG_WORD_WEIGHT];
        /* 1 to the largest mean / 1 byte, as weight() gives them; false
         * for NaN */
        if (si == TAG_UNTRACKED ||
            !(e.weight >= 1.0 && e.weight <= 2.0 * heap.mean_max)) {
            return;
        }
        lock();
        if (si < heap.nstacks && heap.nlive > 0) {
            heap.nlive--;
            stack_add((uint32_t)si, &e, -1);
        }
        unlock();
        return;
    }
    lock();
    if (heap.live != NULL) {
        live_remove((uintptr_t)p, &e);
    }
    unlock();
}

/* Release a block handed out by us (not boot memory, not NULL).  The
 * sample is forgotten before the real call: the address may be reused by
 * another thread as soon as that starts. */
INLINE void release(void *p)
{
    if (LIKELY(glibc_chunks)) {
        size_t h = ((const size_t *)p)[-1];
        if (UNLIKELY(h & TAG_BIT) && tagging) {
            size_t u;
            void *r = untag(p, &u);
            count_free(u);
            forget(p);
            real.free(r);
            return;
        }
        count_free(chunk_usable(h)); /* no filter: glibc means tags */
        real.free(p);
        return;
    }
    count_free(real.usable(p));
    if (filtering() && filter_hit(p)) {
        forget(p);
    }
    real.free(p);
}

/* A sampled block (tagged, or found by the filter). */
static MAYBE_UNUSED int is_sampled(void *p)
{
    int found = 0;

    if (tagging) {
        return tagged(p);
    }
    if (filtering() && filter_hit(p)) {
        lock();
        found = heap.live != NULL && live_find((uintptr_t)p) >= 0;
        unlock();
    }
    return found;
}

/* ---- the interposed functions --------------------------------------------------- */

#ifndef LYNX_NO_MALLOC_HOOKS

/* malloc and calloc after the bootstrap. */
INLINE void *alloc(int how, size_t size, const void *ra)
{
    void *p;

    if (UNLIKELY(due(size))) {
        p = alloc_sampled(how, 0, size, ra);
        if (p != NOT_TAKEN) {
            return p;
        }
    }
    p = how == ALLOC_ZEROED ? real.calloc(1, size) : real.malloc(size);
    if (LIKELY(p != NULL)) {
        count_alloc(usable_of(p));
    }
    return p;
}

/* The thread may take the fast paths from now on (glibc underneath, its
 * counter slot owned, or no counting). */
INLINE void arm_fast(void)
{
    if (glibc_chunks && !counting) {
        tls_hot.fast = &uncounted;
    } else if (glibc_chunks && tls_state == TS_OWN) {
        tls_hot.fast = tls_counts;
    }
}

static __attribute__((noinline)) void *alloc_slow(int how, size_t size,
                                                  const void *ra)
{
    void *p;

    if (UNLIKELY(!ready())) {
        return boot_alloc(size, 16); /* boot memory starts zeroed */
    }
    p = alloc(how, size, ra);
    arm_fast();
    return p;
}

/* The fast paths of malloc, calloc and free: glibc underneath (so the
 * real functions are resolved), the thread's counter slot claimed, no
 * sample due, no sampled, boot or mmapped block: two TLS loads, the
 * countdown, the real call, the chunk header word and two adds.
 * Everything else takes the slow path. */

/* Whether an allocation of `size` bytes may take the fast path (it is not
 * due: the countdown stays above 0); if so its bytes are off the
 * countdown.  Outside the slow paths the countdown is never negative
 * (take_sample sees to that), so one unsigned comparison covers every
 * size. */
INLINE int fast_take(const thread_counts_t *c, size_t size)
{
    uint64_t cd = (uint64_t)tls_hot.countdown;

    if (UNLIKELY(c == NULL || size >= cd)) {
        return 0;
    }
    tls_hot.countdown = (int64_t)(cd - size);
    return 1;
}

/* Count a block the real allocator just handed out on a fast path. */
INLINE void *counted(thread_counts_t *c, void *p)
{
    if (LIKELY(p != NULL)) {
        bump(&c->allocs, 1);
        bump(&c->alloc_bytes, chunk_counted(((const size_t *)p)[-1]));
    }
    return p;
}

/* The counted fast paths, apart: malloc and calloc themselves then need
 * no stack frame, and without counters are a test and a tail jump. */
static __attribute__((noinline)) void *malloc_counted(thread_counts_t *c,
                                                      size_t size)
{
    return counted(c, real.malloc(size));
}

static __attribute__((noinline)) void *calloc_counted(thread_counts_t *c,
                                                      size_t total)
{
    return counted(c, real.calloc(1, total));
}

EXPORT void *malloc(size_t size)
{
    thread_counts_t *c = tls_hot.fast;

    if (LIKELY(fast_take(c, size))) {
        if (LIKELY(c == &uncounted)) {
            return real.malloc(size);
        }
        return malloc_counted(c, size);
    }
    return alloc_slow(ALLOC_PLAIN, size, RETURN_ADDRESS());
}

EXPORT void *calloc(size_t n, size_t size)
{
    thread_counts_t *c = tls_hot.fast;
    size_t total;

    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    if (LIKELY(fast_take(c, total))) {
        if (LIKELY(c == &uncounted)) {
            return real.calloc(1, total);
        }
        return calloc_counted(c, total);
    }
    return alloc_slow(ALLOC_ZEROED, total, RETURN_ADDRESS());
}

static __attribute__((noinline)) void free_slow(void *p)
{
    if (p == NULL || is_boot(p)) {
        return; /* boot memory is never reused */
    }
    if (UNLIKELY(!ready())) {
        return; /* cannot happen: p came from a real allocator */
    }
    release(p);
    arm_fast();
}

EXPORT void free(void *p)
{
    thread_counts_t *c = tls_hot.fast;

    if (LIKELY(c == &uncounted)) {
        /* No counters: a block that does not start at a multiple of
         * TAG_ALIGN is neither sampled nor boot memory nor NULL, and goes
         * to the real free untouched (glibc reads its header itself); one
         * that does is looked at first. */
        if (LIKELY(((uintptr_t)p & (TAG_ALIGN - 1)) != 0)) {
            real.free(p);
            return;
        }
        if (p == NULL) {
            return;
        }
        if ((((const size_t *)p)[-1] & TAG_BIT) == 0) {
            real.free(p);
            return;
        }
    } else if (LIKELY(p != NULL && c != NULL)) {
        size_t h = ((const size_t *)p)[-1];
        if (LIKELY((h & (TAG_BIT | 2)) == 0)) { /* not sampled, not mmapped */
            if (c != &uncounted) {
                bump(&c->frees, 1);
                /* chunk_counted(h) of a chunk that is not mmapped (gcc
                 * does not see that the test above already excluded the
                 * bit) */
                bump(&c->free_bytes, h & ~(size_t)7);
            }
            real.free(p);
            return;
        }
    }
    free_slow(p);
}

INLINE void *realloc_impl(void *old, size_t size, const void *ra)
{
    size_t old_usable;
    void *p;

    if (UNLIKELY(!ready())) {
        p = boot_alloc(size, 16);
        if (p != NULL && old != NULL) {
            size_t n = boot_size(old);
            memcpy(p, old, n < size ? n : size);
        }
        return p;
    }
    if (old == NULL || UNLIKELY(is_boot(old))) {
        p = alloc(ALLOC_PLAIN, size, ra);
        if (p != NULL && old != NULL) {
            size_t n = boot_size(old);
            memcpy(p, old, n < size ? n : size);
        }
        return p;
    }
    old_usable = usable_of(old);
    if (UNLIKELY(is_sampled(old))) {
        /* A sampled block moves: its tag and sample stay with it. */
        if (size == 0) {
            release(old); /* glibc: realloc(p, 0) frees p */
            return NULL;
        }
        p = alloc(ALLOC_PLAIN, size, ra);
    } else if (size != 0 && UNLIKELY(due(size)) &&
               (p = alloc_sampled(ALLOC_PLAIN, 0, size, ra)) != NOT_TAKEN) {
        /* Due for a sample: the block moves into a sampled one. */
    } else {
        p = real.realloc(old, size);
        if (p == NULL && size != 0) {
            return NULL; /* failed: the old block is still there */
        }
        count_free(old_usable);
        if (p != NULL) {
            count_alloc(usable_of(p));
        }
        return p;
    }
    if (p == NULL) {
        return NULL; /* the old block (and its sample) stay */
    }
    memcpy(p, old, old_usable < size ? old_usable : size);
    release(old);
    return p;
}

EXPORT void *realloc(void *old, size_t size)
{
    return realloc_impl(old, size, RETURN_ADDRESS());
}

EXPORT void *reallocarray(void *old, size_t n, size_t size)
{
    size_t total;

    if (__builtin_mul_overflow(n, size, &total)) {
        errno = ENOMEM;
        return NULL;
    }
    return realloc_impl(old, total, RETURN_ADDRESS());
}

/* The aligned allocators after the bootstrap: `fn` (NULL: memalign) for
 * a block that is not sampled. */
INLINE void *aligned(void *(*fn)(size_t, size_t), size_t align, size_t size,
                     const void *ra)
{
    void *p;

    if (UNLIKELY(due(size))) {
        p = alloc_sampled(ALLOC_PLAIN, align != 0 ? align : 16, size, ra);
        if (p != NOT_TAKEN) {
            return p;
        }
    }
    p = fn != NULL ? fn(align, size) : real.memalign(align, size);
    if (LIKELY(p != NULL)) {
        count_alloc(usable_of(p));
    }
    return p;
}

EXPORT int posix_memalign(void **out, size_t align, size_t size)
{
    void *p;

    if (align < sizeof(void *) || (align & (align - 1)) != 0) {
        return EINVAL;
    }
    if (UNLIKELY(!ready())) {
        p = boot_alloc(size, align);
    } else {
        int saved_errno = errno;
        p = aligned(NULL, align, size, RETURN_ADDRESS());
        errno = saved_errno; /* posix_memalign leaves errno alone */
    }
    if (p == NULL) {
        return ENOMEM;
    }
    *out = p;
    return 0;
}

EXPORT void *aligned_alloc(size_t align, size_t size)
{
    if (UNLIKELY(!ready())) {
        return boot_alloc(size, align);
    }
    return aligned(real.aligned_alloc, align, size, RETURN_ADDRESS());
}

EXPORT void *memalign(size_t align, size_t size)
{
    if (UNLIKELY(!ready())) {
        return boot_alloc(size, align);
    }
    return aligned(real.memalign, align, size, RETURN_ADDRESS());
}

EXPORT void *valloc(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);

    if (UNLIKELY(!ready())) {
        return boot_alloc(size, page);
    }
    return aligned(NULL, page, size, RETURN_ADDRESS());
}

EXPORT void *pvalloc(size_t size)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t rounded = (size + page - 1) & ~(page - 1);

    if (rounded < size) {
        errno = ENOMEM;
        return NULL;
    }
    if (UNLIKELY(!ready())) {
        return boot_alloc(rounded, page);
    }
    return aligned(NULL, page, rounded != 0 ? rounded : page,
                   RETURN_ADDRESS());
}

EXPORT size_t malloc_usable_size(void *p)
{
    if (p == NULL) {
        return 0;
    }
    if (is_boot(p)) {
        return boot_size(p);
    }
    if (!ready()) {
        return 0;
    }
    return usable_of(p);
}

/* ---- start-up, fork ------------------------------------------------------------- */

static void fork_prepare(void)
{
    lock();
}

static void fork_parent(void)
{
    unlock();
}

static void fork_child(void)
{
    /* Only this thread exists now: the other slots are free again (their
     * sums stay, as always). */
    for (uint32_t i = 0; i < THREAD_SLOTS; i++) {
        if (&counts[i] != tls_counts) {
            atomic_store_explicit(&counts[i].owned, 0, memory_order_relaxed);
        }
    }
    unlock();
}

/* LYNXPROF_HEAP_COUNTERS: set and neither empty nor 0 turns the exact
 * counters on.  Off by default: they read every block's chunk header
 * (see "The malloc path at rest" in docs/PERFORMANCE.md for the cost). */
static int env_counting(void)
{
    const char *s = getenv("LYNXPROF_HEAP_COUNTERS");

    return s != NULL && *s != '\0' && strcmp(s, "0") != 0;
}

static uint64_t env_rate(void)
{
    const char *s = getenv("LYNXPROF_HEAP_RATE");
    const char *agent = getenv("LYNXPROF_AGENT");
    uint64_t v = 0;

    if (agent != NULL && strcmp(agent, "0") == 0) {
        return 0; /* no agent: nobody could read the profile */
    }
    if (s == NULL || *s == '\0') {
        return LYNX_HEAP_RATE_DEFAULT;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > (UINT64_C(1) << 40)) {
            return LYNX_HEAP_RATE_DEFAULT; /* not a sane number */
        }
        v = v * 10 + (uint64_t)(*s - '0');
    }
    return v;
}

/* LYNXPROF_HEAP_SAMPLE_LIMIT: the most heap samples a second a thread
 * takes before pace() raises its mean interval; 0 = no limit. */
static uint32_t env_sample_limit(void)
{
    const char *s = getenv("LYNXPROF_HEAP_SAMPLE_LIMIT");
    uint32_t v = 0;

    if (s == NULL || *s == '\0') {
        return LYNX_HEAP_SAMPLE_LIMIT_DEFAULT;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9' || v > 100000000u) {
            return LYNX_HEAP_SAMPLE_LIMIT_DEFAULT; /* not a sane number */
        }
        v = v * 10 + (uint32_t)(*s - '0');
    }
    return v;
}

/* Before main() (and before the agent's own constructor): environment and
 * tables.  Allocations made earlier are counted but not sampled. */
__attribute__((constructor(101))) static void heap_configure(void)
{
    uint64_t rate;

    if (!ready()) {
        return;
    }
    if (pthread_key_create(&heap.exit_key, thread_gone) == 0) {
        heap.key_ready = 1;
        if (tls_counts != NULL) {
            pthread_setspecific(heap.exit_key, tls_counts);
        }
    }
    pthread_atfork(fork_prepare, fork_parent, fork_child);
    {
        /* Read chunk headers only when the next malloc is glibc's and
         * agrees with its own malloc_usable_size on a few blocks. */
        Dl_info info;
        if (dladdr((void *)real.malloc, &info) != 0 &&
            info.dli_fname != NULL && strstr(info.dli_fname, "libc.so")) {
            int agree = 1;
            /* All below glibc's mmap threshold (128 KiB unless set):
             * freeing an mmapped block would raise the program's mmap
             * and trim thresholds (glibc adjusts them to the largest
             * such block freed), and so change when it gives memory
             * back to the system. */
            static const size_t probe[] = {1, 24, 100, 1000, 100000};
            for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
                void *p = real.malloc(probe[i]);
                size_t h;
                if (p == NULL) {
                    agree = 0;
                    break;
                }
                h = ((const size_t *)p)[-1];
                /* ... and chunk sizes are multiples of 16: bit 3 is ours */
                agree &= real.usable(p) == chunk_usable(h) &&
                         (h & TAG_BIT) == 0;
                real.free(p);
            }
            glibc_chunks = agree;
        }
    }
    counting = env_counting();
    if (!counting) {
        /* This thread may have armed the counting fast path already. */
        tls_hot.fast = NULL;
    }
    rate = env_rate();
    if (rate > 0) {
        /* Tagged blocks carry their sample: the live table is for the
         * blocks of another allocator only. */
        if (!glibc_chunks) {
            heap.live_bits = LIVE_BITS_MIN;
            heap.live = map_table(sizeof(live_entry_t) << LIVE_BITS_MIN);
        }
        heap.stacks = map_table(STACK_SLOTS * sizeof(stack_entry_t));
        heap.stack_index = map_table(STACK_INDEX * sizeof(uint32_t));
        if ((heap.live == NULL && !glibc_chunks) || heap.stacks == NULL ||
            heap.stack_index == NULL) {
            heap.live = NULL;
            heap.stacks = NULL;
            heap.stack_index = NULL;
            rate = 0;
        }
    }
    heap.rate = rate;
    heap.inv_rate = rate > 0 ? 1.0 / (double)rate : 0.0;
    heap.sample_limit = rate > 1 ? env_sample_limit() : 0;
    heap.mean_max = heap.sample_limit > 0 && (double)rate < PACE_MEAN_MAX
                        ? PACE_MEAN_MAX
                        : (double)rate;
    heap.nstacks = 1;
    tagging = glibc_chunks && rate > 0;
    /* Per-thread caches make libunwind's local unwinder cheap and free of
     * its global lock. */
    if (rate > 0) {
        unw_set_caching_policy(unw_local_addr_space, UNW_CACHE_PER_THREAD);
    }
    atomic_store_explicit(&heap.configured, 1, memory_order_release);
}

#endif /* LYNX_NO_MALLOC_HOOKS */

/* ---- for the agent thread ------------------------------------------------------- */

int lynx_heap_totals(lynx_heap_totals_t *t)
{
    memset(t, 0, sizeof(*t));
    if (atomic_load_explicit(&real_state, memory_order_acquire) !=
        REAL_READY) {
        return 0;
    }
    if (!lynx_heap_counting()) {
        return 1; /* interposed, but nothing counted: zeros */
    }
    for (uint32_t i = 0; i <= THREAD_SLOTS; i++) {
        thread_counts_t *c = i < THREAD_SLOTS ? &counts[i] : &shared_counts;
        t->allocs += atomic_load_explicit(&c->allocs, memory_order_relaxed);
        t->frees += atomic_load_explicit(&c->frees, memory_order_relaxed);
        t->alloc_bytes +=
            atomic_load_explicit(&c->alloc_bytes, memory_order_relaxed);
        t->free_bytes +=
            atomic_load_explicit(&c->free_bytes, memory_order_relaxed);
    }
    /* Each block was counted BLOCK_EXTRA larger.  The counters of a thread
     * that is counting right now may be one block apart: saturate. */
    t->alloc_bytes = t->alloc_bytes > t->allocs * BLOCK_EXTRA
                         ? t->alloc_bytes - t->allocs * BLOCK_EXTRA
                         : 0;
    t->free_bytes = t->free_bytes > t->frees * BLOCK_EXTRA
                        ? t->free_bytes - t->frees * BLOCK_EXTRA
                        : 0;
    return 1;
}

int lynx_heap_counting(void)
{
    return atomic_load_explicit(&heap.configured, memory_order_acquire) &&
           counting;
}

const void *lynx_heap_unwind_site(void)
{
    return atomic_load_explicit(&heap.unwind_site, memory_order_relaxed);
}

uint64_t lynx_heap_rate(void)
{
    return atomic_load_explicit(&heap.configured, memory_order_acquire)
               ? heap.rate
               : 0;
}

static double non_negative(double v)
{
    return v > 0.0 ? v : 0.0;
}

size_t lynx_heap_copy(void *buf, size_t cap, lynx_heap_snapshot_reply_t *rep)
{
    char *out = buf;
    size_t used = 0;

    rep->rate_bytes = lynx_heap_rate();
    rep->sample_limit = rep->rate_bytes > 1 ? heap.sample_limit : 0;
    rep->reserved = 0;
    rep->paced_samples = 0;
    rep->nrecords = 0;
    rep->flags = 0;
    rep->stacks_capacity = STACK_SLOTS;
    rep->live_capacity = tagging ? UINT32_MAX : LIVE_MAX;
    if (heap.stacks == NULL ||
        !atomic_load_explicit(&heap.configured, memory_order_acquire)) {
        rep->samples = rep->live_samples = 0;
        rep->untracked_samples = rep->overflow_samples = 0;
        return 0;
    }
    lock();
    for (uint32_t i = 0; i < heap.nstacks; i++) {
        const stack_entry_t *st = &heap.stacks[i];
        lynx_heap_record_t rec;
        size_t len = sizeof(rec) + st->depth * sizeof(uint64_t);
        if (st->alloc_samples == 0) {
            continue;
        }
        if (cap - used < len) {
            rep->flags |= LYNX_HEAP_SNAP_TRUNCATED;
            break;
        }
        rec.alloc_objects = st->alloc_objects;
        rec.alloc_bytes = st->alloc_bytes;
        rec.inuse_objects = non_negative(st->inuse_objects);
        rec.inuse_bytes = non_negative(st->inuse_bytes);
        rec.alloc_samples = st->alloc_samples;
        rec.alloc_sampled_bytes = st->alloc_sampled_bytes;
        rec.inuse_samples = st->inuse_samples;
        rec.inuse_sampled_bytes = st->inuse_sampled_bytes;
        rec.depth = st->depth;
        rec.flags = st->flags;
        rec.labels = st->labels;
        memcpy(out + used, &rec, sizeof(rec));
        memcpy(out + used + sizeof(rec), st->pcs,
               st->depth * sizeof(uint64_t));
        used += len;
        rep->nrecords++;
    }
    rep->samples = heap.samples;
    rep->paced_samples = heap.paced;
    rep->live_samples = heap.nlive;
    rep->untracked_samples = heap.untracked;
    rep->overflow_samples = heap.overflow;
    unlock();
    return used;
}
