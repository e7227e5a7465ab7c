/*
 * test_heap_agent.c - the agent's malloc interposition inside this test
 * process: exact counters across threads, sampled estimates (exact at rate
 * 1), realloc and free of sampled pointers, the aligned allocators, calloc
 * overflow, fork, signal handlers, threads that come and go, the
 * allocating thread's name and request labels on samples, the
 * statistical accuracy at a sparse rate, and the counters turned off
 * (in re-executed children).
 *
 * The rate is read once at start, so main() re-executes this program with
 * LYNXPROF_HEAP_RATE=1 when it is not set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <malloc.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/heap.h"
#include "lynxprof-agent.h"
#include "agent/sampler.h"
#include "agent_test.h"
#include "fake_block.h"
#include "client/attach.h"
#include "protocol/block_threads.h"
#include "protocol/clock.h"
#include "lynxprof-agent.h"
#include "lynxprof.h"

#define SECOND 1000000000LL
#define NTHREADS 4
#define ROUNDS 200

static lynx_block_t *blk;
/* Sizes the compiler cannot see through (it warns about absurd ones). */
static volatile size_t huge = SIZE_MAX;

/* ---- a snapshot through the mailbox ---------------------------------------- */

typedef struct snap {
    lynx_heap_snapshot_reply_t rep;
    char *bulk;
    size_t bulk_len;
} snap_t;

static void take(snap_t *s, uint32_t flags)
{
    lynx_heap_snapshot_arg_t a = {flags, 0};
    lynx_call_t c;
    void *bulk = NULL;

    assert_int_equal(lynx_mailbox_call(blk, LYNX_CMD_HEAP_SNAPSHOT, &a,
                                       sizeof(a), &s->rep, sizeof(s->rep),
                                       &bulk, &c, 5 * SECOND),
                     0);
    assert_int_equal(c.result, 0);
    assert_int_equal(c.reply_len, sizeof(s->rep));
    s->bulk = bulk;
    s->bulk_len = c.bulk_len;
}

static uintptr_t site_starts[13];
static size_t nsite_starts;

/* Sum the records whose leaf (the caller of the allocation function) lies
 * in fn: at most 512 bytes past its start and before the next site. */
static void site(const snap_t *s, void *fn, lynx_heap_record_t *sum)
{
    size_t off = 0;
    uint32_t n = 0;
    uintptr_t end = (uintptr_t)fn + 512;

    for (size_t i = 0; i < nsite_starts; i++) {
        if (site_starts[i] > (uintptr_t)fn && site_starts[i] < end) {
            end = site_starts[i];
        }
    }

    memset(sum, 0, sizeof(*sum));
    while (off < s->bulk_len) {
        lynx_heap_record_t r;
        uint64_t leaf;
        memcpy(&r, s->bulk + off, sizeof(r));
        assert_true(r.depth <= LYNX_HEAP_MAX_DEPTH);
        leaf = 0;
        if (r.depth > 0) {
            memcpy(&leaf, s->bulk + off + sizeof(r), sizeof(leaf));
        }
        if (leaf >= (uint64_t)(uintptr_t)fn && leaf < (uint64_t)end) {
            sum->alloc_objects += r.alloc_objects;
            sum->alloc_bytes += r.alloc_bytes;
            sum->inuse_objects += r.inuse_objects;
            sum->inuse_bytes += r.inuse_bytes;
            sum->alloc_samples += r.alloc_samples;
            sum->inuse_samples += r.inuse_samples;
            if (r.depth > sum->depth) {
                sum->depth = r.depth;
            }
        }
        off += sizeof(r) + r.depth * sizeof(uint64_t);
        n++;
    }
    assert_int_equal(off, s->bulk_len);
    assert_int_equal(n, s->rep.nrecords);
}

/* ---- allocation sites ------------------------------------------------------------ */

__attribute__((noinline)) void **heap_test_site_a(size_t n, size_t size)
{
    void **v = calloc(n, sizeof(void *));
    for (size_t i = 0; v != NULL && i < n; i++) {
        v[i] = malloc(size);
        memset(v[i], 1, size);
    }
    __asm__ volatile("" ::: "memory");
    return v;
}

__attribute__((noinline)) void heap_test_site_b(void **v, size_t n,
                                                size_t size)
{
    for (size_t i = 0; i < n; i++) {
        v[i] = realloc(v[i], size);
    }
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) void *heap_test_site_c(size_t size)
{
    void *p = malloc(size);
    __asm__ volatile("" ::: "memory");
    return p;
}

/* ---- exact counters ---------------------------------------------------------------- */

static pthread_barrier_t ready_line; /* workers have claimed their slots */
static pthread_barrier_t start_line; /* the "before" counters are taken */
static pthread_barrier_t finish_line;

typedef struct expect {
    uint64_t allocs, frees, alloc_bytes, free_bytes;
} expect_t;

static void *counted_worker(void *arg)
{
    expect_t *e = arg;
    void *warm = malloc(10);

    free(warm); /* the thread's first calls claim its counter slot */
    memset(e, 0, sizeof(*e));
    pthread_barrier_wait(&ready_line);
    pthread_barrier_wait(&start_line);
    for (int i = 0; i < ROUNDS; i++) {
        void *p1 = malloc(100 + (size_t)i);
        void *p2 = calloc(10, 30);
        size_t u1 = malloc_usable_size(p1);
        void *p3 = realloc(p1, 5000);
        void *p4 = NULL;
        void *p5 = aligned_alloc(256, 512);
        /* mmapped (the threshold is fixed below), and smaller than the
         * sampling interval: mostly counted on the fast paths */
        void *p6 = malloc((size_t)(160 << 10) + (size_t)i);
        assert_int_equal(posix_memalign(&p4, 64, 200), 0);
        e->allocs += 6;
        e->alloc_bytes += u1 + malloc_usable_size(p2) +
                          malloc_usable_size(p3) + malloc_usable_size(p4) +
                          malloc_usable_size(p5) + malloc_usable_size(p6);
        e->frees += 1; /* realloc's release of p1 */
        e->free_bytes += u1;
        e->frees += 5;
        e->free_bytes += malloc_usable_size(p2) + malloc_usable_size(p3) +
                         malloc_usable_size(p4) + malloc_usable_size(p5) +
                         malloc_usable_size(p6);
        free(p6);
        free(p2);
        free(p3);
        free(p4);
        free(p5);
        free(NULL); /* not a free */
    }
    pthread_barrier_wait(&finish_line);
    return NULL;
}

