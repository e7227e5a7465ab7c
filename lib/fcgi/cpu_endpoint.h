/*
 * fcgi/cpu_endpoint.h - what the CPU endpoints (cgi-bin/cpu-*.c and
 * cgi-bin/pprof-profile.c) share: their main (FastCGI loop, and in
 * cpu-start the housekeeping thread), the process's session context,
 * checking of session ids and durations, and the error answers.  The
 * documents describing a session come from client/cpu_json.h's encoder
 * (lynx_cpu_json) and are described in docs/API.md ("CPU profiling").
 *
 * Every lynx_cpu_req_* function that can fail answers the request itself
 * and returns NULL or a non-zero value; the handler then just returns.
 */
#ifndef LYNX_FCGI_CPU_ENDPOINT_H
#define LYNX_FCGI_CPU_ENDPOINT_H

#include <json-c/json.h>
#include <stdint.h>

#include "client/cpu.h"
#include "client/cpu_json.h"
#include "fcgi/endpoint.h"

/* Like lynx_endpoint_main(), after loading the configuration.
 * `--max-profile-seconds` prints MAX_PROFILE_DURATION in whole seconds
 * (rounded up) and exits: the stack renders nginx's timeout from it.
 * Runs no housekeeping: the endpoints that only read never write the
 * spool. */
int lynx_cpu_endpoint_main(const lynx_endpoint_t *ep, int argc, char **argv);

/* lynx_cpu_endpoint_main() for the endpoints that answer GETs (status,
 * download, flame, sessions): their context is a reader
 * (lynx_cpu_set_reader), which never writes the spool and waits up to 5 s
 * for the housekeeper to save a session that has just ended; still
 * unsaved, download and flame answer 503 with Retry-After. */
int lynx_cpu_reader_main(const lynx_endpoint_t *ep, int argc, char **argv);

/* lynx_cpu_endpoint_main(), and also lynx_cpu_housekeep() in a thread of
 * its own (every second; retention every PROFILE_CLEANUP_INTERVAL).  The
 * one place where the spool is kept: cpu-start's main.  Several such
 * processes take turns (a lock in the spool directory). */
int lynx_cpu_housekeeper_main(const lynx_endpoint_t *ep, int argc,
                              char **argv);

/* The process's session context, created at first use; NULL after
 * answering 500.  Owned by the process. */
lynx_cpu_t *lynx_cpu_req_context(lynx_req_t *req);

/* The session id in the path, checked ("cpu_" + 1..20 digits); NULL after
 * answering 400. */
const char *lynx_cpu_req_id(lynx_req_t *req);

/* The parameter every session endpoint takes: ?target=NAME, checked
 * against the session's target (lynx_cpu_req_check_target). */
#define LYNX_CPU_TARGET_PARAM {"target", LYNX_PARAM_NAME, NULL, 0, 0}

/* A parameter table with LYNX_CPU_TARGET_PARAM only, for the session
 * endpoints that take nothing else. */
extern const lynx_param_spec_t lynx_cpu_session_params[];

/* When the request names a target (?target=), check that session `id`
 * belongs to it: 0 if it does or no target was given; non-zero after
 * answering 404 when it belongs to another target (or does not exist) or
 * the error of the lookup.  Call before acting on the session. */
int lynx_cpu_req_check_target(lynx_req_t *req, lynx_cpu_t *c, const char *id);

/* Check a requested duration against (0, MAX_PROFILE_DURATION]: 0, or
 * non-zero after answering 400. */
int lynx_cpu_req_check_duration(lynx_req_t *req, int64_t duration_ns);

/* Start a session on the request's target (?target=, the default or the
 * only one): 0 with *out filled, or non-zero after answering (409 with the
 * running session's id, 404/503 for the target, ...). */
int lynx_cpu_req_start(lynx_req_t *req, lynx_cpu_t *c, int64_t duration_ns,
                       uint32_t hz, uint32_t origin, lynx_cpu_session_t *out);

/* Answer the error `code` of a lynx_cpu_* call about session `id`:
 * 404 "Profile session not found", 409 "Profile session not completed
 * yet" (or, with what = "stop"/"delete", the fitting 409 message), 409 for
 * a session without data, else by lynx_reply_code(). */
void lynx_cpu_reply_error(lynx_req_t *req, int code, const char *what,
                          const lynx_cpu_session_t *s);

/* Answer the gzipped pprof; filename NULL: cpu_YYYYMMDD_HHMMSS.pprof from
 * the session's start (UTC). */
void lynx_cpu_reply_profile(lynx_req_t *req, const lynx_cpu_session_t *s,
                            const uint8_t *data, size_t len,
                            const char *filename);

#endif
