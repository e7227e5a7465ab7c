/*
 * child_watch.c - waiting for forked children with a hang timeout (see
 * child_watch.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>

#include "child_watch.h"

double child_watch_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void child_watch_nap_us(long us)
{
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};

    nanosleep(&ts, NULL);
}

/* Where a hung child hangs, for the log (gdb, when installed). */
static void print_stacks(pid_t pid)
{
    char cmd[160];

    snprintf(cmd, sizeof(cmd),
             "gdb -p %d -batch -ex 'thread apply all bt' "
             "2>/dev/null | grep '^#' 1>&2",
             (int)pid);
    if (system(cmd) != 0) {
        fprintf(stderr, "(no stack: gdb failed)\n");
    }
}

int child_watch_reap(child_watch_t *w, pid_t pid, const char *kind)
{
    double deadline = child_watch_now() + w->hang_timeout_s;
    int status = 0;
    pid_t r;

    for (;;) {
        r = waitpid(pid, &status, WNOHANG);
        if (r == pid || (r < 0 && errno != EINTR)) {
            break;
        }
        if (child_watch_now() > deadline) {
            dprintf(w->report_fd, "hung child pid=%d kind=%s\n", (int)pid,
                    kind);
            if (w->gdb_env != NULL && getenv(w->gdb_env) != NULL) {
                print_stacks(pid);
            }
            atomic_fetch_add(&w->hung, 1);
            kill(pid, SIGKILL);
            while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
            }
            return -1;
        }
        child_watch_nap_us(w->poll_us);
    }
    if (r < 0) {
        atomic_fetch_add(&w->failed, 1);
        return -1;
    }
    if (WIFSIGNALED(status)) {
        dprintf(w->report_fd, "crashed child pid=%d kind=%s signal=%d\n",
                (int)pid, kind, WTERMSIG(status));
        atomic_fetch_add(&w->crashed, 1);
        return -1;
    }
    if (WEXITSTATUS(status) != 0) {
        dprintf(w->report_fd, "failed child pid=%d kind=%s status=%d\n",
                (int)pid, kind, WEXITSTATUS(status));
        atomic_fetch_add(&w->failed, 1);
        return -1;
    }
    return 0;
}