static void test_counters_exact(void **state)
{
    pthread_t th[NTHREADS];
    expect_t e[NTHREADS];
    lynx_heap_totals_t before;
    lynx_heap_totals_t after;
    expect_t sum = {0, 0, 0, 0};
    (void)state;

    /* Blocks from 128 KiB are mmapped chunks (whose header differs), and
     * stay so: a fixed threshold does not rise when one is freed. */
    assert_int_equal(mallopt(M_MMAP_THRESHOLD, 128 << 10), 1);
    pthread_barrier_init(&ready_line, NULL, NTHREADS + 1);
    pthread_barrier_init(&start_line, NULL, NTHREADS + 1);
    pthread_barrier_init(&finish_line, NULL, NTHREADS + 1);
    for (int i = 0; i < NTHREADS; i++) {
        pthread_create(&th[i], NULL, counted_worker, &e[i]);
    }
    pthread_barrier_wait(&ready_line);
    assert_true(lynx_heap_totals(&before));
    pthread_barrier_wait(&start_line);
    pthread_barrier_wait(&finish_line);
    assert_true(lynx_heap_totals(&after));
    for (int i = 0; i < NTHREADS; i++) {
        pthread_join(th[i], NULL);
        sum.allocs += e[i].allocs;
        sum.frees += e[i].frees;
        sum.alloc_bytes += e[i].alloc_bytes;
        sum.free_bytes += e[i].free_bytes;
    }
    assert_int_equal(after.allocs - before.allocs, sum.allocs);
    assert_int_equal(after.frees - before.frees, sum.frees);
    assert_int_equal(after.alloc_bytes - before.alloc_bytes, sum.alloc_bytes);
    assert_int_equal(after.free_bytes - before.free_bytes, sum.free_bytes);
    pthread_barrier_destroy(&ready_line);
    pthread_barrier_destroy(&start_line);
    pthread_barrier_destroy(&finish_line);
}

/* The memory statistics command carries them. */
static void test_memstats_has_counters(void **state)
{
    lynx_memstats_t ms;
    lynx_call_t c;
    (void)state;

    assert_int_equal(lynx_mailbox_call(blk, LYNX_CMD_MEMSTATS, NULL, 0, &ms,
                                       sizeof(ms), NULL, &c, 5 * SECOND),
                     0);
    assert_int_equal(c.result, 0);
    assert_true(ms.flags & LYNX_MEMSTATS_HAVE_ALLOC_COUNTERS);
    assert_true(ms.alloc_count > 0);
    assert_true(ms.free_count > 0);
    assert_true(ms.alloc_bytes_total > 0);
    assert_true(ms.live_objects == ms.alloc_count - ms.free_count);
    assert_true(ms.live_bytes >= 0);
}

/* ---- sampling at rate 1: every allocation, exact estimates ------------------- */

static void test_rate1_exact_and_free(void **state)
{
    snap_t s;
    lynx_heap_record_t a;
    lynx_heap_record_t b;
    lynx_heap_record_t a0;
    lynx_heap_record_t b0;
    void **v;
    (void)state;

    take(&s, 0);
    assert_int_equal(s.rep.rate_bytes, 1);
    site(&s, (void *)heap_test_site_a, &a0);
    site(&s, (void *)heap_test_site_b, &b0);
    free(s.bulk);

    v = heap_test_site_a(1000, 48);
    take(&s, 0);
    site(&s, (void *)heap_test_site_a, &a);
    free(s.bulk);
    /* 1000 blocks + the vector from calloc, both called from site a. */
    print_message("site a: %.0f objects %.0f bytes (before %.0f %.0f)\n",
                  a.alloc_objects, a.alloc_bytes, a0.alloc_objects,
                  a0.alloc_bytes);
    assert_true(a.alloc_objects - a0.alloc_objects == 1001.0);
    assert_true(a.alloc_bytes - a0.alloc_bytes ==
                1000.0 * 48 + 1000.0 * sizeof(void *));
    assert_true(a.inuse_objects - a0.inuse_objects == 1001.0);
    assert_true(a.inuse_bytes - a0.inuse_bytes ==
                1000.0 * 48 + 1000.0 * sizeof(void *));
    /* The whole chain: site <- this test <- cmocka <- main... */
    assert_true(a.depth >= 3);

    for (int i = 0; i < 500; i++) {
        free(v[i]);
        v[i] = NULL;
    }
    heap_test_site_b(v + 500, 500, 96); /* moves them to site b */
    take(&s, 0);
    site(&s, (void *)heap_test_site_a, &a);
    site(&s, (void *)heap_test_site_b, &b);
    free(s.bulk);
    assert_true(a.alloc_objects - a0.alloc_objects == 1001.0);
    assert_true(a.inuse_objects - a0.inuse_objects == 1.0); /* the vector */
    assert_true(a.inuse_bytes - a0.inuse_bytes == 1000.0 * sizeof(void *));
    assert_true(b.alloc_objects - b0.alloc_objects == 500.0);
    assert_true(b.inuse_objects - b0.inuse_objects == 500.0);
    assert_true(b.inuse_bytes - b0.inuse_bytes == 500.0 * 96);

    for (int i = 500; i < 1000; i++) {
        free(v[i]);
    }
    free(v);
    take(&s, LYNX_HEAP_GC);
    site(&s, (void *)heap_test_site_a, &a);
    site(&s, (void *)heap_test_site_b, &b);
    assert_true(s.rep.samples > 2000);
    assert_int_equal(s.rep.untracked_samples, 0);
    assert_int_equal(s.rep.overflow_samples, 0);
    free(s.bulk);
    assert_true(a.inuse_objects == a0.inuse_objects);
    assert_true(b.inuse_objects == b0.inuse_objects);
    assert_true(b.inuse_bytes == b0.inuse_bytes);
}

