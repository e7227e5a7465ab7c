/*
 * test_fork_agent.c - the fork gate (lib/agent/fork.c) inside this test
 * process, with the agent's sources linked in: fork() waits for an unwind
 * in flight, for a bounded time only; a fork from a signal handler that
 * interrupted an unwind does not wait for itself; children (forked or
 * vforked) never unwind until they start an agent; the thread id kept
 * for the loader-lock check is each thread's own, also after fork and
 * vfork; and a child forked
 * while another thread walks the loaded modules without pause never
 * inherits the loader's lock; and a child that takes a mutex its parent's
 * threads contended for does not inherit the lock hooks' bookkeeping of
 * them.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent/context.h"
#include "agent/dl_hooks.h"
#include "agent/fork.h"
#include "agent/internal.h"
#include "agent/locks.h"
#include "agent/sampler.h"
#include "protocol/block_threads.h"
#include "protocol/clock.h"

#define MS 1000000LL

static _Atomic int entered;
static _Atomic int release;

/* Enter the gate (as an unwind does), hold it until told, leave. */
static void *holder(void *arg)
{
    (void)arg;
    if (!lynx_fork_gate_enter()) {
        atomic_store(&entered, -1);
        return NULL;
    }
    atomic_store(&entered, 1);
    while (!atomic_load(&release)) {
        struct timespec ts = {0, 1 * MS};
        nanosleep(&ts, NULL);
    }
    lynx_fork_gate_leave();
    return NULL;
}

static void *release_after_100ms(void *arg)
{
    struct timespec ts = {0, 100 * MS};

    (void)arg;
    nanosleep(&ts, NULL);
    atomic_store(&release, 1);
    return NULL;
}

/* Fork; the child exits with the number of frames an unwind got there
 * (capped), or 100 + that number once it has started an agent of its own
 * and unwound again.  Returns the child's exit status. */
static int fork_and_unwind_in_child(int start_agent)
{
    int status;
    pid_t child;

    alarm(10); /* a deadlock fails the test instead of hanging it */
    child = fork();
    if (child == 0) {
        void *buf[16];
        int n = lynx_unwind_here(buf, 16);
        if (start_agent) {
            lynx_fork_gate_agent_started();
            n = 100 + (lynx_unwind_here(buf, 16) > 0);
        }
        _exit(n > 0 && n < 100 ? 50 : n);
    }
    assert_true(child > 0);
    assert_int_equal(waitpid(child, &status, 0), child);
    alarm(0);
    assert_true(WIFEXITED(status));
    return WEXITSTATUS(status);
}

static void start_holder(pthread_t *t)
{
    atomic_store(&entered, 0);
    atomic_store(&release, 0);
    assert_int_equal(pthread_create(t, NULL, holder, NULL), 0);
    while (atomic_load(&entered) == 0) {
        sched_yield();
    }
    assert_int_equal(atomic_load(&entered), 1);
}

static void test_fork_waits_for_unwind_in_flight(void **state)
{
    pthread_t t;
    pthread_t r;
    int64_t t0;
    int64_t waited;
    uint64_t timeouts = lynx_fork_gate_timeouts();

    (void)state;
    start_holder(&t);
    assert_int_equal(pthread_create(&r, NULL, release_after_100ms, NULL), 0);
    t0 = lynx_mono_ns();
    /* A child never unwinds. */
    assert_int_equal(fork_and_unwind_in_child(0), 0);
    waited = lynx_mono_ns() - t0;
    pthread_join(r, NULL);
    pthread_join(t, NULL);
    /* fork() returned only once the holder had left the gate. */
    assert_true(waited >= 90 * MS);
    assert_int_equal(lynx_fork_gate_timeouts(), timeouts);
    /* The parent unwinds again. */
    {
        void *buf[16];
        assert_true(lynx_unwind_here(buf, 16) > 0);
    }
}

/* Threads keep to stripes of the gate (agent/context.h): with more
 * holders than stripes, on every stripe, fork() still waits for the last
 * one to leave.  Holder i leaves when `staggered` reaches i + 1; the
 * releaser counts up every 3 ms. */
#define HOLDERS (LYNX_FORK_STRIPES + 3)
static _Atomic int staggered;
static _Atomic int holders_in;
static _Atomic int holders_left;

static void *staggered_holder(void *arg)
{
    int i = (int)(intptr_t)arg;

    if (!lynx_fork_gate_enter()) {
        atomic_fetch_add(&holders_in, 1000);
        return NULL;
    }
    atomic_fetch_add(&holders_in, 1);
    while (atomic_load(&staggered) <= i) {
        struct timespec ts = {0, MS / 2};
        nanosleep(&ts, NULL);
    }
    atomic_fetch_add(&holders_left, 1);
    lynx_fork_gate_leave();
    return NULL;
}

