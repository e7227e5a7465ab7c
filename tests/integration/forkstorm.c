/*
 * forkstorm.c - a target that forks as fast as it can from several threads
 * while other threads allocate, create threads and contend for a lock: the
 * workload of the fork-safety test (test_fork.sh).  Run it with the agent
 * preloaded, under a CPU profile, a small heap rate and thread dumps.
 *
 * Each forker thread cycles through the ways a program starts a process:
 * fork() with a child that allocates, walks the loaded modules (what a C++
 * exception does), creates a thread and exits; fork()+exec; vfork()+exec;
 * posix_spawn(); and now and then system().  Every child must end within
 * --hang-timeout seconds: the parent waits for it with that timeout, and a
 * child still running then is reported as hung and killed by its pid.
 *
 * Options: --seconds (20), --forkers (4), --lockers (2: threads that
 * contend for one mutex over wide CPU work, so CPU samples land on many
 * addresses the unwinder has not cached), --churners (2: threads that
 * create short threads, whose first heap samples unwind cold),
 * --hang-timeout (5 s), --linger (0 s), --keep-preload (0: the children's
 * exec'd images run without LD_PRELOAD; 1 keeps it).
 *
 * Output, one line at the end:
 *   forks=N seconds=S rate=R hung=H crashed=C failed=F
 * and one line per hung or crashed child; then it idles --linger seconds
 * (so the profiler can still be asked about it).  Exit status 0 only when
 * no child hung, crashed or failed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dirent.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "child_watch.h"

extern char **environ;

static double seconds = 20.0;
static int nforkers = 4;
static int nlockers = 2;
static int nchurners = 2;
static double linger = 0.0;
static int keep_preload;
static _Atomic int stop;
static _Atomic unsigned long forks;
/* hang_timeout_s is --hang-timeout; gdb stacks of hung children with
 * FORKSTORM_GDB set. */
static child_watch_t watch = {
    .hang_timeout_s = 5.0, .poll_us = 200, .report_fd = 1,
    .gdb_env = "FORKSTORM_GDB"};
static pthread_mutex_t contended = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long sink;

static int visit(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)info;
    (void)size;
    (*(int *)data)++;
    return 0;
}

static void *child_thread(void *arg)
{
    free(malloc(100));
    return arg;
}

/* What a forked child does before it exits: allocate (the heap sampler's
 * countdown came with the fork), take the loader's lock, start a thread. */
static void child_work(int with_thread)
{
    void *blocks[64];
    int modules = 0;

    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < 64; i++) {
            blocks[i] = malloc(64 + (size_t)i * 256);
        }
        for (int i = 0; i < 64; i++) {
            free(blocks[i]);
        }
    }
    dl_iterate_phdr(visit, &modules);
    if (with_thread) {
        pthread_t t;
        if (pthread_create(&t, NULL, child_thread, NULL) != 0 ||
            pthread_join(t, NULL) != 0) {
            _exit(3);
        }
    }
    /* exit(), not _exit(): the agent's atexit handler runs in the child. */
    exit(modules > 0 ? 0 : 4);
}

static void *forker(void *arg)
{
    char *const argv[] = {"true", NULL};
    volatile unsigned long i = (unsigned long)(uintptr_t)arg;

    while (!atomic_load(&stop)) {
        unsigned kind = (unsigned)(i++ % 16);
        pid_t pid;

        if (kind == 15) {
            int st = system("exit 0");
            if (st != 0) {
                dprintf(1, "system() returned %d\n", st);
                atomic_fetch_add(&watch.failed, 1);
            }
        } else if (kind == 14 || kind == 13) {
            if (posix_spawn(&pid, "/bin/true", NULL, NULL, argv, environ) !=
                0) {
                atomic_fetch_add(&watch.failed, 1);
                continue;
            }
            child_watch_reap(&watch, pid, "posix_spawn");
        } else if (kind == 12 || kind == 11) {
            pid = vfork();
            if (pid == 0) {
                execve("/bin/true", argv, environ);
                _exit(127);
            }
            if (pid < 0) {
                atomic_fetch_add(&watch.failed, 1);
                continue;
            }
            child_watch_reap(&watch, pid, "vfork");
        } else if (kind == 10 || kind == 9) {
            pid = fork();
            if (pid == 0) {
                free(malloc(1000));
                execve("/bin/true", argv, environ);
                _exit(127);
            }
            if (pid < 0) {
                atomic_fetch_add(&watch.failed, 1);
                continue;
            }
            child_watch_reap(&watch, pid, "fork+exec");
        } else {
            pid = fork();
            if (pid == 0) {
                child_work(kind % 3 == 0);
            }
            if (pid < 0) {
                atomic_fetch_add(&watch.failed, 1);
                continue;
            }
            child_watch_reap(&watch, pid, kind % 3 == 0 ? "fork+thread" : "fork");
        }
        atomic_fetch_add(&forks, 1);
    }
    return NULL;
}

/* CPU work spread over a few thousand instructions, like the large code
 * of a real server: CPU samples land on many different addresses, so the
 * unwinder often meets one it has not cached yet. */
#define STEP(k) v = v * 2654435761u + (k);
#define STEP8(k) STEP(k) STEP(k + 1) STEP(k + 2) STEP(k + 3) \
    STEP(k + 4) STEP(k + 5) STEP(k + 6) STEP(k + 7)
#define STEP64(k) STEP8(k) STEP8(k + 8) STEP8(k + 16) STEP8(k + 24) \
    STEP8(k + 32) STEP8(k + 40) STEP8(k + 48) STEP8(k + 56)
