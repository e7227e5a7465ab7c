/*
 * agent_test.h - shared by the unit tests of the real agent in-process:
 * starting it and attaching its block, and tests that need a process of
 * their own: this test program is run again (fork + exec of
 * /proc/self/exe) with a mode in the environment, so the child starts
 * single-threaded and clean instead of inheriting the parent's agent
 * thread and whatever lock it held at fork().
 */
#ifndef AGENT_TEST_H
#define AGENT_TEST_H

#include <stddef.h>
#include <stdint.h>

#include "client/attach.h"

#define AGENT_CHILD_ENV "LYNX_TEST_CHILD_MODE"

/* Start the agent under a unique name made from `prefix` and attach its
 * block; NULL on failure.  agent_test_stop undoes both. */
lynx_block_t *agent_test_start(const char *prefix);
void agent_test_stop(lynx_block_t *b);

/* Run this program again with AGENT_CHILD_ENV=mode and, when `var` is not
 * NULL, var=value in its environment; its exit status, or 128 + the signal
 * that ended it. */
int agent_child_run(const char *mode, const char *var, const char *value);

/* The same with two variables (var2 may be NULL). */
int agent_child_run2(const char *mode, const char *var, const char *value,
                     const char *var2, const char *value2);

/* In the child: with a SIGPROF handler of the program's own installed,
 * start the agent and send it `command`; exit status 0 when it answers
 * `want` with `message_part` in its message, else non-zero (and a line on
 * stderr saying what came back). */
int agent_child_foreign_sigprof(uint32_t command, const void *arg,
                                size_t arg_len, int want,
                                const char *message_part);

#endif
