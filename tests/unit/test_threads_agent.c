/*
 * test_threads_agent.c - the agent's thread dump, thread-creation records
 * and lock hooks inside this test process (the agent's sources are linked
 * in, so this executable's pthread calls go through the hooks), and the
 * generic debug=1 text of the pprof builder.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/locks.h"
#include "agent_test.h"
#include "fake_block.h"
#include "client/attach.h"
#include "protocol/block_threads.h"
#include "client/pprof.h"
#include "client/symbolize.h"
#include "protocol/clock.h"
#include "lynxprof-agent.h"
#include "lynxprof.h"

#define MS 1000000LL
#define SECOND 1000000000LL

static lynx_block_t *blk;
static int pipefd[2];

/* 1 if return address pc is in the function of that name (symbolized
 * from the agent's module snapshot, as the endpoints do). */
static int in_fn(uint64_t pc, const char *name)
{
    static lynx_symbolizer_t *sym;
    lynx_modules_t *m = lynx_block_region_ptr(blk, LYNX_REGION_MODULES,
                                              sizeof(*m), NULL);
    const lynx_module_t *mod;
    const char *got;

    if (sym == NULL) {
        sym = lynx_symbolizer_create();
    }
    mod = lynx_module_find(m->modules, m->nmodules, pc - 1);
    got = mod != NULL ? lynx_symbolize_name(sym, mod, pc - 1) : NULL;
    return got != NULL && strcmp(got, name) == 0;
}

static int call(uint32_t cmd, const void *arg, size_t len, void *reply,
                size_t cap, void **bulk, size_t *bulk_len, char *msg)
{
    lynx_call_t c;
    int rc = lynx_mailbox_call(blk, cmd, arg, len, reply, cap, bulk, &c,
                               2 * SECOND);
    if (rc != 0) {
        return rc;
    }
    if (msg != NULL) {
        snprintf(msg, LYNX_MSG_MAX, "%s", c.message);
    }
    if (bulk_len != NULL) {
        *bulk_len = c.bulk_len;
    }
    return c.result;
}

/* ---- thread dump ---------------------------------------------------------- */

__attribute__((noinline)) void dump_test_sleeper(void)
{
    char c;
    /* Blocked in read() until the test writes. */
    while (read(pipefd[0], &c, 1) < 0 && errno == EINTR) {
    }
    __asm__ volatile("" ::: "memory");
}

static void *sleeper(void *arg)
{
    (void)arg;
    pthread_setname_np(pthread_self(), "dump-sleeper");
    /* A dump carries the request labels each thread has pushed. */
    lynx_label_push("request", "sleeping");
    dump_test_sleeper();
    lynx_label_pop();
    return NULL;
}

static void *deaf(void *arg)
{
    sigset_t s;
    (void)arg;
    sigemptyset(&s);
    sigaddset(&s, SIGPROF);
    pthread_sigmask(SIG_BLOCK, &s, NULL);
    pthread_setname_np(pthread_self(), "dump-deaf");
    dump_test_sleeper();
    return NULL;
}

static int count_tasks(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)) != NULL) {
        n += e->d_name[0] != '.';
    }
    closedir(d);
    return n;
}

