/*
 * lynx_metrics.h - the /metrics document: every live target's memory
 * statistics, allocator counters, threads, lock contention and profiling
 * state in the Prometheus text exposition format (version 0.0.4), one
 * `target` label per target.  Endpoint side; not thread-safe.
 */
#ifndef LYNX_METRICS_H
#define LYNX_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Build the document for every target on the host (the agents are asked
 * with timeout_ns each).  *out malloc'd (caller frees), *out_len bytes.
 * 0 or -ENOMEM / -errno of the listing. */
int lynx_metrics_text(int64_t timeout_ns, char **out, size_t *out_len);

#endif
