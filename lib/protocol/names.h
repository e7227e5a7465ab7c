/*
 * protocol/names.h - names of targets and of their shared objects, and the
 * /proc facts that tell a live target from a dead one (both sides).
 * Internal to lynxprof; the public API is lynxprof.h.
 */
#ifndef LYNX_PROTOCOL_NAMES_H
#define LYNX_PROTOCOL_NAMES_H

#include <stddef.h>
#include <stdint.h>

#include "protocol/block.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 if name may name a target: 1..63 bytes of [A-Za-z0-9._-], not starting
 * with '.'.  Thread-safe. */
int lynx_name_valid(const char *name);

/* Turn any string into a valid name (bad bytes become '_'). */
void lynx_name_sanitize(const char *in, char out[LYNX_NAME_MAX]);

/* "/dev/shm/lynxprof.<name>" into buf.  0, LYNX_EBADNAME, -ENAMETOOLONG. */
int lynx_block_path(const char *name, char *buf, size_t size);

/* "/dev/shm/lynxprof-mbox.<name>" (the mailbox object) into buf.  0,
 * LYNX_EBADNAME, -ENAMETOOLONG. */
int lynx_mailbox_path(const char *name, char *buf, size_t size);

/* Read start time (clock ticks since boot) and state letter of a process
 * from /proc/<pid>/stat.  Either output may be NULL.  0, -ESRCH, -errno. */
int lynx_proc_stat(int pid, uint64_t *start_ticks, char *state);

/* 0 if pid is alive and started at start_ticks, else LYNX_EDEAD (gone,
 * zombie, or the pid was reused).  Thread-safe. */
int lynx_pid_alive(int pid, uint64_t start_ticks);

#ifdef __cplusplus
}
#endif

#endif
