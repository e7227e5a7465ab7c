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

/* ---- request labels -------------------------------------------------------
 *
 * A thread says what it is working for, and every CPU sample it takes
 * carries it as pprof string labels (as Go's pprof.Do does), next to the
 * labels every sample has: "thread" (the thread's name at the sample) and
 * "tid".  Each thread has its own stack of labels:
 *
 *     lynx_label_push("endpoint", "search");
 *     handle_search(req);
 *     lynx_label_pop();
 *
 * When a key is pushed again deeper in the stack, the innermost value is
 * the one a sample shows.
 *
 * Limits: LYNX_LABEL_PUSH_DEPTH labels per thread are kept; pushes past
 * that are not kept (-ENOSPC).  A key has at most LYNX_LABEL_PUSH_KEY_MAX-1
 * bytes (longer: refused, -ENAMETOOLONG); a value at most
 * LYNX_LABEL_PUSH_VALUE_MAX-1 (longer: cut at a UTF-8 character boundary,
 * returns 1).  Samples taken while any label of the thread was refused or
 * cut are counted in the profile ("samples with request labels cut").
 * Every push, whatever it returned, is undone by exactly one
 * lynx_label_pop().
 *
 * Without the agent: these two are inline functions that call the agent
 * through weak references, so a program built with this header links and
 * runs without libprofile-agent (then they do nothing and push returns
 * 0), and gets labels as soon as the agent is preloaded.  The program must
 * be position-independent (-fPIE or -fPIC, the default of Debian's
 * compilers) for a weak reference to be bound at load time.
 */
#define LYNX_LABEL_PUSH_DEPTH 4      /* labels kept per thread */
#define LYNX_LABEL_PUSH_KEY_MAX 16   /* bytes of a key, NUL included */
#define LYNX_LABEL_PUSH_VALUE_MAX 48 /* bytes of a value, NUL included */

/* The agent's side of lynx_label_push and lynx_label_pop; call those. */
#ifdef LYNX_AGENT_BUILD
int lynx_agent_label_push(const char *key, const char *value);
void lynx_agent_label_pop(void);
#else
extern int lynx_agent_label_push(const char *key, const char *value)
    __attribute__((weak));
extern void lynx_agent_label_pop(void) __attribute__((weak));

/* Push a request label on the calling thread's stack.  key: 1 to
 * LYNX_LABEL_PUSH_KEY_MAX-1 bytes, not "thread" or "tid"; value: any
 * string (NULL is ""); both copied, the caller keeps ownership.  Returns
 * 0; 1 when the value was cut; -EINVAL (no key, empty, or reserved),
 * -ENAMETOOLONG (key too long) or -ENOSPC (stack full): the label is then
 * not kept.  0 without the agent.  Thread-local; async-signal-safe. */
static inline int lynx_label_push(const char *key, const char *value)
{
    if (lynx_agent_label_push == 0) {
        return 0;
    }
    return lynx_agent_label_push(key, value);
}

/* Undo the calling thread's last lynx_label_push; nothing when its stack
 * is empty.  Thread-local; async-signal-safe. */
static inline void lynx_label_pop(void)
{
    if (lynx_agent_label_pop != 0) {
        lynx_agent_label_pop();
    }
}
#endif /* LYNX_AGENT_BUILD */

#ifdef __cplusplus
}
#endif

#endif
