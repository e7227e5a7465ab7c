/*
 * lock_overhead.c - what the agent's lock hooks cost: an uncontended loop
 * (one thread, its own mutex: lock + unlock) and a contended loop (THREADS
 * threads on one mutex guarding a tiny critical section), timed with
 * CLOCK_MONOTONIC.  Prints "uncontended_ns_per_op=X contended_ns_per_op=Y".
 * One idle thread runs from the start, as in any server: glibc's locks skip
 * their bus-locked instructions while a process has a single thread, so
 * without it the agent's own thread alone would show up as a lock cost.
 *   lock_overhead [iterations] [threads]
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t shared = PTHREAD_MUTEX_INITIALIZER;
static volatile unsigned long counter;
static long iters = 2000000;

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void *contend(void *arg)
{
    long n = *(long *)arg;
    for (long i = 0; i < n; i++) {
        pthread_mutex_lock(&shared);
        counter++;
        pthread_mutex_unlock(&shared);
    }
    return NULL;
}

static void *idle(void *arg)
{
    char c;

    (void)read(*(int *)arg, &c, 1); /* never written: blocks until exit */
    return NULL;
}

int main(int argc, char **argv)
{
    static int fds[2];
    pthread_t idler;
    pthread_mutex_t own = PTHREAD_MUTEX_INITIALIZER;
    int nthreads = 4;
    pthread_t th[64];
    double t0;
    double unc;
    double con;
    long per;

    if (argc > 1) {
        iters = atol(argv[1]);
    }
    if (argc > 2) {
        nthreads = atoi(argv[2]);
    }
    if (iters <= 0 || nthreads < 1 || nthreads > 64) {
        fprintf(stderr, "usage: lock_overhead [iterations] [threads<=64]\n");
        return 2;
    }
    if (pipe(fds) != 0 || pthread_create(&idler, NULL, idle, &fds[0]) != 0) {
        perror("lock_overhead: idle thread");
        return 1;
    }
    t0 = now();
    for (long i = 0; i < iters * 10; i++) {
        pthread_mutex_lock(&own);
        counter++;
        pthread_mutex_unlock(&own);
    }
    unc = (now() - t0) * 1e9 / (double)(iters * 10);

    per = iters / nthreads;
    t0 = now();
    for (int i = 0; i < nthreads; i++) {
        pthread_create(&th[i], NULL, contend, &per);
    }
    for (int i = 0; i < nthreads; i++) {
        pthread_join(th[i], NULL);
    }
    con = (now() - t0) * 1e9 / (double)(per * nthreads);
    printf("uncontended_ns_per_op=%.2f contended_ns_per_op=%.2f\n", unc, con);
    return 0;
}
