/*
 * loggen.h - synthetic Traefik JSON access-log lines.
 *
 * Workload assumed: every worker thread formats lines back to back, a few
 * hundred thousand per second in total; each line is about 0.9-1.3 KiB of
 * one-line JSON with the field names Traefik's "json" access-log format
 * uses (ClientHost, RequestMethod, RequestPath, DownstreamStatus, Duration,
 * ServiceName, StartUTC, request_User-Agent, ...).
 */
#ifndef DEMO_LOGGEN_H
#define DEMO_LOGGEN_H

#include <stddef.h>
#include <stdint.h>

#include "rng.h"

/*
 * HOT.  Formats one access-log line for request number seq of the calling
 * worker into a freshly malloc'd buffer of a random capacity between 1.5
 * and 4 KiB (a per-line buffer: the caller frees it as soon as the line is
 * parsed).  Stores the line length, without the NUL, in *len_bytes.
 *
 * Returns the buffer, owned by the caller, or NULL if malloc failed.
 * Thread-safe as long as each thread passes its own rng.
 */
char *demo_generate_line(demo_rng_t *rng, uint64_t seq, size_t *len_bytes);

#endif