static void *count_up(void *arg)
{
    (void)arg;
    for (int i = 0; i < HOLDERS; i++) {
        struct timespec ts = {0, 3 * MS};
        nanosleep(&ts, NULL);
        atomic_fetch_add(&staggered, 1);
    }
    return NULL;
}

static void test_fork_waits_for_every_stripe(void **state)
{
    pthread_t t[HOLDERS];
    pthread_t r;
    int left_at_fork;
    uint64_t timeouts = lynx_fork_gate_timeouts();

    (void)state;
    atomic_store(&staggered, 0);
    atomic_store(&holders_in, 0);
    atomic_store(&holders_left, 0);
    for (int i = 0; i < HOLDERS; i++) {
        assert_int_equal(
            pthread_create(&t[i], NULL, staggered_holder, (void *)(intptr_t)i),
            0);
    }
    while (atomic_load(&holders_in) < HOLDERS) {
        sched_yield();
    }
    assert_int_equal(atomic_load(&holders_in), HOLDERS);
    assert_int_equal(pthread_create(&r, NULL, count_up, NULL), 0);
    assert_int_equal(fork_and_unwind_in_child(0), 0);
    /* fork() returned (the parent's side) only after every holder left. */
    left_at_fork = atomic_load(&holders_left);
    pthread_join(r, NULL);
    for (int i = 0; i < HOLDERS; i++) {
        pthread_join(t[i], NULL);
    }
    assert_int_equal(left_at_fork, HOLDERS);
    assert_int_equal(lynx_fork_gate_timeouts(), timeouts);
}

static void test_stuck_unwind_bounds_the_wait(void **state)
{
    pthread_t t;
    int64_t t0;
    int64_t first;
    uint64_t timeouts = lynx_fork_gate_timeouts();

    (void)state;
    /* A thread that never leaves (stopped by a debugger mid-unwind). */
    start_holder(&t);
    t0 = lynx_mono_ns();
    assert_int_equal(fork_and_unwind_in_child(0), 0);
    first = lynx_mono_ns() - t0;
    assert_true(first >= 400 * MS); /* it did wait */
    assert_int_equal(lynx_fork_gate_timeouts(), timeouts + 1);
    /* The same entry still stuck: the next forks go ahead (after a short
     * wait, also counted), and their children do not unwind either. */
    for (int i = 0; i < 5; i++) {
        assert_int_equal(fork_and_unwind_in_child(0), 0);
    }
    assert_int_equal(lynx_fork_gate_timeouts(), timeouts + 6);
    atomic_store(&release, 1);
    pthread_join(t, NULL);
}

static volatile sig_atomic_t handler_status = -1;

static void fork_in_handler(int sig)
{
    int status;
    pid_t child;

    (void)sig;
    child = fork();
    if (child == 0) {
        _exit(lynx_fork_gate_enter() == 0 ? 0 : 1);
    }
    if (child > 0 && waitpid(child, &status, 0) == child &&
        WIFEXITED(status)) {
        handler_status = WEXITSTATUS(status);
    }
}

/* A signal handler forks while its thread is inside the gate: the fork
 * must not wait for the very unwind it interrupted. */
static void test_fork_from_handler_inside_gate(void **state)
{
    struct sigaction sa;
    uint64_t timeouts = lynx_fork_gate_timeouts();
    int64_t t0;

    (void)state;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = fork_in_handler;
    sigaction(SIGUSR1, &sa, NULL);
    assert_int_equal(lynx_fork_gate_enter(), 1);
    t0 = lynx_mono_ns();
    alarm(10);
    raise(SIGUSR1);
    alarm(0);
    lynx_fork_gate_leave();
    assert_int_equal(handler_status, 0);
    assert_int_equal(lynx_fork_gate_timeouts(), timeouts);
    assert_true(lynx_mono_ns() - t0 < 400 * MS); /* did not wait out */
    signal(SIGUSR1, SIG_DFL);
}

/* vfork() runs no atfork handler: its child is told apart by its pid. */
static void test_vfork_child_refused(void **state)
{
    volatile int in_child = -1;
    int status;
    pid_t child;

    (void)state;
    child = vfork();
    if (child == 0) {
        in_child = lynx_fork_gate_enter();
        _exit(0);
    }
    assert_true(child > 0);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(in_child, 0);
    assert_int_equal(lynx_fork_gate_enter(), 1);
    lynx_fork_gate_leave();
}

/* The thread id the unwinders compare with the loader's lock owners is
 * cached per thread: a forked child has its own, and a vfork child (which
 * shares the parent thread's TLS) leaves the parent's cache alone. */