static void test_thread_dump(void **state)
{
    pthread_t th[4];
    lynx_thread_dump_arg_t arg = {100, 0};
    lynx_thread_dump_reply_t rep;
    lynx_thread_rec_t *recs = NULL;
    size_t len = 0;
    int sleepers = 0;
    int deaf_seen = 0;
    int agent_seen = 0;
    int64_t t0;
    (void)state;

    assert_int_equal(pipe(pipefd), 0);
    for (int i = 0; i < 3; i++) {
        pthread_create(&th[i], NULL, sleeper, NULL);
    }
    pthread_create(&th[3], NULL, deaf, NULL);
    usleep(50 * 1000);
    t0 = lynx_mono_ns();
    assert_int_equal(call(LYNX_CMD_THREAD_DUMP, &arg, sizeof(arg), &rep,
                          sizeof(rep), (void **)&recs, &len, NULL),
                     0);
    /* The deaf thread costs the timeout, not more. */
    assert_true(lynx_mono_ns() - t0 < 600 * MS);
    assert_int_equal(len, rep.nthreads * sizeof(lynx_thread_rec_t));
    assert_int_equal((int)rep.nthreads, count_tasks());
    assert_int_equal(rep.nmissing, 1);
    for (uint32_t i = 0; i < rep.nthreads; i++) {
        const lynx_thread_rec_t *r = &recs[i];
        int found = 0;
        if (strcmp(r->name, "dump-sleeper") == 0) {
            assert_int_equal(r->status, LYNX_THREAD_OK);
            assert_true(r->state == 'S');
            assert_int_equal(r->labels.nlabels, 1);
            assert_string_equal(r->labels.labels[0].key, "request");
            assert_string_equal(r->labels.labels[0].value, "sleeping");
            for (uint32_t k = 0; k < r->depth; k++) {
                found |= in_fn(r->pcs[k], "dump_test_sleeper");
            }
            assert_true(found);
            sleepers++;
        } else if (strcmp(r->name, "dump-deaf") == 0) {
            assert_int_equal(r->status, LYNX_THREAD_NO_ANSWER);
            deaf_seen++;
        } else if (r->flags & LYNX_THREAD_AGENT) {
            assert_string_equal(r->name, "lynxprof-agent");
            assert_int_equal(r->status, LYNX_THREAD_OK);
            assert_true(r->depth > 2);
            agent_seen++;
        }
    }
    assert_int_equal(sleepers, 3);
    assert_int_equal(deaf_seen, 1);
    assert_int_equal(agent_seen, 1);
    free(recs);
    /* A second dump right after works too (slots reused). */
    assert_int_equal(call(LYNX_CMD_THREAD_DUMP, NULL, 0, &rep, sizeof(rep),
                          (void **)&recs, &len, NULL),
                     0);
    assert_int_equal(rep.nmissing, 1);
    free(recs);
    /* running_only: the blocked threads are not asked (the deaf one no
     * longer costs the timeout), listed with state and wchan. */
    arg.flags = LYNX_DUMP_RUNNING_ONLY;
    assert_int_equal(call(LYNX_CMD_THREAD_DUMP, &arg, sizeof(arg), &rep,
                          sizeof(rep), (void **)&recs, &len, NULL),
                     0);
    assert_int_equal(rep.nmissing, 0);
    sleepers = deaf_seen = agent_seen = 0;
    for (uint32_t i = 0; i < rep.nthreads; i++) {
        const lynx_thread_rec_t *r = &recs[i];
        if (strcmp(r->name, "dump-sleeper") == 0 ||
            strcmp(r->name, "dump-deaf") == 0) {
            assert_int_equal(r->status, LYNX_THREAD_BLOCKED);
            assert_int_equal(r->depth, 0);
            assert_true(r->state == 'S');
            assert_non_null(memchr(r->wchan, '\0', sizeof(r->wchan)));
            assert_true(strlen(r->wchan) > 0);
            if (r->name[5] == 's') {
                sleepers++;
            } else {
                deaf_seen++;
            }
        } else if (r->flags & LYNX_THREAD_AGENT) {
            assert_int_equal(r->status, LYNX_THREAD_OK);
            agent_seen++;
        }
    }
    assert_int_equal(sleepers, 3);
    assert_int_equal(deaf_seen, 1);
    assert_int_equal(agent_seen, 1);
    free(recs);
    recs = NULL;
    /* Unknown flags are refused. */
    arg.flags = 0x80;
    assert_int_equal(call(LYNX_CMD_THREAD_DUMP, &arg, sizeof(arg), &rep,
                          sizeof(rep), (void **)&recs, &len, NULL),
                     LYNX_EBADARG);
    free(recs);
    assert_int_equal(write(pipefd[1], "xxxx", 4), 4);
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
    }
    close(pipefd[0]);
    close(pipefd[1]);
}

/* The program's own SIGPROF handler is never taken over (in a process of
 * its own). */
static int foreign_sigprof_child(void)
{
    return agent_child_foreign_sigprof(LYNX_CMD_THREAD_DUMP, NULL, 0,
                                       LYNX_EUNSUPPORTED, "SIGPROF is in use");
}

static void test_dump_refuses_foreign_sigprof(void **state)
{
    (void)state;
    assert_int_equal(agent_child_run("foreign-sigprof", NULL, NULL), 0);
}

/* ---- thread creation ----------------------------------------------------------- */

static void *nothing(void *arg)
{
    return arg;
}

__attribute__((noinline)) void tc_test_creator(int n)
{
    for (int i = 0; i < n; i++) {
        pthread_t t;
        pthread_create(&t, NULL, nothing, NULL);
        pthread_join(t, NULL);
    }
    __asm__ volatile("" ::: "memory");
}

