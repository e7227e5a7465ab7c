/*
 * fcgi/profile_serve.h - answering a request for a registry profile kind
 * (client/profiles.h) the way Go's net/http/pprof does: gzipped pprof, or
 * with ?debug=1 the text form, ?debug=2 for goroutine the per-thread dump,
 * ?seconds=N a delta.  Shared by the /debug/pprof/<kind> endpoint, the
 * /api/v1/profiling/goroutine endpoint and the flame-graph endpoint.
 */
#ifndef LYNX_FCGI_PROFILE_SERVE_H
#define LYNX_FCGI_PROFILE_SERVE_H

#include "fcgi/endpoint.h"
#include "client/profiles.h"

/* The parameters every profile endpoint accepts (NULL-terminated table
 * entries to copy into an endpoint's own table): target, debug (0..2),
 * seconds (0..3600), gc (bool). */
#define LYNX_PROFILE_PARAMS                                                  \
    {"target", LYNX_PARAM_NAME, NULL, 0, 0},                                 \
    {"debug", LYNX_PARAM_INT, "0", 0, 2},                                    \
    {"seconds", LYNX_PARAM_INT, "0", 0, 3600},                               \
    {"gc", LYNX_PARAM_BOOL, "false", 0, 0},                                  \
    {"running_only", LYNX_PARAM_BOOL, "false", 0, 0}

/* Build `kind` for the request's target into *p (new builder, caller
 * destroys it), with *sym the symbolizer bound to that target's files
 * (lynx_target_symbolizer(); may be NULL).  On failure it has answered
 * the request and returns a negative code; *p is NULL then. */
int lynx_serve_build(lynx_req_t *req, const lynx_profile_kind_t *kind,
                     lynx_pprof_t **p, lynx_symbolizer_t **sym);

/* Answer the whole request for `kind`.  filename_style: 0 = Go's
 * attachment name (the kind), 1 = "<kind>_YYYYMMDD_HHMMSS.pprof" as the
 * advanced API names its downloads. */
void lynx_serve_profile(lynx_req_t *req, const lynx_profile_kind_t *kind,
                        int filename_style);

#endif
