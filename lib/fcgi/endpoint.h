/*
 * fcgi/endpoint.h - the request plumbing every FastCGI endpoint shares.
 *
 * An endpoint binary is a table of query parameters and a handler, handed to
 * lynx_endpoint_main().  The plumbing reads the configuration once (and
 * refuses to start on a bad value), accepts FastCGI requests forever, checks
 * the method, the feature gates and every parameter against the table, and
 * then calls the handler, which answers with one of the lynx_reply_*
 * functions.  Errors are JSON {"error": "..."} with a fitting status.  One
 * request at a time per process (spawn-fcgi/multiwatch give parallelism).
 */
#ifndef LYNX_FCGI_ENDPOINT_H
#define LYNX_FCGI_ENDPOINT_H

#include <json-c/json.h>
#include <stddef.h>
#include <stdint.h>

#include "client/json_values.h"
#include "fcgi/config.h"
#include "lynxprof.h"

typedef enum lynx_param_kind {
    LYNX_PARAM_STRING = 1,   /* any text, at most 256 bytes */
    LYNX_PARAM_NAME = 2,     /* a target name */
    LYNX_PARAM_DURATION = 3, /* Go duration -> nanoseconds in .i */
    LYNX_PARAM_INT = 4,      /* decimal integer in [min, max] -> .i */
    LYNX_PARAM_BOOL = 5,     /* Go boolean -> 0/1 in .i */
    LYNX_PARAM_LABEL = 6,    /* a label filter, key=value (pprof's
                                -tagfocus), or empty: none */
} lynx_param_kind_t;

typedef struct lynx_param_spec {
    const char *name;        /* NULL ends the table */
    lynx_param_kind_t kind;
    const char *def;         /* default text, or NULL: absent */
    int64_t min;             /* bounds for INT and DURATION (inclusive) */
    int64_t max;
} lynx_param_spec_t;

typedef struct lynx_param {
    int present;             /* given in the request or by default */
    const char *text;        /* decoded text, owned by the request */
    int64_t i;               /* parsed value for INT, DURATION, BOOL */
} lynx_param_t;

#define LYNX_MAX_PARAMS 16

/* Features an endpoint belongs to, for the configuration's gates. */
#define LYNX_EP_ADVANCED 0x1u  /* /api/v1/profiling: PROFILING_ENABLED */
#define LYNX_EP_DEBUG 0x2u     /* /debug/pprof: not in production unless
                                  profiling is enabled */
#define LYNX_EP_POST 0x4u      /* accepts POST besides GET and HEAD */
#define LYNX_EP_PATH_ARG 0x8u  /* takes the last path segment as argument */
#define LYNX_EP_DELETE 0x10u   /* accepts DELETE */
#define LYNX_EP_NO_GET 0x20u   /* refuses GET and HEAD (they never act) */
#define LYNX_EP_ACTS 0x40u     /* changes state: a browser request from
                                  another origin gets 403 (CSRF) */

typedef struct lynx_req lynx_req_t;
typedef void (*lynx_handler_cb)(lynx_req_t *req);

typedef struct lynx_endpoint {
    const char *name;                 /* for messages, e.g. "memory" */
    unsigned flags;                   /* LYNX_EP_* */
    const lynx_param_spec_t *params;  /* NULL-terminated; may be NULL */
    lynx_handler_cb handler;
} lynx_endpoint_t;

/* Run the endpoint: returns only at end of input (exit status for main).
 * With --check-config it validates the configuration and exits. */
int lynx_endpoint_main(const lynx_endpoint_t *ep, int argc, char **argv);

/* ---- inside a handler --------------------------------------------------- */

const lynx_config_t *lynx_req_config(const lynx_req_t *req);
const char *lynx_req_method(const lynx_req_t *req);
/* The last path segment (LYNX_EP_PATH_ARG), decoded; "" if none. */
const char *lynx_req_path_arg(const lynx_req_t *req);
/* The parameter of that name from the table; never NULL for a name that
 * is in the table (present == 0 when absent without default). */
const lynx_param_t *lynx_req_param(const lynx_req_t *req, const char *name);
/* A FastCGI parameter of the request (e.g. one nginx sets), or NULL. */
const char *lynx_req_env(const lynx_req_t *req, const char *name);
/* Request body (POST), at most 1 MiB; NULL if none.  Owned by req. */
const char *lynx_req_body(lynx_req_t *req, size_t *len);

/* Open the target named by ?target= (or the configured default, or the only
 * one).  On failure it has already answered with the error and returns
 * NULL.  The caller closes the target. */
lynx_target_t *lynx_req_target(lynx_req_t *req);

/* Answer with JSON (takes ownership of obj). */
void lynx_reply_json(lynx_req_t *req, int status, json_object *obj);
/* Answer {"error": message} with status. */
void lynx_reply_error(lynx_req_t *req, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Answer the error of a lynxprof code with the status that fits it, the
 * message prefixed by context when not NULL. */
void lynx_reply_code(lynx_req_t *req, int code, const char *context);
/* Answer raw bytes; filename, when not NULL, makes it an attachment;
 * content_type NULL sends none (for X-Accel-Redirect hand-overs). */
void lynx_reply_bytes(lynx_req_t *req, int status, const char *content_type,
                      const void *data, size_t len, const char *filename);
/* Add a response header line (without CRLF) before the reply is sent. */
void lynx_reply_header(lynx_req_t *req, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* 1 when a request must not change state because a browser sent it from
 * another origin (CSRF), with the reason in why; 0 otherwise.  Arguments are
 * the request's Sec-Fetch-Site and Origin headers, its scheme and Host
 * header, each NULL when absent.  Refused: a Sec-Fetch-Site other than
 * "same-origin" or "none" (so also "same-site": another port or a sibling
 * subdomain is another origin, and the browser would send the basic-auth
 * credentials it holds for us), or an Origin other than scheme://host.
 * Clients that send neither (curl, scripts, go tool pprof) pass.  Pure;
 * thread-safe. */
int lynx_cross_origin(const char *sec_fetch_site, const char *origin,
                      const char *scheme, const char *host, char *why,
                      size_t size);

/* HTTP status that fits a lynxprof/errno code. */
int lynx_code_status(int code);

/* ---- JSON helpers (also used outside requests) --------------------------- */

/* lynx_format_rfc3339, lynx_json_time, lynx_json_duration and
 * lynx_json_double: client/json_values.h (included above). */
/* int64 or JSON null when value < 0 ("not available"). */
json_object *lynx_json_count(int64_t value);
/* The JSON text of obj as the endpoints print it (no slash escaping);
 * owned by obj. */
const char *lynx_json_text(json_object *obj);

#endif