/* A sampled block keeps its sample in the words before it (agent/
 * malloc_hooks.c, "tag"): the weight 5 words back, the stack 4 back.  A
 * program that writes there (a buffer underflow) must make the agent
 * neither write outside its stack table nor spoil a stack's sums: such a
 * free is refused (the block stays in the in-use estimates), every other
 * free still counts, and every estimate stays finite. */
static void test_scribbled_prefix(void **state)
{
    snap_t s;
    lynx_heap_record_t a0;
    lynx_heap_record_t a;
    const double nan_weight = NAN;
    const double huge_weight = 1e300;
    void **v;
    (void)state;

    take(&s, 0);
    site(&s, (void *)heap_test_site_a, &a0);
    free(s.bulk);
    v = heap_test_site_a(5, 32); /* at rate 1: every block sampled */
    ((size_t *)v[0])[-4] = (size_t)1 << 40;   /* a stack beyond the table */
    ((size_t *)v[1])[-4] = 0xffffffffu;       /* ... and at its limit */
    memcpy((size_t *)v[2] - 5, &nan_weight, sizeof(double));
    memcpy((size_t *)v[3] - 5, &huge_weight, sizeof(double));
    for (int i = 0; i < 5; i++) {
        free(v[i]);
    }
    free(v);
    take(&s, 0);
    site(&s, (void *)heap_test_site_a, &a);
    for (size_t off = 0; off < s.bulk_len;) {
        lynx_heap_record_t r;
        memcpy(&r, s.bulk + off, sizeof(r));
        assert_true(isfinite(r.inuse_objects) && isfinite(r.inuse_bytes));
        assert_true(r.inuse_objects >= 0.0 && r.inuse_bytes >= 0.0);
        off += sizeof(r) + r.depth * sizeof(uint64_t);
    }
    free(s.bulk);
    /* 5 blocks and the vector allocated; the vector and v[4] taken out. */
    assert_true(a.alloc_objects - a0.alloc_objects == 6.0);
    assert_true(a.inuse_objects - a0.inuse_objects == 4.0);
    assert_true(a.inuse_bytes - a0.inuse_bytes == 4.0 * 32);
}

/* Samples carry the allocating thread's name at the allocation and its
 * request labels, and no tid; equal labels aggregate, others stay apart. */
static void test_labels(void **state)
{
    char name[16] = "";
    snap_t s;
    size_t off = 0;
    double labelled = 0;
    double other_name = 0;
    void **v;
    void **w;
    (void)state;

    prctl(PR_GET_NAME, name, 0, 0, 0);
    prctl(PR_SET_NAME, "heap-labels", 0, 0, 0);
    assert_int_equal(lynx_label_push("request", "alloc"), 0);
    v = heap_test_site_a(100, 32);
    lynx_label_pop();
    prctl(PR_SET_NAME, "heap-other", 0, 0, 0);
    w = heap_test_site_a(10, 32);
    prctl(PR_SET_NAME, name, 0, 0, 0);
    take(&s, 0);
    while (off < s.bulk_len) {
        lynx_heap_record_t r;
        memcpy(&r, s.bulk + off, sizeof(r));
        assert_int_equal(r.labels.tid, 0);
        if (strcmp(r.labels.thread, "heap-labels") == 0) {
            assert_int_equal(r.labels.nlabels, 1);
            assert_string_equal(r.labels.labels[0].key, "request");
            assert_string_equal(r.labels.labels[0].value, "alloc");
            labelled += r.alloc_objects;
        } else if (strcmp(r.labels.thread, "heap-other") == 0) {
            assert_int_equal(r.labels.nlabels, 0);
            other_name += r.alloc_objects;
        }
        off += sizeof(r) + r.depth * sizeof(uint64_t);
    }
    free(s.bulk);
    /* Rate 1: every allocation (100 blocks and the vector; 10 and one). */
    assert_true(labelled == 101.0);
    assert_true(other_name == 11.0);
    for (int i = 0; i < 100; i++) {
        free(v[i]);
    }
    for (int i = 0; i < 10; i++) {
        free(w[i]);
    }
    free(v);
    free(w);
}

/* realloc that fails keeps the block and its sample. */
static void test_realloc_failure_keeps_sample(void **state)
{
    snap_t s;
    lynx_heap_record_t c0;
    lynx_heap_record_t c;
    void *p;
    (void)state;

    take(&s, 0);
    site(&s, (void *)heap_test_site_c, &c0);
    free(s.bulk);
    p = heap_test_site_c(1000);
    assert_non_null(p);
    errno = 0;
    {
        void *volatile same = p; /* the compiler must not track it */
        assert_null(realloc(same, huge - 4096));
        assert_int_equal(errno, ENOMEM);
    }
    take(&s, 0);
    site(&s, (void *)heap_test_site_c, &c);
    free(s.bulk);
    assert_true(c.inuse_objects - c0.inuse_objects == 1.0);
    assert_true(c.inuse_bytes - c0.inuse_bytes == 1000.0);
    free(p);
    take(&s, 0);
    site(&s, (void *)heap_test_site_c, &c);
    free(s.bulk);
    assert_true(c.inuse_objects == c0.inuse_objects);
}

/* ---- the rest of the family ------------------------------------------------------ */

static void test_alignment(void **state)
{
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    void *p = NULL;
    void *q;
    (void)state;

    for (size_t align = sizeof(void *); align <= 65536; align *= 2) {
        assert_int_equal(posix_memalign(&p, align, 100), 0);
        assert_int_equal((uintptr_t)p % align, 0);
        assert_true(malloc_usable_size(p) >= 100);
        free(p);
        q = aligned_alloc(align, align * 2);
        assert_non_null(q);
        assert_int_equal((uintptr_t)q % align, 0);
        free(q);
        q = memalign(align, 10);
        assert_non_null(q);
        assert_int_equal((uintptr_t)q % align, 0);
        free(q);
    }
    assert_int_equal(posix_memalign(&p, 3, 100), EINVAL);
    q = valloc(10);
    assert_int_equal((uintptr_t)q % page, 0);
    free(q);
    q = pvalloc(10);
    assert_int_equal((uintptr_t)q % page, 0);
    assert_true(malloc_usable_size(q) >= page);
    free(q);
    assert_int_equal(malloc_usable_size(NULL), 0);
}

