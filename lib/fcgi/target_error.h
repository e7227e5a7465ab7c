/*
 * fcgi/target_error.h - what to tell a person whose request could not reach
 * a target, and how to fix it.
 *
 * libprofile returns a code (LYNX_EPERM, LYNX_ENOTARGET, ...); its message
 * says what went wrong but not what to do.  The first mistakes of a new
 * user all end here: a target started without LYNXPROF_GROUP, a name that
 * is not running, a program started without the agent, an agent from
 * another release.  These functions look around (the control block's
 * owner and mode, the endpoint's own group, the running targets, /proc)
 * and write one message that names the fix.  Endpoint side only; they may
 * read /dev/shm and /proc but change nothing.
 */
#ifndef LYNX_FCGI_TARGET_ERROR_H
#define LYNX_FCGI_TARGET_ERROR_H

#include <stddef.h>

/* Bytes a message may need; longer ones are cut. */
#define LYNX_TARGET_ERROR_MAX 768

/* Explain error `code` of opening target `name` (NULL or "" when the
 * request named none and no default was configured; `configured` is 1
 * when name is the configured default LYNXPROF_TARGET).  Writes a
 * NUL-terminated message into buf (size bytes) and returns the HTTP status
 * that fits (404 unknown target, 400 ambiguous or bad name, 503 target not
 * usable, 500 otherwise).  Thread-safe. */
int lynx_target_error_explain(int code, const char *name, int configured,
                              char *buf, size_t size);

/* The name of the group this process runs as (getegid), or its number when
 * it has no name, into buf.  Thread-safe. */
void lynx_own_group_name(char *buf, size_t size);

#endif