static void test_threadcreate(void **state)
{
    lynx_threadcreate_arg_t arg = {0, 0};
    lynx_threadcreate_reply_t before;
    lynx_threadcreate_reply_t rep;
    lynx_threadcreate_rec_t *recs = NULL;
    size_t len = 0;
    int mine = 0;
    (void)state;

    arg.flags = LYNX_LOCKS_SUMMARY;
    assert_int_equal(call(LYNX_CMD_THREADCREATE, &arg, sizeof(arg), &before,
                          sizeof(before), NULL, NULL, NULL),
                     0);
    tc_test_creator(5);
    arg.flags = 0;
    assert_int_equal(call(LYNX_CMD_THREADCREATE, &arg, sizeof(arg), &rep,
                          sizeof(rep), (void **)&recs, &len, NULL),
                     0);
    assert_int_equal(rep.created, before.created + 5);
    assert_int_equal(rep.nrecords, before.nrecords + 5);
    assert_int_equal(len, rep.nrecords * sizeof(*recs));
    for (uint32_t i = 0; i < rep.nrecords; i++) {
        /* Leaf: the interposed pthread_create, then its caller. */
        if (recs[i].depth >= 2 &&
            in_fn(recs[i].pcs[0], "pthread_create") &&
            in_fn(recs[i].pcs[1], "tc_test_creator")) {
            assert_true(recs[i].tid > 0);
            mine++;
        }
    }
    assert_int_equal(mine, 5);
    free(recs);
}

/* ---- locks ---------------------------------------------------------------------- */

static pthread_mutex_t test_lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int lock_rounds;

__attribute__((noinline)) void lock_test_contender(void)
{
    for (int i = 0; i < lock_rounds; i++) {
        pthread_mutex_lock(&test_lock);
        usleep(2000);
        pthread_mutex_unlock(&test_lock);
        /* Let a waiter in (glibc's mutex is not fair). */
        usleep(200);
        __asm__ volatile("" ::: "memory");
    }
}

static void *contender(void *arg)
{
    (void)arg;
    lock_test_contender();
    return NULL;
}

static int fetch_locks(uint32_t kind, lynx_locks_reply_t *rep,
                       lynx_lock_rec_t **recs)
{
    lynx_locks_arg_t arg = {kind, 0};
    size_t len = 0;
    int rc = call(LYNX_CMD_LOCKS, &arg, sizeof(arg), rep, sizeof(*rep),
                  (void **)recs, &len, NULL);
    if (rc == 0) {
        assert_int_equal(len, rep->nrecords * sizeof(lynx_lock_rec_t));
    }
    return rc;
}

/* Open (duration_ns > 0) or close (id) a recording window; returns the
 * windows open after the command. */
static uint32_t window(int64_t duration_ns, uint64_t *id)
{
    lynx_locks_window_arg_t arg;
    lynx_locks_window_reply_t rep;

    memset(&arg, 0, sizeof(arg));
    arg.op = duration_ns > 0 ? LYNX_LOCKS_WINDOW_OPEN
                             : LYNX_LOCKS_WINDOW_CLOSE;
    arg.duration_ns = duration_ns;
    arg.id = *id;
    assert_int_equal(call(LYNX_CMD_LOCKS_WINDOW, &arg, sizeof(arg), &rep,
                          sizeof(rep), NULL, NULL, NULL),
                     0);
    assert_int_equal(rep.always, 0);
    if (duration_ns > 0) {
        assert_true(rep.id != 0);
        *id = rep.id;
    }
    return rep.open;
}

static void run_contenders(int rounds)
{
    pthread_t th[3];

    lock_rounds = rounds;
    for (int i = 0; i < 3; i++) {
        pthread_create(&th[i], NULL, contender, NULL);
    }
    for (int i = 0; i < 3; i++) {
        pthread_join(th[i], NULL);
    }
}

/* Contention outside any window is not recorded, at any rate. */
static void test_locks_outside_window(void **state)
{
    lynx_locks_reply_t rep;
    lynx_lock_rec_t *recs = NULL;
    (void)state;

    lynx_locks_configure(1, 1, 1);
    run_contenders(20);
    assert_int_equal(fetch_locks(LYNX_LOCKS_BLOCK, &rep, &recs), 0);
    assert_int_equal(rep.contentions, 0);
    assert_int_equal(rep.nrecords, 0);
    free(recs);
    recs = NULL;
    assert_int_equal(fetch_locks(LYNX_LOCKS_MUTEX, &rep, &recs), 0);
    assert_int_equal(rep.contentions, 0);
    free(recs);
    lynx_locks_configure(LYNX_BLOCK_RATE_DEFAULT,
                         LYNX_MUTEX_FRACTION_DEFAULT, 1);
}

