/*
 * test_cpu_agent.c - the agent's CPU sampler inside this test process:
 * per-thread timers, the signal handler's stacks, session states and the
 * commands' rules (one at a time, not before the last one is saved).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <dlfcn.h>

#include "agent_test.h"
#include "fake_block.h"
#include "client/symbolize.h"
#include "client/attach.h"
#include "protocol/clock.h"
#include "lynxprof-agent.h"
#include "lynxprof.h"

#define MS 1000000LL
#define SECOND 1000000000LL

static lynx_block_t *blk;
static volatile int spin_stop;
static volatile uint64_t sink;

__attribute__((noinline)) void cpu_test_leaf(void)
{
    uint64_t x = sink;
    for (int i = 0; i < 1000000; i++) {
        x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    }
    sink = x;
}

__attribute__((noinline)) void cpu_test_middle(void)
{
    cpu_test_leaf();
    __asm__ volatile("" ::: "memory");
}

static void *spinner(void *arg)
{
    (void)arg;
    while (!spin_stop) {
        cpu_test_middle();
    }
    return NULL;
}

static int call(uint32_t cmd, const void *arg, size_t len, void *reply,
                size_t cap, char *msg)
{
    lynx_call_t c;
    int rc = lynx_mailbox_call(blk, cmd, arg, len, reply, cap, NULL, &c,
                               2 * SECOND);
    if (rc != 0) {
        return rc;
    }
    if (msg != NULL) {
        snprintf(msg, LYNX_MSG_MAX, "%s", c.message);
    }
    return c.result;
}

static int start(int64_t dur, uint32_t hz, lynx_cpu_start_reply_t *rep)
{
    lynx_cpu_start_arg_t a = {dur, hz, LYNX_ORIGIN_API, lynx_real_ns()};
    return call(LYNX_CMD_CPU_START, &a, sizeof(a), rep, sizeof(*rep), NULL);
}

static int by_id(uint32_t cmd, const char *id)
{
    lynx_session_arg_t a;
    memset(&a, 0, sizeof(a));
    snprintf(a.id, sizeof(a.id), "%s", id);
    return call(cmd, &a, sizeof(a), NULL, 0, NULL);
}

static lynx_session_t *record(const char *id)
{
    lynx_sessions_t *ss = lynx_block_region_ptr(blk, LYNX_REGION_SESSIONS,
                                                sizeof(*ss), NULL);
    for (int i = 0; i < LYNX_MAX_SESSIONS; i++) {
        if (strcmp(ss->sessions[i].id, id) == 0 &&
            ss->sessions[i].state != LYNX_SESSION_FREE) {
            return &ss->sessions[i];
        }
    }
    return NULL;
}

static void wait_state(const char *id, uint32_t state)
{
    for (int i = 0; i < 300; i++) {
        if (record(id)->state == state) {
            return;
        }
        usleep(10 * 1000);
    }
    fail_msg("session %s never reached state %u", id, state);
}

/* The program's own SIGPROF handler is never taken over (in a process of
 * its own). */
static int foreign_sigprof_child(void)
{
    lynx_cpu_start_arg_t a = {SECOND, 100, LYNX_ORIGIN_API, 1};

    return agent_child_foreign_sigprof(LYNX_CMD_CPU_START, &a, sizeof(a),
                                       -EBUSY, "SIGPROF");
}

static void test_refuses_foreign_sigprof(void **state)
{
    (void)state;
    assert_int_equal(agent_child_run("foreign-sigprof", NULL, NULL), 0);
}

static _Atomic unsigned long own_ticks;

