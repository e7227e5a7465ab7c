/*
 * parse.h - one Traefik JSON access-log line into a demo_request_t.
 *
 * Workload assumed: lines produced by loggen.c, parsed as soon as they are
 * produced by the same thread, with one json_tokener per thread reused for
 * every line.
 */
#ifndef DEMO_PARSE_H
#define DEMO_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include <json_tokener.h>

/* The fields the analyzer keeps; strings are NUL-terminated copies,
   silently cut to their buffer size. */
typedef struct demo_request {
    char service[64];     /* ServiceName */
    char router[64];      /* RouterName */
    char host[64];        /* RequestHost */
    char method[16];      /* RequestMethod */
    char protocol[16];    /* RequestProtocol */
    char client[48];      /* ClientHost */
    char start_utc[48];   /* StartUTC, RFC 3339 with ns */
    char path[192];       /* RequestPath, query string included */
    char user_agent[192]; /* request_User-Agent */
    int status;           /* DownstreamStatus, 100..599 */
    uint64_t duration_ns; /* Duration */
    uint64_t size_bytes;  /* DownstreamContentSize */
} demo_request_t;

/* What demo_parse_line can return besides 0. */
#define DEMO_PARSE_ESYNTAX -1 /* not one complete JSON document */
#define DEMO_PARSE_EFIELD -2  /* not an object, or a required field missing */

/*
 * HOT.  Parses len bytes at line with json_tokener_parse_ex() on tok (reset
 * first; tok is the caller's and stays so) and fills *req.  json-c
 * allocates the object tree internally; it is released before returning.
 *
 * Returns 0, DEMO_PARSE_ESYNTAX or DEMO_PARSE_EFIELD; *req is unspecified
 * on error.  Thread-safe as long as each thread uses its own tok.
 */
int demo_parse_line(json_tokener *tok, const char *line, size_t len,
                    demo_request_t *req);

#endif