/* Windows are counted: closing one of two keeps recording on; a window
 * nobody closes ends by itself; closing an unknown id is harmless. */
static void test_locks_windows(void **state)
{
    lynx_locks_window_arg_t bad;
    lynx_locks_window_reply_t rep;
    uint64_t a = 0;
    uint64_t b = 0;
    uint64_t c = 0;
    uint64_t gone = 12345;
    (void)state;

    assert_int_equal(window(60 * 1000 * MS, &a), 1);
    assert_int_equal(window(60 * 1000 * MS, &b), 2);
    assert_true(a != b);
    assert_int_equal(window(0, &a), 1);
    assert_int_equal(window(0, &a), 1);
    assert_int_equal(window(0, &gone), 1);
    assert_int_equal(window(0, &b), 0);
    assert_int_equal(window(300 * MS, &c), 1);
    /* The agent thread closes it within a heartbeat period. */
    for (int i = 0; i < 40 && window(0, &gone) != 0; i++) {
        usleep(50 * 1000);
    }
    assert_int_equal(window(0, &gone), 0);
    memset(&bad, 0, sizeof(bad));
    bad.op = LYNX_LOCKS_WINDOW_OPEN;
    assert_int_equal(call(LYNX_CMD_LOCKS_WINDOW, &bad, sizeof(bad), &rep,
                          sizeof(rep), NULL, NULL, NULL),
                     LYNX_EBADARG);
    bad.duration_ns = LYNX_LOCKS_WINDOW_MAX_NS + 1;
    assert_int_equal(call(LYNX_CMD_LOCKS_WINDOW, &bad, sizeof(bad), &rep,
                          sizeof(rep), NULL, NULL, NULL),
                     LYNX_EBADARG);
    bad.op = 7;
    bad.duration_ns = MS;
    assert_int_equal(call(LYNX_CMD_LOCKS_WINDOW, &bad, sizeof(bad), &rep,
                          sizeof(rep), NULL, NULL, NULL),
                     LYNX_EBADARG);
    assert_int_equal(call(LYNX_CMD_LOCKS_WINDOW, &bad, 4, &rep, sizeof(rep),
                          NULL, NULL, NULL),
                     LYNX_EBADARG);
    /* No more than LYNX_LOCKS_WINDOWS at once. */
    uint64_t ids[LYNX_LOCKS_WINDOWS];
    for (int i = 0; i < LYNX_LOCKS_WINDOWS; i++) {
        ids[i] = 0;
        window(60 * 1000 * MS, &ids[i]);
    }
    bad.op = LYNX_LOCKS_WINDOW_OPEN;
    assert_int_equal(call(LYNX_CMD_LOCKS_WINDOW, &bad, sizeof(bad), &rep,
                          sizeof(rep), NULL, NULL, NULL),
                     LYNX_EBUSY);
    for (int i = 0; i < LYNX_LOCKS_WINDOWS; i++) {
        window(0, &ids[i]);
    }
    assert_int_equal(window(0, &gone), 0);
}

/* Contention the child of a fork records, read in the child itself. */
static uint64_t child_contentions(void)
{
    lynx_locks_arg_t arg = {LYNX_LOCKS_BLOCK, LYNX_LOCKS_SUMMARY};
    lynx_locks_reply_t rep;
    char msg[LYNX_MSG_MAX];
    lynx_reply_t r = {&rep, sizeof(rep), 0, NULL, 0, 0, msg};

    if (lynx_agent_locks(&arg, sizeof(arg), &r) != 0) {
        return UINT64_MAX;
    }
    return rep.contentions;
}

/* A child forked during a window does not inherit it: nothing would ever
 * close it there. */
static void test_locks_window_not_forked(void **state)
{
    uint64_t id = 0;
    int status = 0;
    pid_t pid;
    (void)state;

    lynx_locks_configure(1, 1, 1);
    assert_int_equal(window(60 * 1000 * MS, &id), 1);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        uint64_t before = child_contentions();
        run_contenders(10);
        _exit(before != UINT64_MAX && child_contentions() == before ? 0 : 1);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(window(0, &id), 0);
    lynx_locks_configure(LYNX_BLOCK_RATE_DEFAULT,
                         LYNX_MUTEX_FRACTION_DEFAULT, 1);
}

