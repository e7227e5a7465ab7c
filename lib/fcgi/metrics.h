/*
 * fcgi/metrics.h - the /metrics document: every live target's memory
 * statistics, allocator counters, threads, lock contention and profiling
 * state in the Prometheus text exposition format (version 0.0.4), one
 * `target` label per target.  Endpoint side; not thread-safe.
 */
#ifndef LYNX_FCGI_METRICS_H
#define LYNX_FCGI_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* Build the document for every target on the host.  Each call to an agent
 * waits at most timeout_ns, the whole scrape at most 2 * timeout_ns: a
 * target is asked nothing more after its first timeout, and targets not
 * reached by the deadline are reported as timed out, so one hung target
 * costs one timeout and many cost at most the scrape's deadline.  *out
 * malloc'd (caller frees), *out_len bytes.  0 or -ENOMEM / -errno of the
 * listing. */
int lynx_metrics_text(int64_t timeout_ns, char **out, size_t *out_len);

#endif
