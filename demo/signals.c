/*
 * signals.c - SIGINT/SIGTERM handling.  async-signal-safe.
 *
 * on_stop_signal() runs inside a signal handler: it may touch nothing but
 * the volatile sig_atomic_t below; no stdio, no malloc, no locks, no errno
 * changes.  Everything else in this file runs on the main thread.
 */
#include "signals.h"

#include <errno.h>
#include <string.h>

static volatile sig_atomic_t stop_signal; /* 0 until a stop signal arrives */

static void
on_stop_signal(int sig)
{
    if (stop_signal == 0) {
        stop_signal = sig;
    }
}

void
demo_signals_set(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
}

int
demo_signals_install(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    if (sigaction(SIGINT, &sa, NULL) != 0
        || sigaction(SIGTERM, &sa, NULL) != 0) {
        int err = errno;

        return -err;
    }
    return 0;
}

int
demo_signals_stop_requested(void)
{
    return stop_signal;
}
