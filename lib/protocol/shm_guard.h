/*
 * protocol/shm_guard.h - keep an endpoint alive when a shared object it has
 * mapped is truncated under it (endpoint side).  Internal to lynxprof.
 *
 * A read or write of a MAP_SHARED page past the end of its (truncated) file
 * raises SIGBUS.  A guarded mapping that faults this way has its pages from
 * the faulting one to its end replaced by private zero pages, and the
 * access goes on: readers then see zeros, which their checks refuse, and
 * the mapping is marked "tripped" so the caller turns the request into an
 * error.  SIGBUS faults outside guarded mappings go to the handler that was
 * installed before (or the default action).
 */
#ifndef LYNX_PROTOCOL_SHM_GUARD_H
#define LYNX_PROTOCOL_SHM_GUARD_H

#include <stddef.h>

/* Guard [base, base + size_bytes).  Installs the SIGBUS handler, again if
 * the program replaced it since the last call.  0, or -ENOSPC when too many mappings are guarded (the mapping then
 * is not guarded).  Thread-safe. */
int lynx_shm_guard_add(void *base, size_t size_bytes);

/* Stop guarding the mapping at base (before munmap).  Thread-safe. */
void lynx_shm_guard_remove(void *base);

/* 1 if a truncation was caught in the mapping at base, else 0. */
int lynx_shm_guard_tripped(const void *base);

#endif
