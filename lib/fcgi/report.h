/*
 * fcgi/report.h - turning what libprofile returns into the JSON documents
 * the endpoints serve (shapes documented in docs/API.md).
 */
#ifndef LYNX_FCGI_REPORT_H
#define LYNX_FCGI_REPORT_H

#include <json-c/json.h>

#include "lynxprof.h"

/* The /api/v1/profiling/memory document for a target.  New object owned by
 * the caller, or NULL on ENOMEM. */
json_object *lynx_memstats_json(const lynx_memstats_t *ms, const char *name,
                                int64_t started_unix_ns);

/* The same document as text with a final newline, as served: *len bytes
 * (no NUL counted).  The text of the last call is kept and returned again
 * while ms, name and started_unix_ns are the same, as they are for every
 * request served from one published snapshot (the memory endpoint under
 * load: json-c building and printing was most of its own CPU time).  The
 * pointer stays valid until the next call; NULL on ENOMEM.  Not
 * thread-safe (one request at a time per endpoint process). */
const char *lynx_memstats_text(const lynx_memstats_t *ms, const char *name,
                               int64_t started_unix_ns, size_t *len);

/* One entry of the target listing.  New object or NULL. */
json_object *lynx_target_info_json(const lynx_target_info_t *info);

#endif