/* At rate 1 every block is a sampled one (tagged, handed out past a
 * prefix): it behaves like any other block, and the profile sees each
 * allocation and release. */
static void test_sampled_blocks_behave(void **state)
{
    lynx_heap_totals_t t0;
    lynx_heap_totals_t t1;
    unsigned char *p;
    unsigned char *z;
    void *a = NULL;
    (void)state;

    lynx_heap_totals(&t0);
    z = calloc(1000, 3);
    assert_non_null(z);
    for (size_t i = 0; i < 3000; i++) {
        assert_int_equal(z[i], 0);
    }
    p = malloc(100);
    assert_non_null(p);
    assert_true(malloc_usable_size(p) >= 100);
    for (int i = 0; i < 100; i++) {
        p[i] = (unsigned char)i;
    }
    p = realloc(p, 100000); /* grows: moves, contents kept */
    assert_non_null(p);
    assert_true(malloc_usable_size(p) >= 100000);
    for (int i = 0; i < 100; i++) {
        assert_int_equal(p[i], (unsigned char)i);
    }
    p = realloc(p, 10); /* shrinks: contents kept */
    assert_non_null(p);
    for (int i = 0; i < 10; i++) {
        assert_int_equal(p[i], (unsigned char)i);
    }
    assert_null(realloc(p, 0)); /* glibc: frees */
    assert_int_equal(posix_memalign(&a, 8192, 64), 0); /* beyond a page */
    assert_int_equal((uintptr_t)a % 8192, 0);
    free(a);
    free(z);
    lynx_heap_totals(&t1);
    /* calloc, malloc, 2 reallocs, posix_memalign; as many releases */
    assert_true(t1.allocs - t0.allocs >= 5);
    assert_int_equal(t1.allocs - t0.allocs, t1.frees - t0.frees);
    assert_int_equal(t1.alloc_bytes - t0.alloc_bytes,
                     t1.free_bytes - t0.free_bytes);
}

static void test_overflow(void **state)
{
    (void)state;
    errno = 0;
    assert_null(calloc(huge / 2 + 1, 2));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(calloc(huge, huge));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(reallocarray(NULL, huge / 4, 8));
    assert_int_equal(errno, ENOMEM);
    errno = 0;
    assert_null(malloc(huge - 100));
    assert_int_equal(errno, ENOMEM);
    /* errno is untouched by a successful call that was sampled. */
    errno = 1234;
    free(malloc(64));
    assert_int_equal(errno, 1234);
}

/* ---- fork, signals, threads ------------------------------------------------------- */

static volatile int hammer_stop;

static void *hammer(void *arg)
{
    (void)arg;
    while (!hammer_stop) {
        void *p = malloc(64);
        void *q = realloc(p, 4000);
        free(q);
    }
    return NULL;
}

static void test_fork_while_sampling(void **state)
{
    pthread_t th[2];
    (void)state;

    hammer_stop = 0;
    pthread_create(&th[0], NULL, hammer, NULL);
    pthread_create(&th[1], NULL, hammer, NULL);
    for (int k = 0; k < 20; k++) {
        int status;
        pid_t child = fork();
        if (child == 0) {
            lynx_heap_totals_t t0;
            lynx_heap_totals_t t1;
            lynx_heap_totals(&t0);
            for (int i = 0; i < 1000; i++) {
                char *s = strdup("child");
                free(realloc(s, 300));
            }
            lynx_heap_totals(&t1);
            /* The child's counters go on, exactly. */
            _exit(t1.allocs - t0.allocs == 2000 &&
                          t1.frees - t0.frees == 2000
                      ? 0
                      : 9);
        }
        assert_true(child > 0);
        alarm(10); /* a deadlocked child would hang the test */
        assert_int_equal(waitpid(child, &status, 0), child);
        alarm(0);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    hammer_stop = 1;
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);
}

static volatile sig_atomic_t ticks;
static volatile uint64_t handler_sink;

/* A handler that allocates nothing but works for a while. */
static void on_alarm(int sig)
{
    uint64_t x = handler_sink;
    int saved = errno;
    (void)sig;
    for (int i = 0; i < 1000; i++) {
        x = x * 6364136223846793005ULL + 1;
    }
    handler_sink = x;
    ticks++;
    errno = saved;
}

static void test_signal_handler_while_sampling(void **state)
{
    struct sigaction sa;
    struct itimerval it = {{0, 200}, {0, 200}};
    lynx_heap_totals_t t0;
    lynx_heap_totals_t t1;
    uint64_t n = 0;
    (void)state;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    ticks = 0;
    lynx_heap_totals(&t0);
    setitimer(ITIMER_REAL, &it, NULL);
    while (ticks < 300) {
        void *p = heap_test_site_c(32 + n % 4096);
        free(p);
        n++;
    }
    memset(&it, 0, sizeof(it));
    setitimer(ITIMER_REAL, &it, NULL);
    signal(SIGALRM, SIG_DFL);
    lynx_heap_totals(&t1);
    print_message("%llu allocations while %d signals\n",
                  (unsigned long long)n, (int)ticks);
    assert_true(t1.allocs - t0.allocs >= n);
    assert_true(t1.frees - t0.frees >= n);
}

/* ---- CPU samples and thread dumps that land while a thread unwinds -------- */

static volatile int storm_stop;

static int storm_ready;

static void *storm(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "heap-storm");
    /* Named: from now on a dump must find this function on its stack
     * (not before: inside pthread_setname_np the name is already set). */
    __atomic_add_fetch(&storm_ready, 1, __ATOMIC_RELEASE);
    while (!storm_stop) {
        free(heap_test_site_c(64)); /* at rate 1 every allocation unwinds */
    }
    return NULL;
}

static int pc_in(uint64_t pc, const void *fn, size_t len)
{
    return pc >= (uint64_t)(uintptr_t)fn && pc < (uint64_t)(uintptr_t)fn + len;
}