static __attribute__((noinline)) void wide_work(void)
{
    volatile unsigned long v = sink;

    for (int i = 0; i < 20; i++) {
        STEP64(1) STEP64(100) STEP64(200) STEP64(300)
        STEP64(400) STEP64(500) STEP64(600) STEP64(700)
    }
    sink = v;
}

/* Contend for one mutex and burn CPU (for the lock and CPU profiles). */
static void *locker(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        pthread_mutex_lock(&contended);
        wide_work();
        pthread_mutex_unlock(&contended);
        free(malloc(200 + sink % 4000));
    }
    return NULL;
}

/* A new thread unwinds cold (libunwind's per-thread cache is empty): its
 * first heap samples walk the loaded modules under the loader's lock. */
static void *short_thread(void *arg)
{
    for (int i = 0; i < 32; i++) {
        free(malloc(4096));
    }
    return arg;
}

/* Start and join short threads (every pthread_create records a stack). */
static void *churner(void *arg)
{
    (void)arg;
    while (!atomic_load(&stop)) {
        pthread_t t;
        if (pthread_create(&t, NULL, short_thread, NULL) == 0) {
            pthread_join(t, NULL);
        }
    }
    return NULL;
}

/* Children of ours still alive (a system() child the forker cannot time
 * out): reported as hung and killed. */
static void kill_leftover_children(void)
{
    DIR *d = opendir("/proc");
    struct dirent *e;
    pid_t me = getpid();

    if (d == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        char path[300];
        char buf[512];
        FILE *f;
        char *p;
        int ppid;
        if (e->d_name[0] < '1' || e->d_name[0] > '9') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/stat", e->d_name);
        f = fopen(path, "r");
        if (f == NULL) {
            continue;
        }
        p = fgets(buf, sizeof(buf), f);
        fclose(f);
        if (p == NULL || (p = strrchr(buf, ')')) == NULL ||
            sscanf(p + 2, "%*c %d", &ppid) != 1 || ppid != me) {
            continue;
        }
        dprintf(1, "hung child pid=%s kind=system\n", e->d_name);
        atomic_fetch_add(&watch.hung, 1);
        kill(atoi(e->d_name), SIGKILL);
    }
    closedir(d);
}

int main(int argc, char **argv)
{
    pthread_t threads[64];
    int nthreads = 0;
    double t0;
    double elapsed;

    for (int i = 1; i + 1 < argc; i += 2) {
        if (strcmp(argv[i], "--seconds") == 0) {
            seconds = atof(argv[i + 1]);
        } else if (strcmp(argv[i], "--forkers") == 0) {
            nforkers = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--lockers") == 0) {
            nlockers = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--churners") == 0) {
            nchurners = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--keep-preload") == 0) {
            keep_preload = atoi(argv[i + 1]);
        } else if (strcmp(argv[i], "--linger") == 0) {
            linger = atof(argv[i + 1]);
        } else if (strcmp(argv[i], "--hang-timeout") == 0) {
            watch.hang_timeout_s = atof(argv[i + 1]);
        } else {
            fprintf(stderr, "forkstorm: unknown option %s\n", argv[i]);
            return 2;
        }
    }
    if (nforkers < 1 || nforkers > 32 || nlockers < 0 || nlockers > 16 ||
        nchurners < 0 || nchurners > 8) {
        fprintf(stderr, "forkstorm: bad thread counts\n");
        return 2;
    }
    if (!keep_preload) {
        /* The images the children exec are not under test: without this
         * each would start an agent of its own (LD_PRELOAD is inherited),
         * and every one that ends by _exit() -- the shell of system()
         * does -- would leave its control block behind. */
        unsetenv("LD_PRELOAD");
    }
    t0 = child_watch_now();
    for (int i = 0; i < nlockers; i++) {
        pthread_create(&threads[nthreads++], NULL, locker, NULL);
    }
    for (int i = 0; i < nchurners; i++) {
        pthread_create(&threads[nthreads++], NULL, churner, NULL);
    }
    for (int i = 0; i < nforkers; i++) {
        pthread_create(&threads[nthreads++], NULL, forker,
                       (void *)(uintptr_t)(i * 5));
    }
    while (child_watch_now() - t0 < seconds) {
        child_watch_nap_us(100000);
    }
    atomic_store(&stop, 1);
    elapsed = child_watch_now() - t0;
    {
        /* Give the forkers a hang timeout to finish what they started. */
        double limit = child_watch_now() + watch.hang_timeout_s + 2.0;
        for (int i = 0; i < nthreads; i++) {
            struct timespec ts;
            double left = limit - child_watch_now();
            int rc;
            if (left < 0.1) {
                left = 0.1;
            }
            clock_gettime(CLOCK_REALTIME, &ts);
            ts.tv_sec += (time_t)left;
            rc = pthread_timedjoin_np(threads[i], NULL, &ts);
            if (rc == ETIMEDOUT) {
                kill_leftover_children();
                pthread_join(threads[i], NULL);
            }
        }
    }
    dprintf(1, "forks=%lu seconds=%.2f rate=%.1f hung=%lu crashed=%lu "
           "failed=%lu\n",
           atomic_load(&forks), elapsed, (double)atomic_load(&forks) / elapsed,
           atomic_load(&watch.hung), atomic_load(&watch.crashed),
           atomic_load(&watch.failed));
    /* Stay up (idle) so the profiler can be asked about the aftermath. */
    for (double end = child_watch_now() + linger; child_watch_now() < end;) {
        child_watch_nap_us(100000);
    }
    return atomic_load(&watch.hung) == 0 &&
                   atomic_load(&watch.crashed) == 0 &&
                   atomic_load(&watch.failed) == 0
               ? 0
               : 1;
}
