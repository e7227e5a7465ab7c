/*
 * agent_child.h - agent unit tests that need a process of their own: this
 * test program is run again (fork + exec of /proc/self/exe) with a mode in
 * the environment, so the child starts single-threaded and clean instead of
 * inheriting the parent's agent thread and whatever lock it held at fork().
 */
#ifndef AGENT_CHILD_H
#define AGENT_CHILD_H

#include <stddef.h>
#include <stdint.h>

#define AGENT_CHILD_ENV "LYNX_TEST_CHILD_MODE"

/* Run this program again with AGENT_CHILD_ENV=mode; its exit status, or
 * 128 + the signal that ended it. */
int agent_child_run(const char *mode);

/* In the child: with a SIGPROF handler of the program's own installed,
 * start the agent and send it `command`; exit status 0 when it answers
 * `want` with `message_part` in its message, else non-zero (and a line on
 * stderr saying what came back). */
int agent_child_foreign_sigprof(uint32_t command, const void *arg,
                                size_t arg_len, int want,
                                const char *message_part);

#endif