static void *tid_after_vfork(void *arg)
{
    volatile pid_t in_child = -1;
    int status;
    pid_t child;

    (void)arg;
    child = vfork(); /* first use of the cache on this thread: in the child */
    if (child == 0) {
        in_child = lynx_fork_thread_tid();
        _exit(0);
    }
    if (child < 0 || waitpid(child, &status, 0) != child) {
        return (void *)(intptr_t)-1;
    }
    if (in_child != child) {
        return (void *)(intptr_t)-2; /* the child did not see its own id */
    }
    /* The parent's first entry after the vfork clears the mark. */
    if (lynx_fork_gate_enter() != 1) {
        return (void *)(intptr_t)-3;
    }
    lynx_fork_gate_leave();
    return (void *)(intptr_t)(lynx_fork_thread_tid() ==
                              (pid_t)syscall(SYS_gettid) ? 0 : -4);
}

static void test_thread_tid_cache(void **state)
{
    pthread_t t;
    void *r = NULL;
    int status;
    pid_t child;

    (void)state;
    assert_int_equal(lynx_fork_thread_tid(), (pid_t)syscall(SYS_gettid));
    child = fork();
    if (child == 0) {
        _exit(lynx_fork_thread_tid() == (pid_t)syscall(SYS_gettid) ? 0 : 1);
    }
    assert_true(child > 0);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_int_equal(pthread_create(&t, NULL, tid_after_vfork, NULL), 0);
    assert_int_equal(pthread_join(t, &r), 0);
    assert_int_equal((intptr_t)r, 0);
}

static void test_child_with_own_agent_unwinds(void **state)
{
    (void)state;
    assert_int_equal(fork_and_unwind_in_child(1), 101);
}

static _Atomic int walking;
/* The module walk keeps the agent thread's state: one walker at a time. */
static pthread_mutex_t walk_lock = PTHREAD_MUTEX_INITIALIZER;

/* Walk the loaded modules without pause, as the agent thread does during
 * a profile (into a fresh table each time, so every walk does the whole
 * work under the loader's lock). */
static void *walker(void *arg)
{
    size_t size = sizeof(lynx_modules_t) + 256 * sizeof(lynx_module_t);
    lynx_modules_t *mods = malloc(size);

    (void)arg;
    while (atomic_load(&walking)) {
        pthread_mutex_lock(&walk_lock);
        memset(mods, 0, size);
        lynx_agent_modules_init(mods, 256);
        lynx_agent_modules_update(NULL);
        pthread_mutex_unlock(&walk_lock);
    }
    pthread_mutex_lock(&walk_lock);
    lynx_agent_modules_init(NULL, 0);
    pthread_mutex_unlock(&walk_lock);
    free(mods);
    return NULL;
}

static int count_module(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)info;
    (void)size;
    (*(int *)data)++;
    return 0;
}

/* Fork `n` children that each run child_cb under a 2 s alarm (a child
 * that inherited a lock held dies of it) and exit with its result; the
 * number of children that did not exit 0. */
static int failed_children(int n, int (*child_cb)(void))
{
    int failed = 0;

    for (int i = 0; i < n; i++) {
        int status;
        pid_t child = fork();
        if (child == 0) {
            alarm(2);
            _exit(child_cb());
        }
        assert_true(child > 0);
        assert_int_equal(waitpid(child, &status, 0), child);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
            failed++;
        }
    }
    return failed;
}

static int walk_modules(void)
{
    int n = 0;

    dl_iterate_phdr(count_module, &n);
    return n > 0 ? 0 : 1;
}

static void test_children_never_inherit_loader_lock(void **state)
{
    pthread_t t[2];
    int hung;

    (void)state;
    atomic_store(&walking, 1);
    pthread_create(&t[0], NULL, walker, NULL);
    pthread_create(&t[1], NULL, walker, NULL);
    hung = failed_children(200, walk_modules);
    atomic_store(&walking, 0);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    assert_int_equal(hung, 0);
}

static pthread_mutex_t hot = PTHREAD_MUTEX_INITIALIZER;
static _Atomic int contending;

/* Take and release one mutex without pause: with two of these the lock
 * hooks register waiters on its entry of the mutex profile all the time. */
static void *contender(void *arg)
{
    (void)arg;
    while (atomic_load(&contending)) {
        pthread_mutex_lock(&hot);
        for (volatile int i = 0; i < 200; i++) {
        }
        pthread_mutex_unlock(&hot);
    }
    return NULL;
}

/* A child that uses the mutex its parent's threads contended for must not
 * find the lock hooks' bookkeeping of those threads (gone in the child)
 * held. */
static int use_hot_mutex(void)
{
    pthread_mutex_init(&hot, NULL); /* its owner may be gone */
    for (int k = 0; k < 10; k++) {
        pthread_mutex_lock(&hot);
        pthread_mutex_unlock(&hot);
    }
    return 0;
}

/* Open (duration_ns > 0) or close a lock recording window; no agent thread
 * runs here, so the command is called directly. */