static int stack_has(const uint64_t *pcs, uint32_t depth, const void *fn,
                     size_t len)
{
    for (uint32_t k = 0; k < depth; k++) {
        if (pc_in(pcs[k], fn, len)) {
            return 1;
        }
    }
    return 0;
}

/* A SIGPROF that lands inside libunwind (the per-thread cache is not
 * reentrant) is held back and delivered with the stack being taken: CPU
 * samples are neither lost nor taken inside the unwinder, thread dumps are
 * answered, nothing crashes, while threads spend most of their time
 * unwinding for the heap sampler. */
static void test_signals_while_unwinding(void **state)
{
    pthread_t th[2];
    lynx_cpu_start_arg_t a = {10 * SECOND, 1000, LYNX_ORIGIN_API,
                              lynx_real_ns()};
    lynx_cpu_start_reply_t rep;
    lynx_session_arg_t stop;
    lynx_cpu_table_t *t;
    lynx_call_t c;
    uint64_t deferred = 0;
    uint64_t deferred_with_site = 0;
    int dumps = 0;
    int dumped = 0;
    int dumped_unwinding = 0;
    const void *site;
    (void)state;

    storm_stop = 0;
    storm_ready = 0;
    for (int i = 0; i < 2; i++) {
        pthread_create(&th[i], NULL, storm, NULL);
    }
    while (__atomic_load_n(&storm_ready, __ATOMIC_ACQUIRE) < 2) {
        usleep(1000);
    }
    /* What a sample held back during the heap sampler's unwind has as its
     * leaf: the return address of that unwind (set by the first sample,
     * long since taken at rate 1). */
    site = lynx_heap_unwind_site();
    assert_non_null(site);
    assert_int_equal(lynx_mailbox_call(blk, LYNX_CMD_CPU_START, &a, sizeof(a),
                                       &rep, sizeof(rep), NULL, &c,
                                       5 * SECOND),
                     0);
    assert_int_equal(c.result, 0);
    /* At least 8 dumps; more (at most 64) until one lands in an unwind:
     * where a signal lands is chance, the more so on a loaded machine. */
    for (int d = 0; d < 64 && (d < 8 || dumped_unwinding == 0); d++) {
        lynx_thread_dump_arg_t da = {2000, 0};
        lynx_thread_dump_reply_t dr;
        lynx_thread_rec_t *recs = NULL;
        assert_int_equal(lynx_mailbox_call(blk, LYNX_CMD_THREAD_DUMP, &da,
                                           sizeof(da), &dr, sizeof(dr),
                                           (void **)&recs, &c, 10 * SECOND),
                         0);
        assert_int_equal(c.result, 0);
        assert_int_equal(dr.nmissing, 0);
        dumps++;
        for (uint32_t i = 0; i < dr.nthreads; i++) {
            if (strcmp(recs[i].name, "heap-storm") != 0) {
                continue;
            }
            assert_int_equal(recs[i].status, LYNX_THREAD_OK);
            assert_true(stack_has(recs[i].pcs, recs[i].depth, storm, 128));
            dumped++;
            if (recs[i].pcs[0] == (uint64_t)(uintptr_t)site) {
                /* Answered after the unwind, with the allocation's stack. */
                assert_true(stack_has(recs[i].pcs, recs[i].depth,
                                      heap_test_site_c, 64));
                dumped_unwinding++;
            }
        }
        free(recs);
        usleep(50 * 1000);
    }
    memset(&stop, 0, sizeof(stop));
    snprintf(stop.id, sizeof(stop.id), "%s", rep.id);
    assert_int_equal(lynx_mailbox_call(blk, LYNX_CMD_CPU_STOP, &stop,
                                       sizeof(stop), NULL, 0, NULL, &c,
                                       5 * SECOND),
                     0);
    assert_int_equal(c.result, 0);
    storm_stop = 1;
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
    }

    t = lynx_block_region_ptr(blk, LYNX_REGION_CPU, sizeof(*t), NULL);
    assert_non_null(t);
    for (uint32_t i = 0; i < t->nstacks; i++) {
        const lynx_cpu_stack_t *st = &t->stacks[i];
        if (st->pcs[0] == (uint64_t)(uintptr_t)site) {
            deferred += st->count;
            if (stack_has(st->pcs, st->depth, heap_test_site_c, 64)) {
                deferred_with_site += st->count;
            }
        }
    }
    print_message("cpu samples %llu (lost %llu), %llu held back while "
                  "unwinding (%llu through the allocation site); "
                  "dumps %d, %d answered after an unwind\n",
                  (unsigned long long)t->samples,
                  (unsigned long long)t->lost_samples,
                  (unsigned long long)deferred,
                  (unsigned long long)deferred_with_site, dumped,
                  dumped_unwinding);
    assert_int_equal(dumped, 2 * dumps); /* both storm threads, each dump */
    assert_true(dumped_unwinding > 0);
    assert_true(t->samples >= 50);
    assert_true(deferred > 0);
    assert_true(deferred_with_site * 10 >= deferred * 9);
    assert_int_equal(t->lost_samples, 0);
    assert_int_equal(lynx_mailbox_call(blk, LYNX_CMD_CPU_SPOOLED, &stop,
                                       sizeof(stop), NULL, 0, NULL, &c,
                                       5 * SECOND),
                     0);
}

static void *short_life(void *arg)
{
    void *v[100];
    (void)arg;
    for (int i = 0; i < 100; i++) {
        v[i] = malloc(16 + (size_t)i);
    }
    for (int i = 0; i < 100; i++) {
        free(v[i]);
    }
    return NULL;
}

/* More threads than counter slots, one after the other: the slots of
 * ended threads are reused and nothing is lost. */
static void test_threads_come_and_go(void **state)
{
    lynx_heap_totals_t t0;
    lynx_heap_totals_t t1;
    const int n = 1100;
    (void)state;

    lynx_heap_totals(&t0);
    for (int i = 0; i < n; i++) {
        pthread_t th;
        assert_int_equal(pthread_create(&th, NULL, short_life, NULL), 0);
        pthread_join(th, NULL);
    }
    lynx_heap_totals(&t1);
    assert_true(t1.allocs - t0.allocs >= (uint64_t)n * 100);
    assert_true(t1.frees - t0.frees >= (uint64_t)n * 100);
    /* Thread creation allocates a little of its own, but not much. */
    assert_true(t1.allocs - t0.allocs < (uint64_t)n * 110);
}

