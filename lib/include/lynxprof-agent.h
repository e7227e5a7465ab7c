/*
 * lynxprof-agent.h - the lynxprof agent, for programs that link it.
 *
 * The agent runs inside the profiled process.  It is usually loaded with
 * LD_PRELOAD=libprofile-agent.so and starts by itself; a program that links
 * libprofile-agent instead starts it with one call to lynx_agent_start().
 *
 * Environment read at start:
 *   LYNXPROF_NAME   target name (default: the program's name)
 *   LYNXPROF_GROUP  group allowed to use the control block: it may read
 *                   the data object (mode 0640) and write the mailbox
 *                   object (0660); without it both are 0600 (owner only)
 *   LYNXPROF_BULK_BYTES  bytes of each mailbox slot's bulk reply area,
 *                   1 MiB..256 MiB (default 16 MiB); out of range: default
 *   LYNXPROF_CPU_STACKS  distinct stacks per CPU profile, 1024..1048576
 *                   (default 32768); out of range: default
 *   LYNXPROF_AGENT  "0" stops an LD_PRELOADed agent from starting
 *   LYNXPROF_DEBUG  "1" lets the agent report its own failures on stderr
 */
#ifndef LYNXPROF_AGENT_H
#define LYNXPROF_AGENT_H

#ifdef __cplusplus
extern "C" {
#endif

/* Start the agent: create the control block (its data and mailbox
 * objects, see docs/SECURITY.md) and the agent thread.  name may
 * be NULL (then LYNXPROF_NAME or the program's name).  Returns 0, or a
 * negative lynxprof/errno code (message: lynx_agent_strerror).  Calling it
 * again while the agent runs returns 0.  Thread-safe; not signal-safe. */
int lynx_agent_start(const char *name);

/* Stop the agent thread and remove the control block.  Accepts being called
 * when the agent is not running.  Thread-safe; not signal-safe. */
void lynx_agent_stop(void);

/* The name the running agent registered under (it may carry a ".<pid>"
 * suffix when the name was taken), or NULL when not running.  Static
 * storage, valid until lynx_agent_stop(). */
const char *lynx_agent_name(void);

/* Message for a code returned by lynx_agent_start(); static string. */
const char *lynx_agent_strerror(int code);

#ifdef __cplusplus
}
#endif

#endif