static void own_sigprof(int sig, siginfo_t *info, void *uc)
{
    (void)sig;
    (void)uc;
    if (info != NULL && info->si_code == SI_TIMER) {
        atomic_fetch_add(&own_ticks, 1);
    }
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* In a process of its own: a session runs at 1000 Hz on a busy thread,
 * then the program takes SIGPROF (its own handler, or setitimer).  The
 * session must end failed, saying so, within a short time; the program's
 * handler must stop getting the agent's timer signals; the samples taken
 * so far stay.  Exit status: which check failed (0: all passed). */
static int sigprof_taken_child(int by_itimer)
{
    lynx_cpu_start_reply_t rep;
    lynx_session_t *rec;
    pthread_t th;
    int64_t t0;
    int64_t took = 0;
    int rc = 0;

    blk = agent_test_start(by_itimer ? "itimer" : "taken");
    if (blk == NULL) {
        return 10;
    }
    spin_stop = 0;
    pthread_create(&th, NULL, spinner, NULL);
    if (start(30 * SECOND, 1000, &rep) != 0) {
        return 11;
    }
    sleep_ms(300);
    t0 = lynx_mono_ns();
    if (by_itimer) {
        struct itimerval it = {{0, 10000}, {0, 10000}};
        setitimer(ITIMER_PROF, &it, NULL);
    } else {
        struct sigaction sa;
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = own_sigprof;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigaction(SIGPROF, &sa, NULL);
    }
    rec = record(rep.id);
    while (rec->state == LYNX_SESSION_RUNNING &&
           lynx_mono_ns() - t0 < 5 * SECOND) {
        sleep_ms(1);
    }
    took = lynx_mono_ns() - t0;
    fprintf(stderr, "sigprof taken: session %s after %lld ms: \"%s\", "
            "%llu samples, %lu timer signals to the program's handler\n",
            rec->state == LYNX_SESSION_FAILED ? "failed" : "not failed",
            (long long)(took / 1000000), rec->error,
            (unsigned long long)rec->samples, atomic_load(&own_ticks));
    if (rec->state != LYNX_SESSION_FAILED) {
        rc = 12;
    } else if (strstr(rec->error, by_itimer ? "setitimer ITIMER_PROF"
                                            : "installed its own SIGPROF "
                                              "handler") == NULL ||
               strstr(rec->error, "CPU profiling stopped") == NULL) {
        rc = 13;
    } else if (rec->samples == 0 || !rec->in_table) {
        rc = 14; /* the samples so far are kept */
    }
    if (rc == 0 && !by_itimer) {
        /* Signals already on their way may still land; after that the
         * program's handler hears from the agent no more. */
        sleep_ms(100);
        atomic_store(&own_ticks, 0);
        sleep_ms(500);
        if (atomic_load(&own_ticks) != 0) {
            fprintf(stderr, "%lu timer signals after the session ended\n",
                    atomic_load(&own_ticks));
            rc = 15;
        }
    }
    if (by_itimer) {
        struct itimerval off;
        memset(&off, 0, sizeof(off));
        setitimer(ITIMER_PROF, &off, NULL);
    }
    spin_stop = 1;
    pthread_join(th, NULL);
    agent_test_stop(blk);
    return rc;
}

static void test_sigprof_taken_mid_session(void **state)
{
    (void)state;
    assert_int_equal(agent_child_run("sigprof-taken", NULL, NULL), 0);
    assert_int_equal(agent_child_run("itimer-taken", NULL, NULL), 0);
}

static int64_t thread_cpu_ns(pthread_t th)
{
    clockid_t clk;
    struct timespec ts;

    if (pthread_getcpuclockid(th, &clk) != 0 ||
        clock_gettime(clk, &ts) != 0) {
        return 0;
    }
    return (int64_t)ts.tv_sec * SECOND + ts.tv_nsec;
}

/* Samples follow the CPU time the threads really got, whatever the load of
 * the machine: the expected count is measured, not assumed. */
static void test_profile_sees_hot_function(void **state)
{
    pthread_t th[2];
    lynx_cpu_start_reply_t rep;
    lynx_session_t *s;
    lynx_cpu_table_t *t;
    uint64_t in_leaf = 0;
    uint64_t deep = 0;
    int64_t cpu0;
    int64_t cpu1;
    int64_t cpu_ns;
    double expected;
    (void)state;

    spin_stop = 0;
    pthread_create(&th[0], NULL, spinner, NULL);
    assert_int_equal(start(600 * MS, 500, &rep), 0);
    cpu0 = thread_cpu_ns(th[0]);
    assert_memory_equal(rep.id, "cpu_", 4);
    /* A thread created while the profile runs is sampled too. */
    usleep(100 * 1000);
    pthread_create(&th[1], NULL, spinner, NULL);
    s = record(rep.id);
    assert_non_null(s);
    assert_int_equal(s->state, LYNX_SESSION_RUNNING);
    wait_state(rep.id, LYNX_SESSION_COMPLETED);
    cpu_ns = thread_cpu_ns(th[0]) - cpu0;
    cpu1 = thread_cpu_ns(th[1]);
    cpu_ns += cpu1;
    spin_stop = 1;
    pthread_join(th[0], NULL);
    pthread_join(th[1], NULL);

    t = lynx_block_region_ptr(blk, LYNX_REGION_CPU, sizeof(*t), NULL);
    assert_true(s->in_table);
    assert_int_equal(s->samples, t->samples);
    assert_int_equal(t->period_ns, SECOND / 500);
    /* One sample per 2 ms of CPU time of the two threads (measured a
     * little after the session ended, hence the wide upper bound). */
    expected = (double)cpu_ns / (double)(SECOND / 500);
    print_message("samples %llu (expected about %.0f from %lld ms of CPU),"
                  " stacks %u, lost %llu\n",
                  (unsigned long long)t->samples, expected,
                  (long long)(cpu_ns / MS), t->nstacks,
                  (unsigned long long)t->lost_samples);
    assert_true(expected >= 20);
    assert_true(t->samples >= 0.6 * expected);
    assert_true(t->samples <= 1.3 * expected + 5);
    for (uint32_t i = 0; i < t->nstacks; i++) {
        const lynx_cpu_stack_t *st = &t->stacks[i];
        uint64_t pc = st->pcs[0];
        if (pc >= (uint64_t)(uintptr_t)cpu_test_leaf &&
            pc < (uint64_t)(uintptr_t)cpu_test_leaf + 256) {
            in_leaf += st->count;
            /* leaf <- middle <- spinner <- start_thread ... */
            if (st->depth >= 4) {
                deep += st->count;
            }
        }
    }
    assert_true(in_leaf > t->samples / 2);
    assert_true(deep > in_leaf * 9 / 10);
    assert_true(s->ended_unix_ns > s->started_unix_ns);
    assert_int_equal(by_id(LYNX_CMD_CPU_SPOOLED, rep.id), 0);
}

static void test_one_at_a_time_and_stop(void **state)
{
    lynx_cpu_start_reply_t a;
    lynx_cpu_start_reply_t b;
    (void)state;

    assert_int_equal(start(10 * SECOND, 100, &a), 0);
    assert_int_equal(start(SECOND, 100, &b), LYNX_ECONFLICT);
    assert_string_equal(a.id, b.id);
    assert_int_equal(by_id(LYNX_CMD_CPU_STOP, "cpu_1"), LYNX_ENOSESSION);
    assert_int_equal(by_id(LYNX_CMD_CPU_FORGET, a.id), LYNX_ENOTREADY);
    assert_int_equal(by_id(LYNX_CMD_CPU_STOP, a.id), 0);
    assert_int_equal(record(a.id)->state, LYNX_SESSION_CANCELLED);
    assert_int_equal(by_id(LYNX_CMD_CPU_STOP, a.id), LYNX_ENOTREADY);
    /* Not saved yet: the table is still taken. */
    assert_int_equal(start(SECOND, 100, &b), LYNX_ENOTREADY);
    assert_string_equal(a.id, b.id);
    assert_int_equal(by_id(LYNX_CMD_CPU_SPOOLED, a.id), 0);
    assert_int_equal(start(50 * MS, 100, &b), 0);
    assert_string_not_equal(a.id, b.id);
    wait_state(b.id, LYNX_SESSION_COMPLETED);
    assert_int_equal(by_id(LYNX_CMD_CPU_SPOOLED, b.id), 0);
    assert_int_equal(by_id(LYNX_CMD_CPU_FORGET, a.id), 0);
    assert_null(record(a.id));
}

static void test_bad_arguments(void **state)
{
    lynx_cpu_start_reply_t rep;
    lynx_session_arg_t bad;
    (void)state;
    assert_int_equal(start(0, 100, &rep), LYNX_EBADARG);
    assert_int_equal(start(-5, 100, &rep), LYNX_EBADARG);
    assert_int_equal(start(SECOND, 0, &rep), LYNX_EBADARG);
    assert_int_equal(start(SECOND, 1001, &rep), LYNX_EBADARG);
    memset(&bad, 'x', sizeof(bad)); /* unterminated id */
    assert_int_equal(call(LYNX_CMD_CPU_STOP, &bad, sizeof(bad), NULL, 0,
                          NULL),
                     LYNX_EBADARG);
    assert_int_equal(call(LYNX_CMD_CPU_STOP, &bad, 3, NULL, 0, NULL),
                     LYNX_EBADARG);
}

/* fork() during a profile: the child inherits no timers, keeps working
 * and exits normally; the parent's session is unharmed. */
static void test_fork_during_profile(void **state)
{
    pthread_t th;
    lynx_cpu_start_reply_t rep;
    pid_t child;
    int status;
    (void)state;

    spin_stop = 0;
    pthread_create(&th, NULL, spinner, NULL);
    assert_int_equal(start(400 * MS, 1000, &rep), 0);
    usleep(50 * 1000);
    child = fork();
    if (child == 0) {
        int64_t end = lynx_mono_ns() + 300 * MS;
        while (lynx_mono_ns() < end) {
            cpu_test_leaf();
        }
        _exit(lynx_agent_name() == NULL ? 0 : 7);
    }
    waitpid(child, &status, 0);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    wait_state(rep.id, LYNX_SESSION_COMPLETED);
    spin_stop = 1;
    pthread_join(th, NULL);
    assert_true(record(rep.id)->samples > 0);
    assert_int_equal(by_id(LYNX_CMD_CPU_SPOOLED, rep.id), 0);
}

/* A module loaded with dlopen() while a profile runs is in the snapshot
 * (with its build ID), its code is sampled, and the samples symbolize. */
static void test_dlopen_during_profile(void **state)
{
    lynx_cpu_start_reply_t rep;
    lynx_modules_t *m = lynx_block_region_ptr(blk, LYNX_REGION_MODULES,
                                              sizeof(*m), NULL);
    lynx_cpu_table_t *t;
    const lynx_module_t *mod = NULL;
    uint64_t (*spin)(uint64_t);
    lynx_symbolizer_t *sym;
    uint64_t in_lib = 0;
    int named = 0;
    void *h;
    (void)state;

    assert_int_equal(start(1500 * MS, 500, &rep), 0);
    usleep(100 * 1000);
    h = dlopen(HOTLIB_PATH, RTLD_NOW);
    assert_non_null(h);
    spin = (uint64_t(*)(uint64_t))dlsym(h, "hot_fixture_spin");
    assert_non_null(spin);
    {
        int64_t end = lynx_mono_ns() + 600 * MS;
        while (lynx_mono_ns() < end) {
            sink += spin(200000);
        }
    }
    wait_state(rep.id, LYNX_SESSION_COMPLETED);
    for (uint32_t i = 0; i < m->nmodules; i++) {
        if (strstr(m->modules[i].path, "libhotfixture.so") != NULL) {
            mod = &m->modules[i];
        }
    }
    assert_non_null(mod);
    assert_true(mod->build_id_len > 0);
    /* Once unloaded, the module stays in the snapshot. */
    dlclose(h);
    t = lynx_block_region_ptr(blk, LYNX_REGION_CPU, sizeof(*t), NULL);
    sym = lynx_symbolizer_create();
    for (uint32_t i = 0; i < t->nstacks; i++) {
        uint64_t pc = t->stacks[i].pcs[0];
        lynx_frame_t fr[8];
        size_t nfr = 0;
        if (pc < mod->start || pc >= mod->limit) {
            continue;
        }
        in_lib += t->stacks[i].count;
        if (lynx_symbolize(sym, mod, pc, fr, 8, &nfr) == 0 && nfr > 0 &&
            strcmp(fr[nfr - 1].function, "hot_fixture_spin") == 0) {
            named++;
        }
    }
    lynx_symbolizer_destroy(sym);
    print_message("samples in the dlopen()ed module: %llu\n",
                  (unsigned long long)in_lib);
    assert_true(in_lib > 0);
    assert_true(named > 0);
    assert_int_equal(by_id(LYNX_CMD_CPU_SPOOLED, rep.id), 0);
}

/* The module snapshot covers this program and libc, with build IDs. */
static void test_modules(void **state)
{
    lynx_modules_t *m = lynx_block_region_ptr(blk, LYNX_REGION_MODULES,
                                              sizeof(*m), NULL);
    int self = 0;
    int libc = 0;
    (void)state;
    assert_non_null(m);
    assert_true(m->nmodules > 2);
    assert_true(m->generation % 2 == 0);
    for (uint32_t i = 0; i < m->nmodules; i++) {
        const lynx_module_t *mod = &m->modules[i];
        uint64_t pc = (uint64_t)(uintptr_t)cpu_test_leaf;
        if (pc >= mod->start && pc < mod->limit) {
            self = mod->build_id_len == 20;
        }
        libc += strstr(mod->path, "libc.so") != NULL;
    }
    assert_true(self);
    assert_true(libc);
}

static int setup(void **state)
{
    (void)state;
    blk = agent_test_start("cpu");
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
        cmocka_unit_test(test_refuses_foreign_sigprof),
        cmocka_unit_test(test_sigprof_taken_mid_session),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_profile_sees_hot_function),
        cmocka_unit_test(test_one_at_a_time_and_stop),
        cmocka_unit_test(test_fork_during_profile),
        cmocka_unit_test(test_modules),
        cmocka_unit_test(test_dlopen_during_profile),
    };
    if (getenv(AGENT_CHILD_ENV) != NULL) {
        if (strcmp(getenv(AGENT_CHILD_ENV), "sigprof-taken") == 0) {
            return sigprof_taken_child(0);
        }
        if (strcmp(getenv(AGENT_CHILD_ENV), "itimer-taken") == 0) {
            return sigprof_taken_child(1);
        }
        return foreign_sigprof_child();
    }
    return cmocka_run_group_tests(tests, setup, teardown);
}
