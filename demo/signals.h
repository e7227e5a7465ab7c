/*
 * signals.h - SIGINT/SIGTERM as a stop request.
 *
 * The handler is async-signal-safe: it only stores the signal number into
 * a volatile sig_atomic_t.  The main thread polls it; worker threads block
 * both signals so the handler always runs on the main thread.
 */
#ifndef DEMO_SIGNALS_H
#define DEMO_SIGNALS_H

#include <signal.h>

/* Installs the handler for SIGINT and SIGTERM.  Returns 0 or -errno.
   Not thread-safe: call once from main before creating threads. */
int demo_signals_install(void);

/* Fills *set with the signals the handler takes, for pthread_sigmask(). */
void demo_signals_set(sigset_t *set);

/* Returns the number of the first stop signal received, or 0. */
int demo_signals_stop_requested(void);

#endif