/* ---- accuracy at a sparse rate, in a child with its own rate ------------- */

/* n blocks of `size` bytes in a list, allocated by the function this is
 * inlined into (each its own site). */
static inline __attribute__((always_inline)) void *list_of(size_t size,
                                                           int n)
{
    void *head = NULL;
    for (int i = 0; i < n; i++) {
        void **b = malloc(size);
        *b = head;
        head = b;
    }
    return head;
}

__attribute__((noinline)) void *heap_test_site_small(void)
{
    return list_of(64, 100000);
}

/* Blocks of just under half the rate (x = size / rate = 0.49, where the
 * weight's series needs all its terms) and of twice the rate (x = 2,
 * where it is not used). */
__attribute__((noinline)) void *heap_test_site_near(void)
{
    return list_of(2007, 2000);
}

__attribute__((noinline)) void *heap_test_site_over(void)
{
    return list_of(8192, 1000);
}

static void free_list(void *head)
{
    while (head != NULL) {
        void *next = *(void **)head;
        free(head);
        head = next;
    }
}

/* Every sample of a block of `size` bytes at `rate` weighs exactly
 * 1 / (1 - exp(-size / rate)), the inverse of its chance to be sampled:
 * a site's in-use objects over its samples, and its bytes over its
 * samples over the size, are that weight to 1e-9. */
static int weight_exact(const lynx_heap_record_t *r, size_t size,
                        double rate)
{
    double w = 1.0 / -expm1(-(double)size / rate);
    double per = r->inuse_samples > 0
                     ? r->inuse_objects / (double)r->inuse_samples
                     : 0.0;
    double per_bytes = r->inuse_samples > 0
                           ? r->inuse_bytes / (double)r->inuse_samples /
                                 (double)size
                           : 0.0;
    int ok = r->inuse_samples > 0 && fabs(per - w) <= 1e-9 * w &&
             fabs(per_bytes - w) <= 1e-9 * w;

    fprintf(stderr, "%zu bytes at rate %.0f: weight %.12f in %llu samples, "
            "exact %.12f\n", size, rate, per,
            (unsigned long long)r->inuse_samples, w);
    return ok;
}

/* Sizes no allocator can give, above INT64_MAX: they fail, and must not
 * push the countdown out of reach (sampling would stop for the thread). */
static int absurd_sizes_fail(void)
{
    volatile size_t absurd_v = (size_t)0xF << 60; /* not a constant to gcc */
    const size_t absurd = absurd_v;
    void *p = NULL;
    int ok = 1;

    ok &= malloc(absurd) == NULL;
    ok &= calloc(1, absurd) == NULL;
    ok &= realloc(NULL, absurd) == NULL;
    ok &= aligned_alloc(64, absurd) == NULL;
    ok &= posix_memalign(&p, 64, absurd) == ENOMEM;
    if (!ok) {
        fprintf(stderr, "an absurd size did not fail\n");
    }
    return ok;
}

static int accuracy_child(void)
{
    snap_t s;
    lynx_heap_record_t r;
    int absurd_failed = absurd_sizes_fail();
    void *keep = heap_test_site_small();
    void *near = heap_test_site_near();
    void *over = heap_test_site_over();
    double truth = 100000.0 * 64;
    int weights_exact;

    take(&s, 0);
    site(&s, (void *)heap_test_site_near, &r);
    weights_exact = weight_exact(&r, 2007, 4096);
    site(&s, (void *)heap_test_site_over, &r);
    weights_exact &= weight_exact(&r, 8192, 4096);
    site(&s, (void *)heap_test_site_small, &r);
    weights_exact &= weight_exact(&r, 64, 4096);
    fprintf(stderr, "rate %llu: estimate %.0f bytes in %llu samples, "
            "truth %.0f\n", (unsigned long long)s.rep.rate_bytes,
            r.inuse_bytes, (unsigned long long)r.inuse_samples, truth);
    __asm__ volatile("" ::"r"(keep) : "memory");
    free_list(near);
    free_list(over);
    return absurd_failed && weights_exact && s.rep.rate_bytes == 4096 &&
                   r.inuse_bytes > truth * 0.9 &&
                   r.inuse_bytes < truth * 1.1
               ? 0
               : 1;
}

static void test_accuracy_sparse_rate(void **state)
{
    (void)state;
    /* No limit on the pace: every sample at the rate (a thread taking
     * thousands of samples in a few milliseconds would be paced). */
    assert_int_equal(agent_child_run2("accuracy", "LYNXPROF_HEAP_RATE",
                                      "4096", "LYNXPROF_HEAP_SAMPLE_LIMIT",
                                      "0"),
                     0);
}

/* ---- the pace of a fast allocating thread ------------------------------------ */

#define PACE_LIMIT 200
#define PACE_RATE 4096.0
#define PACE_SIZE 256

/* malloc and free of PACE_SIZE bytes for `ns` nanoseconds: the count. */
__attribute__((noinline)) uint64_t heap_test_site_paced(int64_t ns)
{
    int64_t end = lynx_mono_ns() + ns;
    uint64_t n = 0;

    do {
        for (int i = 0; i < 4096; i++) {
            void *p = malloc(PACE_SIZE);
            __asm__ volatile("" ::"r"(p) : "memory"); /* not elided */
            free(p);
        }
        n += 4096;
    } while (lynx_mono_ns() < end);
    return n;
}

/* A thread of its own that allocates little: at its own pace. */
__attribute__((noinline)) void *heap_test_site_calm(void *arg)
{
    (void)arg;
    return list_of(64, 3000);
}

