/*
 * soak_target.c - the churning target of the soak benchmark (soak.sh).
 * Run it with the agent preloaded; it runs until SIGTERM (or --seconds).
 *
 * Threads:
 *   forker   fork() + a child that allocates and _exit()s, then fork() +
 *            exec(/bin/true), in turn.  Each child is waited for with
 *            --hang-timeout (10 s): a child still running then is counted
 *            as hung and killed by its pid.
 *   dl       dlopen(--lib) + dlsym("soak_fn") + call + dlclose, in a loop.
 *   churner  creates a short thread that allocates and returns, joins it.
 *   lockers  (2) contend for one mutex around CPU work and malloc/free.
 *
 * --only fork|dl|threads|locks runs that kind of thread alone (to tell
 * which one a trend in memory follows).
 *
 * Every second it rewrites --status FILE (atomically, by rename) with
 *   forks=N execs=N dlopens=N threads=N locks=N hung=H crashed=C failed=F
 * and prints that line at the end.  Exit status 0 only when no child hung,
 * crashed or failed and every dlopen worked.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child_watch.h"

static double seconds;          /* 0: until SIGTERM */
static const char *lib_path;
static const char *status_path;
static const char *only;        /* --only fork|dl|threads|locks: one kind */
static volatile sig_atomic_t stop;
static _Atomic unsigned long forks, execs, dlopens, threads, locks;
/* Children hung, crashed, failed (and failed dlopens, threads). */
static child_watch_t watch = {
    .hang_timeout_s = 10.0, .poll_us = 1000, .report_fd = 2};
static pthread_mutex_t contended = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long sink;

static void nap_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !stop)
        ;
}

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static void churn_heap(int n)
{
    for (int i = 0; i < n; i++) {
        size_t sz = (size_t)(16 + (i * 97) % 4000);
        char *p = malloc(sz);

        if (p) {
            memset(p, i, sz);
            sink += (unsigned char)p[sz / 2];
            free(p);
        }
    }
}

static void *forker(void *arg)
{
    (void)arg;
    for (unsigned long n = 0; !stop; n++) {
        pid_t pid = fork();

        if (pid < 0) {
            watch.failed++;
            nap_us(100000);
            continue;
        }
        if (pid == 0) {
            if (n % 2 == 0) {
                churn_heap(64);
                _exit(0);
            }
            execl("/bin/true", "true", (char *)NULL);
            _exit(127);
        }
        forks++;
        if (n % 2)
            execs++;
        child_watch_reap(&watch, pid, n % 2 ? "fork+exec" : "fork");
        nap_us(20000);
    }
    return NULL;
}

static void *dl_loop(void *arg)
{
    (void)arg;
    while (!stop) {
        void *h = dlopen(lib_path, RTLD_NOW | RTLD_LOCAL);

        if (!h) {
            fprintf(stderr, "dlopen: %s\n", dlerror());
            watch.failed++;
            nap_us(100000);
            continue;
        }
        unsigned long (*fn)(unsigned long) =
            (unsigned long (*)(unsigned long))dlsym(h, "soak_fn");
        if (fn)
            sink += fn(dlopens);
        else
            watch.failed++;
        dlclose(h);
        dlopens++;
        nap_us(10000);
    }
    return NULL;
}

static void *short_thread(void *arg)
{
    churn_heap(32);
    return arg;
}

static void *churner(void *arg)
{
    (void)arg;
    while (!stop) {
        pthread_t t;

        if (pthread_create(&t, NULL, short_thread, NULL) != 0) {
            watch.failed++;
            nap_us(100000);
            continue;
        }
        pthread_join(t, NULL);
        threads++;
        nap_us(5000);
    }
    return NULL;
}

static void *locker(void *arg)
{
    (void)arg;
    while (!stop) {
        pthread_mutex_lock(&contended);
        unsigned long x = sink;
        for (int i = 0; i < 20000; i++)
            x = x * 6364136223846793005UL + 1442695040888963407UL;
        sink = x;
        churn_heap(8);
        pthread_mutex_unlock(&contended);
        locks++;
        nap_us(2000);
    }
    return NULL;
}

static void status_line(char *buf, size_t len)
{
    snprintf(buf, len,
             "forks=%lu execs=%lu dlopens=%lu threads=%lu locks=%lu "
             "hung=%lu crashed=%lu failed=%lu\n",
             (unsigned long)forks, (unsigned long)execs, (unsigned long)dlopens,
             (unsigned long)threads, (unsigned long)locks,
             (unsigned long)watch.hung, (unsigned long)watch.crashed,
             (unsigned long)watch.failed);
}

static void write_status(void)
{
    char line[256], tmp[4096];
    FILE *f;

    if (!status_path)
        return;
    status_line(line, sizeof(line));
    snprintf(tmp, sizeof(tmp), "%s.tmp", status_path);
    f = fopen(tmp, "w");
    if (!f)
        return;
    fputs(line, f);
    if (fclose(f) == 0)
        rename(tmp, status_path);
}

int main(int argc, char **argv)
{
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--seconds"))
            seconds = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--hang-timeout"))
            watch.hang_timeout_s = atof(argv[i + 1]);
        else if (!strcmp(argv[i], "--lib"))
            lib_path = argv[i + 1];
        else if (!strcmp(argv[i], "--status"))
            status_path = argv[i + 1];
        else if (!strcmp(argv[i], "--only"))
            only = argv[i + 1];
        else {
            fprintf(stderr, "unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (!lib_path) {
        fprintf(stderr, "usage: soak_target --lib LIB.so [--status FILE] "
                        "[--seconds S] [--hang-timeout S]\n");
        return 2;
    }

    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_term;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);

    void *(*fns[])(void *) = {forker, dl_loop, churner, locker, locker};
    const char *kinds[] = {"fork", "dl", "threads", "locks", "locks"};
    enum { N = sizeof(fns) / sizeof(fns[0]) };
    pthread_t t[N];
    int started[N] = {0};
    for (int i = 0; i < N; i++) {
        if (only && strcmp(only, kinds[i]) != 0)
            continue;
        started[i] = 1;
        if (pthread_create(&t[i], NULL, fns[i], NULL) != 0) {
            fprintf(stderr, "pthread_create failed\n");
            return 1;
        }
    }

    double end = seconds > 0 ? child_watch_now() + seconds : 0;
    while (!stop) {
        nap_us(1000000);
        write_status();
        if (end > 0 && child_watch_now() >= end)
            stop = 1;
    }
    for (int i = 0; i < N; i++)
        if (started[i])
            pthread_join(t[i], NULL);
    write_status();

    char line[256];
    status_line(line, sizeof(line));
    fputs(line, stdout);
    return (watch.hung || watch.crashed || watch.failed) ? 1 : 0;
}