static void test_lock_profiles(void **state)
{
    lynx_locks_reply_t rep;
    lynx_lock_rec_t *recs = NULL;
    uint64_t id = 0;
    uint64_t waits = 0;
    uint64_t delay = 0;
    uint64_t held = 0;
    int64_t t0;
    int64_t wall;
    (void)state;

    /* Every wait, every contended release. */
    lynx_locks_configure(1, 1, 1);
    window(60 * 1000 * MS, &id);
    t0 = lynx_mono_ns();
    run_contenders(50);
    wall = lynx_mono_ns() - t0;
    window(0, &id);

    assert_int_equal(fetch_locks(LYNX_LOCKS_BLOCK, &rep, &recs), 0);
    assert_int_equal(rep.rate, 1);
    for (uint32_t i = 0; i < rep.nrecords; i++) {
        if (recs[i].depth >= 2 &&
            in_fn(recs[i].pcs[0], "pthread_mutex_lock") &&
            in_fn(recs[i].pcs[1], "lock_test_contender")) {
            waits += recs[i].contentions;
            delay += recs[i].delay_ns;
        }
    }
    print_message("block: %llu waits, %.1f ms waited, %.1f ms wall\n",
                  (unsigned long long)waits, delay / 1e6, wall / 1e6);
    /* 3 threads x 50 rounds of 2 ms: most acquisitions wait, and at any
     * time two threads wait for the one holding the lock. */
    assert_true(waits > 30);
    /* About 2x wall when all three run; less when a loaded machine keeps
     * one from running (not waiting either), but never under half. */
    assert_true(delay > (uint64_t)wall / 2);
    assert_true(delay < 3 * (uint64_t)wall);
    free(recs);

    assert_int_equal(fetch_locks(LYNX_LOCKS_MUTEX, &rep, &recs), 0);
    for (uint32_t i = 0; i < rep.nrecords; i++) {
        if (recs[i].depth >= 2 &&
            in_fn(recs[i].pcs[0], "pthread_mutex_unlock") &&
            in_fn(recs[i].pcs[1], "lock_test_contender")) {
            held += recs[i].delay_ns;
        }
    }
    print_message("mutex: %.1f ms charged to the holders\n", held / 1e6);
    /* The holders' release stacks carry the waiting they caused, which is
     * what the waiters measured, up to the wake-up latencies. */
    assert_true(held > delay / 2);
    assert_true(held <= delay + 10 * MS);
    free(recs);
    lynx_locks_configure(LYNX_BLOCK_RATE_DEFAULT,
                         LYNX_MUTEX_FRACTION_DEFAULT, 1);
}

__attribute__((noinline)) void cond_test_waiter(int n, long wait_ns)
{
    pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    pthread_cond_t c = PTHREAD_COND_INITIALIZER;

    pthread_mutex_lock(&m);
    for (int i = 0; i < n; i++) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += wait_ns;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&c, &m, &ts);
    }
    pthread_mutex_unlock(&m);
    __asm__ volatile("" ::: "memory");
}

/* Waits shorter than the rate are sampled and weighed: the estimate of
 * their number and total delay is right on average (Go's debiasing),
 * checked against the exact truth measured here. */
static void test_block_debiasing(void **state)
{
    lynx_locks_reply_t rep;
    lynx_lock_rec_t *recs = NULL;
    const int n = 3000;
    uint64_t est_n = 0;
    uint64_t est_delay = 0;
    int64_t t0;
    int64_t truth;
    (void)state;

    uint64_t id = 0;

    lynx_locks_configure(1 * MS, 0, 1);
    window(60 * 1000 * MS, &id);
    t0 = lynx_mono_ns();
    cond_test_waiter(n, 150 * 1000);
    truth = lynx_mono_ns() - t0;
    window(0, &id);
    assert_int_equal(fetch_locks(LYNX_LOCKS_BLOCK, &rep, &recs), 0);
    for (uint32_t i = 0; i < rep.nrecords; i++) {
        if (recs[i].depth >= 2 &&
            in_fn(recs[i].pcs[0], "pthread_cond_timedwait") &&
            in_fn(recs[i].pcs[1], "cond_test_waiter")) {
            est_n += recs[i].contentions;
            est_delay += recs[i].delay_ns;
        }
    }
    print_message("debiased: %llu of %d waits, %.1f ms of %.1f ms\n",
                  (unsigned long long)est_n, n, est_delay / 1e6,
                  truth / 1e6);
    /* Each wait (~200 us) is kept with probability ~0.2: ~600 kept. */
    assert_true(rep.nrecords >= 1);
    assert_true(est_n > (uint64_t)n * 8 / 10 && est_n < (uint64_t)n * 12 / 10);
    assert_true(est_delay > (uint64_t)truth * 7 / 10 &&
                est_delay < (uint64_t)truth * 13 / 10);
    free(recs);
    lynx_locks_configure(LYNX_BLOCK_RATE_DEFAULT,
                         LYNX_MUTEX_FRACTION_DEFAULT, 1);
}