static int paced_child(void)
{
    snap_t s;
    lynx_heap_record_t r;
    pthread_t th;
    void *calm = NULL;
    int64_t t0 = lynx_mono_ns();
    uint64_t n = heap_test_site_paced(3 * SECOND / 2);
    double secs = (double)(lynx_mono_ns() - t0) / 1e9;
    double truth = (double)n * PACE_SIZE;
    /* Samples without a limit, and the most a limit allows: a window per
     * second, the first one at the rate, and slack for the windows it
     * takes to settle. */
    double unpaced = (double)n * -expm1(-PACE_SIZE / PACE_RATE);
    double most = PACE_LIMIT * (secs + 2.0) * 1.5;
    int ok = 1;

    if (pthread_create(&th, NULL, heap_test_site_calm, NULL) != 0 ||
        pthread_join(th, &calm) != 0) {
        return 2;
    }
    take(&s, 0);
    site(&s, (void *)heap_test_site_paced, &r);
    fprintf(stderr, "paced: %llu allocations in %.2f s, %llu samples "
            "(%.0f without a limit, %.0f at most with it), %llu at a "
            "longer interval; estimate %.0f bytes, truth %.0f\n",
            (unsigned long long)n, secs,
            (unsigned long long)r.alloc_samples, unpaced, most,
            (unsigned long long)s.rep.paced_samples, r.alloc_bytes, truth);
    ok &= unpaced > 4.0 * most; /* else this run shows nothing */
    ok &= r.alloc_samples >= PACE_LIMIT / 2 && r.alloc_samples <= most;
    ok &= s.rep.sample_limit == PACE_LIMIT;
    ok &= s.rep.paced_samples > 0 && s.rep.paced_samples < s.rep.samples;
    /* Each sample weighs by its own interval's mean: unbiased. */
    ok &= r.alloc_bytes > truth * 0.75 && r.alloc_bytes < truth * 1.25;
    site(&s, (void *)heap_test_site_calm, &r);
    ok &= weight_exact(&r, 64, PACE_RATE);
    free_list(calm);
    free(s.bulk);
    return ok ? 0 : 1;
}

static void test_paced_fast_thread(void **state)
{
    (void)state;
    assert_int_equal(agent_child_run2("paced", "LYNXPROF_HEAP_RATE", "4096",
                                      "LYNXPROF_HEAP_SAMPLE_LIMIT",
                                      "200"),
                     0);
}

/* The pace's arithmetic: a window of `limit` samples in a tenth of the
 * time scales the mean by ten; one of 2 samples in two seconds brings it
 * back toward the rate; never outside [rate, mean_max]; a window counted
 * as 1 ms at least. */
static void test_paced_mean(void **state)
{
    const double rate = 4096.0;
    const double max = 1048576.0;
    (void)state;
    assert_true(fabs(lynx_heap_paced_mean(8192.0, 100, SECOND / 10, 100, rate,
                                          max) -
                     81920.0) < 1e-6);
    assert_true(fabs(lynx_heap_paced_mean(81920.0, 40, 2 * SECOND, 100, rate,
                                          max) -
                     16384.0) < 1e-6);
    assert_true(lynx_heap_paced_mean(81920.0, 2, 2 * SECOND, 100, rate,
                                     max) == rate);
    assert_true(lynx_heap_paced_mean(rate, 1000, SECOND / 1000, 10, rate,
                                     max) == max);
    assert_true(fabs(lynx_heap_paced_mean(rate, 10, 0, 10000, rate, 1e12) -
                     rate) < 1e-6);
    assert_true(fabs(lynx_heap_paced_mean(rate, 100, 0, 10000, rate, 1e12) -
                     10.0 * rate) < 1e-6);
}

/* The exact counters where most calls take the fast paths (the default
 * rate: a block is sampled now and then) and where all do (rate 0). */
static void test_counters_exact_default_rate(void **state)
{
    (void)state;
    assert_int_equal(
        agent_child_run("counted", "LYNXPROF_HEAP_RATE", "524288"), 0);
}

static void test_counters_exact_rate_zero(void **state)
{
    (void)state;
    assert_int_equal(agent_child_run("counted", "LYNXPROF_HEAP_RATE", "0"),
                     0);
}

/* Rate 0: counted, never sampled. */
static void test_rate_zero(void **state)
{
    (void)state;
    assert_int_equal(agent_child_run("off", "LYNXPROF_HEAP_RATE", "0"), 0);
}

static int off_child(void)
{
    snap_t s;
    void *p = heap_test_site_c(1 << 20);

    take(&s, 0);
    free(p);
    return s.rep.rate_bytes == 0 && s.rep.nrecords == 0 &&
                   s.rep.totals.allocs > 0
               ? 0
               : 1;
}

/* Without counters (LYNXPROF_HEAP_COUNTERS=0, or not set: the default):
 * no counters (zeros, and the memory statistics say they are not
 * available), every call still served, and sampling as usual.  free()
 * then tells a sampled block by its address (a multiple of 512) before
 * it reads anything: every sampled block is there, and every one freed
 * leaves the live table. */
static int uncounted_child(void)
{
    lynx_memstats_t ms;
    lynx_call_t c;
    snap_t s;
    void *keep = heap_test_site_c(1 << 20);
    void *blocks[64];
    uint64_t live_before;
    int bad = 0;

    take(&s, 0);
    live_before = s.rep.live_samples;
    free(s.bulk);
    for (int round = 0; round < 2000; round++) {
        for (int i = 0; i < 64; i++) {
            size_t size = (size_t)16 << (i % 11);
            blocks[i] = i % 3 == 0 ? calloc(1, size) : malloc(size);
            bad |= blocks[i] == NULL;
            if (i % 5 == 0 && blocks[i] != NULL) {
                blocks[i] = realloc(blocks[i], size * 2);
            }
            if (i % 7 == 0) {
                free(NULL);
            }
            /* At rate 1 every block is sampled, so at a multiple of 512. */
            if (lynx_heap_rate() == 1 && ((uintptr_t)blocks[i] & 511) != 0) {
                bad |= 2;
            }
        }
        for (int i = 0; i < 64; i++) {
            free(blocks[i]);
        }
    }
    take(&s, 0);
    if (s.rep.live_samples > live_before + 16) {
        fprintf(stderr, "uncounted: %llu live samples, %llu before\n",
                (unsigned long long)s.rep.live_samples,
                (unsigned long long)live_before);
        bad |= 4;
    }
    bad |= s.rep.totals.allocs != 0 || s.rep.totals.frees != 0 ||
           s.rep.totals.alloc_bytes != 0 || s.rep.totals.free_bytes != 0;
    bad |= lynx_heap_counting() != 0;
    /* Sampling goes on: the 1 MiB block is in the profile at rate 1, and
     * likely at the default rate. */
    if (s.rep.rate_bytes == 1) {
        bad |= s.rep.nrecords == 0 || s.rep.live_samples == 0;
    }
    free(s.bulk);
    free(keep);
    bad |= lynx_mailbox_call(blk, LYNX_CMD_MEMSTATS, NULL, 0, &ms,
                             sizeof(ms), NULL, &c, 5 * SECOND) != 0 ||
           c.result != 0 ||
           (ms.flags & LYNX_MEMSTATS_HAVE_ALLOC_COUNTERS) != 0;
    return bad;
}

