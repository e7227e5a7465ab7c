/*
 * labels_target.c - the target of tests/integration/test_labels.sh: named
 * threads and request labels doing known shares of the CPU work.
 *
 *   labels_target shares   threads "alpha", "beta", "gamma" take turns
 *                          (one runs at a time) doing 5, 3 and 2 units of
 *                          work per round: 50/30/20 % of the CPU time
 *                          whatever the machine's load.  Request labels:
 *                          alpha does 3 units as request=search and 2 as
 *                          request=ingest, all inside tenant=acme; beta 3
 *                          as request=ingest; gamma 2 as request=report:
 *                          search 30 %, ingest 50 %, report 20 %,
 *                          tenant=acme 50 %.
 *   labels_target names    two threads named "pool" and one "solo", one
 *                          unit each per round (pool 2/3, solo 1/3); on
 *                          SIGUSR1 "solo" renames itself "renamed"
 *                          (prctl) at its next turn.
 *   labels_target selftest pushes and pops labels, past the limits, and
 *                          prints what each push returned: runs the same
 *                          with and without the agent preloaded.
 *
 * Built with lynxprof-agent.h and without linking the agent: the labels
 * reach the agent only when it is preloaded.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "lynxprof-agent.h"

#define MAX_THREADS 3

typedef struct member {
    const char *name;
    unsigned units;               /* per round */
    const char *const *requests;  /* request label of each unit */
    const char *tenant;           /* around the whole turn, or NULL */
} member_t;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static unsigned turn;
static unsigned nmembers;
static const member_t *members;
static volatile sig_atomic_t rename_asked;
static _Atomic uint64_t sink;

static int64_t thread_cpu_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* 10 ms of this thread's CPU time, measured: the shares are exact
 * whatever else runs on the machine (another process on the sibling
 * hyperthread slows the arithmetic down, not the clock).  Long against
 * the kernel's tick, on which CPU timers are checked, so that the labels
 * of a unit are what a sample at any point of it sees. */
static __attribute__((noinline)) void work_unit(void)
{
    int64_t start = thread_cpu_ns();
    uint64_t x = 88172645463325252ULL;

    while (thread_cpu_ns() - start < 10 * 1000 * 1000) {
        for (int i = 0; i < 20000; i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
        }
    }
    atomic_fetch_add_explicit(&sink, x, memory_order_relaxed);
}

static void *member_main(void *arg)
{
    unsigned me = (unsigned)(uintptr_t)arg;
    const member_t *m = &members[me];
    int renamed = 0;

    pthread_setname_np(pthread_self(), m->name);
    for (;;) {
        pthread_mutex_lock(&lock);
        while (turn != me) {
            pthread_cond_wait(&cond, &lock);
        }
        pthread_mutex_unlock(&lock);
        if (rename_asked && !renamed && strcmp(m->name, "solo") == 0) {
            prctl(PR_SET_NAME, "renamed", 0, 0, 0);
            renamed = 1;
        }
        if (m->tenant != NULL) {
            lynx_label_push("tenant", m->tenant);
        }
        for (unsigned u = 0; u < m->units; u++) {
            if (m->requests != NULL) {
                lynx_label_push("request", m->requests[u]);
            }
            work_unit();
            if (m->requests != NULL) {
                lynx_label_pop();
            }
        }
        if (m->tenant != NULL) {
            lynx_label_pop();
        }
        pthread_mutex_lock(&lock);
        turn = (turn + 1) % nmembers;
        pthread_cond_broadcast(&cond);
        pthread_mutex_unlock(&lock);
    }
    return NULL;
}

static void on_usr1(int sig)
{
    (void)sig;
    rename_asked = 1;
}

static int selftest(void)
{
    static const char long_value[] =
        "a value much longer than forty-seven bytes, cut at a character "
        "boundary";
    int rc = 0;

    printf("push ok: %d\n", lynx_label_push("k1", "v1"));
    printf("push long value: %d\n", lynx_label_push("k2", long_value));
    printf("push long key: %d\n",
           lynx_label_push("a-key-of-16-byte", "v"));
    printf("push reserved key: %d\n", lynx_label_push("thread", "x"));
    printf("push past depth: %d\n", lynx_label_push("k5", "v5"));
    for (int i = 0; i < 5; i++) {
        lynx_label_pop();
    }
    lynx_label_pop(); /* one too many: nothing */
    printf("push after pops: %d\n", lynx_label_push("k1", "v1"));
    lynx_label_pop();
    return rc;
}

int main(int argc, char **argv)
{
    static const char *const alpha_req[] = {"search", "search", "search",
                                            "ingest", "ingest"};
    static const char *const beta_req[] = {"ingest", "ingest", "ingest"};
    static const char *const gamma_req[] = {"report", "report"};
    static const member_t shares[] = {
        {"alpha", 5, alpha_req, "acme"},
        {"beta", 3, beta_req, NULL},
        {"gamma", 2, gamma_req, NULL},
    };
    static const member_t names[] = {
        {"pool", 1, NULL, NULL},
        {"pool", 1, NULL, NULL},
        {"solo", 1, NULL, NULL},
    };
    pthread_t th[MAX_THREADS];

    if (argc != 2) {
        fprintf(stderr, "usage: labels_target shares|names|selftest\n");
        return 2;
    }
    if (strcmp(argv[1], "selftest") == 0) {
        return selftest();
    }
    if (strcmp(argv[1], "shares") == 0) {
        members = shares;
    } else if (strcmp(argv[1], "names") == 0) {
        members = names;
        signal(SIGUSR1, on_usr1);
    } else {
        fprintf(stderr, "labels_target: unknown mode %s\n", argv[1]);
        return 2;
    }
    nmembers = MAX_THREADS;
    for (unsigned i = 0; i < nmembers; i++) {
        int rc = pthread_create(&th[i], NULL, member_main,
                                (void *)(uintptr_t)i);
        if (rc != 0) {
            fprintf(stderr, "labels_target: pthread_create: %s\n",
                    strerror(rc));
            return 1;
        }
    }
    printf("labels_target: pid %ld, mode %s\n", (long)getpid(), argv[1]);
    fflush(stdout);
    for (;;) {
        pause();
    }
}