static void test_bad_arguments(void **state)
{
    lynx_locks_arg_t bad = {9, 0};
    lynx_locks_reply_t rep;
    lynx_thread_dump_arg_t slow = {60000, 0};
    lynx_thread_dump_reply_t drep;
    (void)state;

    assert_int_equal(call(LYNX_CMD_LOCKS, &bad, sizeof(bad), &rep,
                          sizeof(rep), NULL, NULL, NULL),
                     LYNX_EBADARG);
    assert_int_equal(call(LYNX_CMD_LOCKS, &bad, 3, &rep, sizeof(rep), NULL,
                          NULL, NULL),
                     LYNX_EBADARG);
    assert_int_equal(call(LYNX_CMD_THREAD_DUMP, &slow, sizeof(slow), &drep,
                          sizeof(drep), NULL, NULL, NULL),
                     LYNX_EBADARG);
    assert_int_equal(call(LYNX_CMD_THREADCREATE, NULL, 0, &drep,
                          sizeof(drep), NULL, NULL, NULL),
                     LYNX_EBADARG);
}

/* ---- the builder's debug=1 text -------------------------------------------------- */

static void test_debug_text(void **state)
{
    lynx_pprof_t *p = lynx_pprof_create();
    uint64_t a[2] = {0x1000, 0x2000};
    uint64_t b[1] = {0x3000};
    int64_t va[2] = {3, 300};
    int64_t vb[2] = {5, 100};
    size_t order[2] = {1, 0};
    char *text = NULL;
    size_t len = 0;
    (void)state;

    assert_int_equal(lynx_pprof_add_sample_type(p, "contentions", "count"),
                     0);
    assert_int_equal(lynx_pprof_add_sample_type(p, "delay", "nanoseconds"),
                     0);
    assert_int_equal(lynx_pprof_add_sample(p, a, 2, 0, va, 2, NULL, 0), 0);
    assert_int_equal(lynx_pprof_add_sample(p, b, 1, 0, vb, 2, NULL, 0), 0);
    assert_int_equal(lynx_pprof_add_sample(p, a, 2, 0, va, 2, NULL, 0), 0);
    assert_int_equal(lynx_pprof_total(p, 0), 11);
    assert_int_equal(lynx_pprof_debug_text(p, NULL, "--- x:\n", order, 2,
                                           &text, &len),
                     0);
    assert_int_equal(len, strlen(text));
    /* Largest delay first, values in the order asked, Go's layout. */
    assert_string_equal(text, "--- x:\n"
                              "600 6 @ 0x1000 0x2000\n"
                              "#\t0xfff\t0xfff\n"
                              "#\t0x1fff\t0x1fff\n"
                              "\n"
                              "100 5 @ 0x3000\n"
                              "#\t0x2fff\t0x2fff\n"
                              "\n");
    free(text);
    order[0] = 5;
    assert_int_equal(lynx_pprof_debug_text(p, NULL, NULL, order, 1, &text,
                                           &len),
                     -EINVAL);
    lynx_pprof_destroy(p);
}

static int setup(void **state)
{
    (void)state;
    blk = agent_test_start("threads");
    assert_non_null(blk);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    agent_test_stop(blk);
    return 0;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_thread_dump),
        cmocka_unit_test(test_dump_refuses_foreign_sigprof),
        cmocka_unit_test(test_threadcreate),
        cmocka_unit_test(test_locks_outside_window),
        cmocka_unit_test(test_locks_windows),
        cmocka_unit_test(test_locks_window_not_forked),
        cmocka_unit_test(test_lock_profiles),
        cmocka_unit_test(test_block_debiasing),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_debug_text),
    };
    if (getenv(AGENT_CHILD_ENV) != NULL) {
        return foreign_sigprof_child();
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
