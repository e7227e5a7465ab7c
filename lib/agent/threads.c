/*
 * agent/threads.c - per-thread CPU timers and the pthread_create()
 * interposition that arms them on new threads.
 *
 * Workload: a profile arms one POSIX timer per thread (tens to a few
 * hundred threads); threads created while it runs arm their own timer in
 * their first instructions and delete it when they end.  The timer table is
 * guarded by `lock`, which is taken only in ordinary thread context (never in
 * a signal handler): by the agent thread, by new threads in the start
 * trampoline, and by the thread-exit destructor.
 */
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent/context.h"
#include "agent/threaddump.h"
#include "agent/threads.h"
#include "protocol/clock.h"

#define EXPORT __attribute__((visibility("default")))

/* Linux names the CPU clock of any thread of the process by its tid. */
#define THREAD_CPUCLOCK(tid)                                                   \
    ((clockid_t)((~(unsigned int)(tid) << 3) | 6u))

/* This file's part of the agent's state (agent/context.h). */
#define g (lynx_agent.threads)

static pid_t my_tid(void)
{
    return (pid_t)syscall(SYS_gettid);
}

static int64_t random_below(int64_t n)
{
    /* xorshift64*: spreads first expiries so threads do not fire in step. */
    g.rng ^= g.rng >> 12;
    g.rng ^= g.rng << 25;
    g.rng ^= g.rng >> 27;
    return (int64_t)((g.rng * 2685821657736338717ULL) % (uint64_t)n);
}

/* Arm one thread's timer.  Caller holds the lock. */
static int arm_locked(pid_t tid)
{
    struct sigevent sev;
    struct itimerspec its;
    timer_t timer;
    int64_t first;

    if (tid == g.agent_tid || g.ntimers == LYNX_THREAD_TIMERS_MAX) {
        return 0;
    }
    for (size_t i = 0; i < g.ntimers; i++) {
        if (g.timers[i].tid == tid) {
            return 0;
        }
    }
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev._sigev_un._tid = tid;
    if (timer_create(THREAD_CPUCLOCK(tid), &sev, &timer) != 0) {
        return -errno; /* the thread ended meanwhile */
    }
    first = 1 + random_below(g.period_ns);
    its.it_interval.tv_sec = g.period_ns / 1000000000LL;
    its.it_interval.tv_nsec = g.period_ns % 1000000000LL;
    its.it_value.tv_sec = first / 1000000000LL;
    its.it_value.tv_nsec = first % 1000000000LL;
    if (timer_settime(timer, 0, &its, NULL) != 0) {
        int saved = errno;
        timer_delete(timer);
        return -saved;
    }
    g.timers[g.ntimers].tid = tid;
    g.timers[g.ntimers].timer = timer;
    g.ntimers++;
    return 1;
}

static void disarm_tid_locked(pid_t tid)
{
    for (size_t i = 0; i < g.ntimers; i++) {
        if (g.timers[i].tid == tid) {
            timer_delete(g.timers[i].timer);
            g.timers[i] = g.timers[--g.ntimers];
            return;
        }
    }
}

static int scan_locked(void)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    int n = 0;

    if (d == NULL) {
        return -errno;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] >= '1' && e->d_name[0] <= '9') {
            n += arm_locked((pid_t)atoi(e->d_name)) > 0;
        }
    }
    closedir(d);
    return n;
}

static void thread_exit_cb(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&g.lock);
    disarm_tid_locked(my_tid());
    pthread_mutex_unlock(&g.lock);
}

void lynx_threads_init(pid_t agent_tid)
{
    pthread_mutex_lock(&g.lock);
    g.agent_tid = agent_tid;
    g.rng = (uint64_t)lynx_mono_ns() | 1;
    if (!g.key_ready && pthread_key_create(&g.exit_key, thread_exit_cb) == 0) {
        g.key_ready = 1;
    }
    pthread_mutex_unlock(&g.lock);
}

int lynx_threads_arm_all(int64_t period_ns)
{
    int n;

    pthread_mutex_lock(&g.lock);
    g.period_ns = period_ns;
    g.armed = 1;
    n = scan_locked();
    pthread_mutex_unlock(&g.lock);
    return n;
}

void lynx_threads_rescan(void)
{
    pthread_mutex_lock(&g.lock);
    if (g.armed) {
        scan_locked();
    }
    pthread_mutex_unlock(&g.lock);
}

void lynx_threads_disarm_all(void)
{
    pthread_mutex_lock(&g.lock);
    g.armed = 0;
    for (size_t i = 0; i < g.ntimers; i++) {
        timer_delete(g.timers[i].timer);
    }
    g.ntimers = 0;
    pthread_mutex_unlock(&g.lock);
}

void lynx_threads_atfork_child(void)
{
    pthread_mutex_init(&g.lock, NULL);
    g.ntimers = 0;
    g.armed = 0;
}

/* The interposed pthread_create takes g.lock in every new thread, also
 * when no agent was started (LYNXPROF_AGENT=0): a child forked while
 * another thread held it gets it back free. */
__attribute__((constructor)) static void threads_atfork(void)
{
    pthread_atfork(NULL, NULL, lynx_threads_atfork_child);
}

/* ---- pthread_create ------------------------------------------------------- */

typedef int (*pthread_create_fn)(pthread_t *, const pthread_attr_t *,
                                 void *(*)(void *), void *);

typedef struct start_arg {
    void *(*fn)(void *);
    void *arg;
    int create_rec; /* threadcreate record (agent/threadcreate.c), or -1 */
} start_arg_t;

static void *trampoline(void *p)
{
    start_arg_t sa = *(start_arg_t *)p;

    free(p);
    lynx_threadcreate_done(sa.create_rec, my_tid());
    pthread_mutex_lock(&g.lock);
    if (g.armed && arm_locked(my_tid()) > 0 && g.key_ready) {
        /* Any non-NULL value makes the destructor run at thread exit. */
        pthread_setspecific(g.exit_key, (void *)1);
    }
    pthread_mutex_unlock(&g.lock);
    return sa.fn(sa.arg);
}

EXPORT int pthread_create(pthread_t *thread, const pthread_attr_t *attr,
                          void *(*fn)(void *), void *arg)
{
    static pthread_create_fn real;
    start_arg_t *sa;
    int rec;
    int rc;

    if (real == NULL) {
        real = (pthread_create_fn)dlsym(RTLD_NEXT, "pthread_create");
        if (real == NULL) {
            return EAGAIN;
        }
    }
    /* The creating stack, with this function as its leaf. */
    rec = lynx_threadcreate_record(0);
    sa = malloc(sizeof(*sa));
    if (sa == NULL) {
        rc = real(thread, attr, fn, arg);
        lynx_threadcreate_done(rec, rc == 0 ? 0 : -1);
        return rc;
    }
    sa->fn = fn;
    sa->arg = arg;
    sa->create_rec = rec;
    rc = real(thread, attr, trampoline, sa);
    if (rc != 0) {
        lynx_threadcreate_done(rec, -1);
        free(sa);
    }
    return rc;
}