static void test_counters_off(void **state)
{
    (void)state;
    setenv("LYNXPROF_HEAP_COUNTERS", "0", 1);
    assert_int_equal(agent_child_run("uncounted", "LYNXPROF_HEAP_RATE", "1"),
                     0);
    assert_int_equal(
        agent_child_run("uncounted", "LYNXPROF_HEAP_RATE", "524288"), 0);
    assert_int_equal(agent_child_run("uncounted", "LYNXPROF_HEAP_RATE", "0"),
                     0);
    /* The default: not set (and set but empty) is off. */
    unsetenv("LYNXPROF_HEAP_COUNTERS");
    assert_int_equal(agent_child_run("uncounted", "LYNXPROF_HEAP_RATE", "1"),
                     0);
    assert_int_equal(
        agent_child_run("uncounted", "LYNXPROF_HEAP_RATE", "524288"), 0);
    setenv("LYNXPROF_HEAP_COUNTERS", "", 1);
    assert_int_equal(agent_child_run("uncounted", "LYNXPROF_HEAP_RATE", "0"),
                     0);
    setenv("LYNXPROF_HEAP_COUNTERS", "1", 1);
}

static int setup(void **state)
{
    (void)state;
    site_starts[0] = (uintptr_t)heap_test_site_a;
    site_starts[1] = (uintptr_t)heap_test_site_b;
    site_starts[2] = (uintptr_t)heap_test_site_c;
    site_starts[3] = (uintptr_t)heap_test_site_small;
    site_starts[4] = (uintptr_t)counted_worker;
    site_starts[5] = (uintptr_t)hammer;
    site_starts[6] = (uintptr_t)short_life;
    site_starts[7] = (uintptr_t)accuracy_child;
    site_starts[8] = (uintptr_t)storm;
    site_starts[9] = (uintptr_t)heap_test_site_near;
    site_starts[10] = (uintptr_t)heap_test_site_over;
    site_starts[11] = (uintptr_t)heap_test_site_paced;
    site_starts[12] = (uintptr_t)heap_test_site_calm;
    nsite_starts = 13;
    blk = agent_test_start("heap");
    assert_non_null(blk);
    {
        /* One answered command: the agent thread is past its start-up
         * (which allocates), so the exact counts below are the tests'. */
        snap_t s;
        take(&s, 0);
        free(s.bulk);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    agent_test_stop(blk);
    return 0;
}

#if defined(__SANITIZE_ADDRESS__)
static void test_skipped_under_asan(void **state)
{
    lynx_heap_totals_t t;
    (void)state;
    assert_false(lynx_heap_totals(&t)); /* no hooks: no counters */
}
#endif

int main(int argc, char **argv)
{
    const char *mode = getenv(AGENT_CHILD_ENV);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counters_exact),
        cmocka_unit_test(test_counters_exact_default_rate),
        cmocka_unit_test(test_counters_exact_rate_zero),
        cmocka_unit_test(test_memstats_has_counters),
        cmocka_unit_test(test_rate1_exact_and_free),
        cmocka_unit_test(test_scribbled_prefix),
        cmocka_unit_test(test_labels),
        cmocka_unit_test(test_realloc_failure_keeps_sample),
        cmocka_unit_test(test_alignment),
        cmocka_unit_test(test_sampled_blocks_behave),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_fork_while_sampling),
        cmocka_unit_test(test_signal_handler_while_sampling),
        cmocka_unit_test(test_signals_while_unwinding),
        cmocka_unit_test(test_threads_come_and_go),
        cmocka_unit_test(test_accuracy_sparse_rate),
        cmocka_unit_test(test_paced_fast_thread),
        cmocka_unit_test(test_paced_mean),
        cmocka_unit_test(test_rate_zero),
        cmocka_unit_test(test_counters_off),
    };

    (void)argc;
#if defined(__SANITIZE_ADDRESS__)
    /* AddressSanitizer owns malloc: the agent leaves it alone. */
    {
        const struct CMUnitTest skipped[] = {
            cmocka_unit_test(test_skipped_under_asan),
        };
        return cmocka_run_group_tests(skipped, NULL, NULL);
    }
#endif
    if (mode == NULL && (getenv("LYNXPROF_HEAP_RATE") == NULL ||
                         getenv("LYNXPROF_HEAP_COUNTERS") == NULL)) {
        /* Every allocation sampled, and the exact counters (off by
         * default) on, unless asked otherwise; the children get what
         * each test sets. */
        setenv("LYNXPROF_HEAP_RATE", "1", 0);
        setenv("LYNXPROF_HEAP_COUNTERS", "1", 0);
        execv("/proc/self/exe", argv);
        return 127;
    }
    if (mode != NULL && strcmp(mode, "counted") == 0) {
        const struct CMUnitTest counted[] = {
            cmocka_unit_test(test_counters_exact),
        };
        return cmocka_run_group_tests(counted, setup, teardown);
    }
    if (mode != NULL) {
        int rc;
        setup(NULL);
        rc = strcmp(mode, "accuracy") == 0    ? accuracy_child()
             : strcmp(mode, "paced") == 0     ? paced_child()
             : strcmp(mode, "uncounted") == 0 ? uncounted_child()
                                              : off_child();
        teardown(NULL);
        return rc;
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