static uint64_t lock_window(int64_t duration_ns, uint64_t id)
{
    lynx_locks_window_arg_t arg = {
        duration_ns > 0 ? LYNX_LOCKS_WINDOW_OPEN : LYNX_LOCKS_WINDOW_CLOSE,
        0, duration_ns, id};
    lynx_locks_window_reply_t rep;
    char msg[LYNX_MSG_MAX];
    lynx_reply_t r = {&rep, sizeof(rep), 0, NULL, 0, 0, msg};

    assert_int_equal(lynx_agent_locks_window(&arg, sizeof(arg), &r), 0);
    return rep.id;
}

static void test_child_uses_contended_mutex(void **state)
{
    pthread_t t[2];
    uint64_t window;
    int hung;

    (void)state;
    /* The hooks register waiters only while a window is open. */
    window = lock_window(600LL * 1000 * 1000 * 1000, 0);
    atomic_store(&contending, 1);
    pthread_create(&t[0], NULL, contender, NULL);
    pthread_create(&t[1], NULL, contender, NULL);
    /* Before the lock hooks forgot the parent's waiters in the child,
     * about 6 in 1000 of these children spun for ever. */
    hung = failed_children(1000, use_hot_mutex);
    atomic_store(&contending, 0);
    pthread_join(t[0], NULL);
    pthread_join(t[1], NULL);
    lock_window(0, window);
    assert_int_equal(hung, 0);
}

/* Inside the loader's own walk (the real dl_iterate_phdr, called past the
 * agent's wrapper, so the depth count stays 0) this thread owns the
 * loader's lock: the unwinders' check must refuse it, as it refuses a
 * thread inside dlopen holding that lock (the soak's deadlock), and must
 * not refuse it once the walk is over. */
static int busy_inside;

static int walk_cb(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)info;
    (void)size;
    (void)data;
    busy_inside = lynx_dl_iterate_busy();
    return 1;
}

static void test_loader_lock_owner_refused(void **state)
{
    typedef int (*iterate_fn)(int (*)(struct dl_phdr_info *, size_t, void *),
                              void *);
    iterate_fn real =
        (iterate_fn)dlvsym(RTLD_NEXT, "dl_iterate_phdr", "GLIBC_2.2.5");

    (void)state;
    if (real == NULL) {
        real = (iterate_fn)dlsym(RTLD_NEXT, "dl_iterate_phdr");
    }
    assert_non_null(real);
    assert_true(lynx_dl_loader_locks_found() >= 1);
    assert_int_equal(lynx_dl_iterate_depth, 0);
    assert_int_equal(lynx_dl_iterate_busy(), 0);
    busy_inside = 0;
    real(walk_cb, NULL);
    assert_int_equal(busy_inside, 1);
    assert_int_equal(lynx_dl_iterate_busy(), 0);
}

/* A recursive mutex is taken in two steps, its lock word and then its
 * owner: a signal between the two finds the loader's lock held and no
 * owner (the dlopen test's deadlock: the handler's unwind waited for its
 * own thread).  The check refuses that state, and only while it lasts.
 * In a child, which has one thread: nobody else may wait on the lock
 * while its word is set by hand. */
static void test_loader_lock_without_owner_refused(void **state)
{
    int status;
    pid_t child;

    (void)state;
    assert_true(lynx_dl_loader_locks_found() >= 1);
    child = fork();
    if (child == 0) {
        int ok = 1;
        for (int i = 0; i < lynx_dl_loader_locks_found(); i++) {
            pthread_mutex_t *m = (pthread_mutex_t *)lynx_dl_loader_lock(i);
            int word = __atomic_load_n(&m->__data.__lock, __ATOMIC_SEQ_CST);
            ok &= word == 0 && m->__data.__owner == 0;
            ok &= lynx_dl_iterate_busy() == 0;
            __atomic_store_n(&m->__data.__lock, 1, __ATOMIC_SEQ_CST);
            ok &= lynx_dl_iterate_busy() == 1;
            __atomic_store_n(&m->__data.__lock, 0, __ATOMIC_SEQ_CST);
            ok &= lynx_dl_iterate_busy() == 0;
        }
        _exit(ok ? 0 : 1);
    }
    assert_true(child > 0);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fork_waits_for_unwind_in_flight),
        cmocka_unit_test(test_fork_waits_for_every_stripe),
        cmocka_unit_test(test_stuck_unwind_bounds_the_wait),
        cmocka_unit_test(test_fork_from_handler_inside_gate),
        cmocka_unit_test(test_vfork_child_refused),
        cmocka_unit_test(test_thread_tid_cache),
        cmocka_unit_test(test_loader_lock_without_owner_refused),
        cmocka_unit_test(test_child_with_own_agent_unwinds),
        cmocka_unit_test(test_children_never_inherit_loader_lock),
        cmocka_unit_test(test_child_uses_contended_mutex),
        cmocka_unit_test(test_loader_lock_owner_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
