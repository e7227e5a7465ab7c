/*
 * agent_test.c - see agent_test.h.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "agent_test.h"
#include "fake_block.h"
#include "client/attach.h"
#include "lynxprof-agent.h"
#include "lynxprof.h"

#define SECOND 1000000000LL

lynx_block_t *agent_test_start(const char *prefix)
{
    lynx_block_t *b;

    if (lynx_agent_start(fake_name(prefix)) != 0) {
        return NULL;
    }
    if (lynx_block_attach(lynx_agent_name(), 0, &b) != 0) {
        lynx_agent_stop();
        return NULL;
    }
    return b;
}

void agent_test_stop(lynx_block_t *b)
{
    lynx_block_detach(b);
    lynx_agent_stop();
}

int agent_child_run(const char *mode, const char *var, const char *value)
{
    return agent_child_run2(mode, var, value, NULL, NULL);
}

int agent_child_run2(const char *mode, const char *var, const char *value,
                     const char *var2, const char *value2)
{
    int status;
    pid_t child = fork();

    if (child == 0) {
        char *argv[] = {"agent-test-child", NULL};
        setenv(AGENT_CHILD_ENV, mode, 1);
        if (var != NULL) {
            setenv(var, value, 1);
        }
        if (var2 != NULL) {
            setenv(var2, value2, 1);
        }
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    if (child < 0 || waitpid(child, &status, 0) != child) {
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status)
                             : 128 + WTERMSIG(status);
}

static void foreign_handler(int sig)
{
    (void)sig;
}

int agent_child_foreign_sigprof(uint32_t command, const void *arg,
                                size_t arg_len, int want,
                                const char *message_part)
{
    struct sigaction sa;
    lynx_block_t *b;
    lynx_call_t c;
    char reply[LYNX_REPLY_MAX];
    int rc;

    signal(SIGPROF, SIG_IGN); /* ignoring is fine: not a handler */
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = foreign_handler;
    sigaction(SIGPROF, &sa, NULL);
    if ((b = agent_test_start("sigprof")) == NULL) {
        return 3;
    }
    rc = lynx_mailbox_call(b, command, arg, arg_len, reply, sizeof(reply),
                           NULL, &c, 10 * SECOND);
    agent_test_stop(b);
    if (rc != 0) {
        fprintf(stderr, "agent_child: call failed: %d\n", rc);
        return 5;
    }
    if (c.result != want || strstr(c.message, message_part) == NULL) {
        fprintf(stderr, "agent_child: result %d, message \"%s\"\n", c.result,
                c.message);
        return 6;
    }
    return 0;
}
