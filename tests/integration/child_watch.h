/*
 * child_watch.h - waiting for forked children with a hang timeout, for
 * the programs that fork in loops under the profiler: the fork storm of
 * test_fork.sh (forkstorm.c) and the soak's target (bench/soak_target.c).
 *
 * A child that has not ended when its timeout passes counts as hung and is
 * killed by its pid; one killed by a signal counts as crashed; one that
 * exits non-zero, or that waitpid cannot wait for, as failed.  Each is
 * reported by one line on report_fd:
 *   hung child pid=P kind=K
 *   crashed child pid=P kind=K signal=S
 *   failed child pid=P kind=K status=S
 * Thread-safe: any number of threads may reap into one watch.
 */
#ifndef CHILD_WATCH_H
#define CHILD_WATCH_H

#include <stdatomic.h>
#include <sys/types.h>

typedef struct child_watch {
    double hang_timeout_s;      /* > 0: how long a child may run */
    long poll_us;               /* between two waitpid(WNOHANG), > 0 */
    int report_fd;              /* where the lines above go */
    const char *gdb_env;        /* NULL, or a variable: when it is set, a
                                   hung child's threads' stacks (gdb) go to
                                   stderr before it is killed */
    _Atomic unsigned long hung;
    _Atomic unsigned long crashed;
    _Atomic unsigned long failed;
} child_watch_t;

/* Monotonic time in seconds. */
double child_watch_now(void);

/* Sleep us microseconds (returns early on a signal). */
void child_watch_nap_us(long us);

/* Wait for child pid (kind names it in reports) at most
 * w->hang_timeout_s.  Returns 0 if it exited 0, else -1 after counting
 * and reporting it (hung children are killed and waited for first). */
int child_watch_reap(child_watch_t *w, pid_t pid, const char *kind);

#endif
