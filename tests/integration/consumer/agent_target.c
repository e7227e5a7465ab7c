/*
 * agent_target.c - a program that links the installed libprofile-agent
 * (pkg-config libprofile-agent) and starts it itself, as lynxprof-agent.h
 * documents: lynx_agent_start(argv[1]), then it burns CPU until SIGTERM and
 * stops the agent.  Prints "started NAME" once the agent runs, or the
 * agent's message and exits 1.
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include <lynxprof-agent.h>

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

int main(int argc, char **argv)
{
    volatile unsigned long spin = 0;
    int rc;

    if (argc != 2) {
        fprintf(stderr, "usage: agent_target NAME\n");
        return 2;
    }
    signal(SIGTERM, on_term);
    rc = lynx_agent_start(argv[1]);
    if (rc != 0) {
        printf("lynx_agent_start: %s\n", lynx_agent_strerror(rc));
        return 1;
    }
    /* A second start while running is documented to return 0. */
    if (lynx_agent_start(argv[1]) != 0 || lynx_agent_name() == NULL ||
        strcmp(lynx_agent_name(), argv[1]) != 0) {
        printf("agent name: %s\n", lynx_agent_name() ? lynx_agent_name() : "NULL");
        return 1;
    }
    printf("started %s\n", lynx_agent_name());
    fflush(stdout);
    while (!stop) {
        spin++;
    }
    lynx_agent_stop();
    printf("stopped%s\n", lynx_agent_name() == NULL ? "" : " (name kept!)");
    return lynx_agent_name() == NULL ? 0 : 1;
}
