/*
 * http.h - lynx-demo's small built-in HTTP/1.1 server (--http PORT).
 *
 * It stands for "the application" that nginx reverse-proxies to at
 * `location /`: one thread on 127.0.0.1:PORT answers
 *     GET /           an HTML page with the totals
 *     GET /api/stats  the same totals as JSON (json-c)
 *     GET /healthz    "ok\n"
 * HEAD is supported on all three; any other path is 404, any other method
 * 405.  Workload assumed: a few requests per second from nginx or curl on
 * the loopback interface, so one connection is served at a time.
 */
#ifndef DEMO_HTTP_H
#define DEMO_HTTP_H

#include <stdint.h>

#include "stats.h"

typedef struct demo_http demo_http_t;

/*
 * Binds a listening socket on 127.0.0.1:port (1..65535) and starts the
 * server thread, with SIGINT/SIGTERM blocked in it.  stats (NULL for the
 * workloads without statistics: every total is then 0) and nworkers (the
 * "threads" field) are only read; stats must outlive the server.
 *
 * Returns the server, owned by the caller (stop and free it with
 * demo_http_destroy()), or NULL with *err set to a negative errno and
 * *what to a verb phrase naming the step that failed ("bind", "listen
 * on", ...), so that "cannot <what> 127.0.0.1:<port>" reads well.
 * Not thread-safe: call from main.
 */
demo_http_t *demo_http_create(uint16_t port, demo_stats_t *stats,
                              unsigned nworkers, int *err, const char **what);

/*
 * Stops the server (its loops notice within about 200 ms, dropping a
 * connection in progress), joins its thread, closes the socket and frees
 * http.  NULL is accepted.  Not thread-safe: call from main.
 */
void demo_http_destroy(demo_http_t *http);

#endif
