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

/* One entry of the target listing.  New object or NULL. */
json_object *lynx_target_info_json(const lynx_target_info_t *info);

#endif
