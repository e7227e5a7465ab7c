/*
 * http.c - the --http server of lynx-demo (see http.h).
 *
 * Workload assumed: nginx (HTTP/1.1, possibly with upstream keepalive) or
 * curl on the loopback interface, a few requests per second.  One thread
 * accepts and serves one connection at a time; every reply carries an
 * exact Content-Length, so a client may keep the connection alive or not.
 *
 * Robustness, since any local process may connect:
 *   - a request head is at most HTTP_HEAD_MAX_BYTES (400 beyond);
 *   - it must arrive within HTTP_TIMEOUT_MS of the previous reply (or of
 *     the accept), else the connection is closed without a reply;
 *     SO_RCVTIMEO/SO_SNDTIMEO bound every single recv/send the same way;
 *   - an idle kept-alive connection is closed as soon as another client
 *     waits in the accept queue, so one idle client cannot starve others;
 *   - request bodies are never read: a request announcing one gets its
 *     reply and then the connection is closed;
 *   - every wait is a poll() of at most HTTP_POLL_MS, after which the stop
 *     flag is checked, so demo_http_destroy() returns promptly;
 *   - sends use MSG_NOSIGNAL, so a vanished client never raises SIGPIPE.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4() */
#endif
#include "http.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <json_object.h>

#include "lynxprof-agent.h"
#include "signals.h"

#define HTTP_HEAD_MAX_BYTES 8192    /* request line + headers */
#define HTTP_BODY_MAX_BYTES 2048    /* largest reply body we build */
#define HTTP_TIMEOUT_MS 5000        /* to receive one request head */
#define HTTP_POLL_MS 200            /* longest wait between stop checks */
#define HTTP_LINGER_MS 1000         /* draining a client before close */
#define HTTP_LINGER_MAX_BYTES 65536 /* ... at most this much */
#define HTTP_KEEPALIVE_MAX 100      /* requests per connection */
#define HTTP_BACKLOG 16

struct demo_http {
    int listen_fd;       /* non-blocking, close-on-exec; owned */
    demo_stats_t *stats; /* may be NULL; not owned */
    unsigned nworkers;   /* reported as "threads" */
    int64_t start_ns;    /* CLOCK_MONOTONIC at create, for the uptime */
    pthread_t thread;
    atomic_int stop; /* 0 = run; set to 1 by demo_http_destroy() */
};

/* One accepted connection; lives on the server thread's stack. */
typedef struct http_conn {
    int fd;
    size_t nbuf; /* bytes received and not yet consumed, <= sizeof(buf) */
    char buf[HTTP_HEAD_MAX_BYTES];
} http_conn_t;

/* A parsed request head; the strings point into http_conn_t.buf. */
typedef struct http_request {
    const char *method;
    const char *path; /* target without its query string */
    int keep_alive;   /* the client allows another request after this */
    int has_body;     /* Content-Length > 0 or Transfer-Encoding given */
} http_request_t;

typedef enum http_read {
    HTTP_READ_OK,        /* a full head is in the buffer */
    HTTP_READ_TOO_LARGE, /* buffer full and no end of head */
    HTTP_READ_CLOSED,    /* EOF, error, timeout, yield or stop: just close */
} http_read_t;

static int64_t
monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int
stopping(demo_http_t *h)
{
    return atomic_load_explicit(&h->stop, memory_order_relaxed);
}

static const char *
status_text(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 404:
        return "Not Found";
    case 405:
        return "Method Not Allowed";
    default:
        return "Internal Server Error";
    }
}

/* Returns the length of the head (through its empty line) at buf, or 0 if
   it is not complete yet.  Bare LF line ends are accepted too. */
static size_t
head_length(const char *buf, size_t n)
{
    for (size_t i = 0; i + 1 < n; i++) {
        if (buf[i] != '\n') {
            continue;
        }
        if (buf[i + 1] == '\n') {
            return i + 2;
        }
        if (buf[i + 1] == '\r' && i + 2 < n && buf[i + 2] == '\n') {
            return i + 3;
        }
    }
    return 0;
}

/*
 * Receives until c->buf holds a whole request head, whose length goes to
 * *head_len.  idle: the connection has been served before, so it is
 * given up for another client waiting in the accept queue as long as
 * nothing of the next request has arrived.
 */
static http_read_t
read_head(demo_http_t *h, http_conn_t *c, int idle, size_t *head_len)
{
    int64_t deadline_ns = monotonic_ns() + (int64_t) HTTP_TIMEOUT_MS * 1000000;

    for (;;) {
        struct pollfd pfd[2];
        int64_t left_ns;
        ssize_t n;
        int rc;

        *head_len = head_length(c->buf, c->nbuf);
        if (*head_len > 0) {
            return HTTP_READ_OK;
        }
        if (c->nbuf == sizeof(c->buf)) {
            return HTTP_READ_TOO_LARGE;
        }
        left_ns = deadline_ns - monotonic_ns();
        if (stopping(h) || left_ns <= 0) {
            return HTTP_READ_CLOSED;
        }
        pfd[0].fd = c->fd;
        pfd[0].events = POLLIN;
        pfd[0].revents = 0;
        pfd[1].fd = h->listen_fd;
        pfd[1].events = POLLIN;
        pfd[1].revents = 0;
        rc = poll(pfd, idle && c->nbuf == 0 ? 2 : 1,
                  left_ns < (int64_t) HTTP_POLL_MS * 1000000
                      ? (int) (left_ns / 1000000) + 1
                      : HTTP_POLL_MS);
        if (rc <= 0) {
            continue; /* timeout or EINTR: check stop and deadline */
        }
        if (pfd[0].revents == 0) {
            return HTTP_READ_CLOSED; /* yield to the waiting client */
        }
        n = recv(c->fd, c->buf + c->nbuf, sizeof(c->buf) - c->nbuf, 0);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return HTTP_READ_CLOSED;
        }
        c->nbuf += (size_t) n;
    }
}

/* Does the comma-separated header value contain token (any case)? */
static int
has_token(const char *value, const char *token)
{
    size_t len = strlen(token);

    while (*value != '\0') {
        size_t n;

        value += strspn(value, " \t,");
        n = strcspn(value, ",");
        while (n > 0 && (value[n - 1] == ' ' || value[n - 1] == '\t')) {
            n--;
        }
        if (n == len && strncasecmp(value, token, len) == 0) {
            return 1;
        }
        value += strcspn(value, ",");
    }
    return 0;
}

/* A method is an RFC 9110 token; we only ever see short ones. */
static int
valid_method(const char *m)
{
    size_t n = strlen(m);

    return n > 0 && n <= 32
           && strspn(m, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "abcdefghijklmnopqrstuvwxyz0123456789"
                        "!#$%&'*+-.^_`|~")
                  == n;
}

/*
 * Parses the head of len bytes at head (NUL-terminating its lines in
 * place) into *req.  Returns 0, or -EINVAL if it is malformed (400).
 */
static int
parse_head(char *head, size_t len, http_request_t *req)
{
    char *line = head;
    char *end = head + len;
    char *target;
    char *version;
    int first = 1;

    memset(req, 0, sizeof(*req));
    /* RFC 9112 2.2: ignore empty lines before the request line. */
    while (line < end && (*line == '\r' || *line == '\n')) {
        line++;
    }
    while (line < end) {
        char *nl = memchr(line, '\n', (size_t) (end - line));
        char *colon;

        if (nl == NULL) {
            return -EINVAL;
        }
        *nl = '\0';
        if (nl > line && nl[-1] == '\r') {
            nl[-1] = '\0';
        }
        if (strchr(line, '\r') != NULL) {
            return -EINVAL;
        }
        if (first) {
            target = strchr(line, ' ');
            if (target == NULL) {
                return -EINVAL;
            }
            *target++ = '\0';
            version = strchr(target, ' ');
            if (version == NULL) {
                return -EINVAL;
            }
            *version++ = '\0';
            if (!valid_method(line) || target[0] == '\0'
                || strchr(target, ' ') != NULL) {
                return -EINVAL;
            }
            if (strcmp(version, "HTTP/1.1") == 0) {
                req->keep_alive = 1;
            } else if (strcmp(version, "HTTP/1.0") != 0) {
                return -EINVAL;
            }
            target[strcspn(target, "?#")] = '\0';
            req->method = line;
            req->path = target;
            first = 0;
        } else if (line[0] != '\0') {
            colon = strchr(line, ':');
            /* No name, whitespace before the colon, or obs-fold. */
            if (colon == NULL || colon == line
                || strcspn(line, " \t") < (size_t) (colon - line)) {
                return -EINVAL;
            }
            *colon++ = '\0';
            colon += strspn(colon, " \t");
            if (strcasecmp(line, "Connection") == 0) {
                if (has_token(colon, "close")) {
                    req->keep_alive = 0;
                } else if (has_token(colon, "keep-alive")) {
                    req->keep_alive = 1;
                }
            } else if (strcasecmp(line, "Content-Length") == 0) {
                req->has_body |= strspn(colon, "0") != strlen(colon);
            } else if (strcasecmp(line, "Transfer-Encoding") == 0) {
                req->has_body = 1;
            }
        }
        line = nl + 1;
    }
    return first ? -EINVAL : 0;
}

/* Sends all n bytes.  Returns 0 or -errno. */
static int
send_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t sent = send(fd, p, n, MSG_NOSIGNAL);

        if (sent < 0) {
            int err = errno;

            if (err == EINTR) {
                continue;
            }
            return -err;
        }
        p += sent;
        n -= (size_t) sent;
    }
    return 0;
}

/*
 * Sends one reply: headers with the exact Content-Length of body, then
 * the body unless head_only.  Returns 0 or -errno.
 */
static int
send_reply(int fd, int status, const char *content_type, const char *body,
           size_t body_len, int head_only, int keep_alive)
{
    char out[512 + HTTP_BODY_MAX_BYTES];
    int n;

    n = snprintf(out, sizeof(out),
                 "HTTP/1.1 %d %s\r\n"
                 "Server: lynx-demo\r\n"
                 "Content-Type: %s\r\n"
                 "Content-Length: %zu\r\n"
                 "Cache-Control: no-store\r\n"
                 "%s"
                 "Connection: %s\r\n"
                 "\r\n",
                 status, status_text(status), content_type, body_len,
                 status == 405 ? "Allow: GET, HEAD\r\n" : "",
                 keep_alive ? "keep-alive" : "close");
    if (n < 0 || (size_t) n + body_len > sizeof(out)) {
        return -EOVERFLOW;
    }
    if (!head_only) {
        memcpy(out + n, body, body_len);
        n += (int) body_len;
    }
    return send_all(fd, out, (size_t) n);
}

static void
snapshot(demo_http_t *h, demo_stats_summary_t *sum, double *uptime_s)
{
    if (h->stats != NULL) {
        demo_stats_summary(h->stats, sum);
    } else {
        memset(sum, 0, sizeof(*sum));
    }
    *uptime_s = (double) (monotonic_ns() - h->start_ns) / 1e9;
}

/* Adds key: value to obj.  Returns 0, or -ENOMEM (the value is freed). */
static int
add_value(json_object *obj, const char *key, json_object *value)
{
    if (value == NULL) {
        return -ENOMEM;
    }
    if (json_object_object_add(obj, key, value) != 0) {
        json_object_put(value); /* json-c keeps it only on success */
        return -ENOMEM;
    }
    return 0;
}

/* Adds a double with a fixed number of decimals, so the JSON shows
   "12.5" rather than json-c's 17 significant digits. */
static int
add_fixed(json_object *obj, const char *key, const char *fmt, double v)
{
    char text[64];

    snprintf(text, sizeof(text), fmt, v);
    return add_value(obj, key, json_object_new_double_s(v, text));
}

/* Writes the /api/stats JSON into body.  Returns its length, or -ENOMEM. */
static int
stats_json(demo_http_t *h, char *body, size_t size)
{
    demo_stats_summary_t sum;
    json_object *obj;
    const char *text;
    size_t len = 0;
    double uptime_s;
    int rc = -ENOMEM;

    snapshot(h, &sum, &uptime_s);
    obj = json_object_new_object();
    if (obj == NULL) {
        return -ENOMEM;
    }
    if (add_value(obj, "requests", json_object_new_uint64(sum.nrequests))
        || add_value(obj, "services", json_object_new_uint64(sum.nservices))
        || add_value(obj, "statuses", json_object_new_uint64(sum.nstatuses))
        || add_value(obj, "recent", json_object_new_uint64(sum.nrecent))
        || add_value(obj, "bytes", json_object_new_uint64(sum.size_bytes))
        || add_fixed(obj, "latency_max_ms", "%.1f",
                     (double) sum.latency_max_ns / 1e6)
        || add_fixed(obj, "uptime_seconds", "%.3f", uptime_s)
        || add_value(obj, "threads", json_object_new_uint64(h->nworkers))) {
        goto done;
    }
    text = json_object_to_json_string_length(obj, JSON_C_TO_STRING_PLAIN,
                                              &len);
    if (text == NULL || len + 1 >= size) {
        goto done;
    }
    memcpy(body, text, len);
    body[len++] = '\n';
    rc = (int) len;

done:
    json_object_put(obj);
    return rc;
}

/* Writes the / page into body.  Returns its length. */
static int
stats_html(demo_http_t *h, char *body, size_t size)
{
    demo_stats_summary_t sum;
    double uptime_s;
    int n;

    snapshot(h, &sum, &uptime_s);
    n = snprintf(body, size,
                 "<!DOCTYPE html>\n"
                 "<html lang=\"en\">\n"
                 "<head><meta charset=\"utf-8\">"
                 "<title>LogLynx demo</title></head>\n"
                 "<body>\n"
                 "<h1>LogLynx demo</h1>\n"
                 "<table>\n"
                 "<tr><th>requests aggregated</th><td>%llu</td></tr>\n"
                 "<tr><th>services</th><td>%zu</td></tr>\n"
                 "<tr><th>statuses</th><td>%zu</td></tr>\n"
                 "<tr><th>uptime</th><td>%.1f s</td></tr>\n"
                 "</table>\n"
                 "<p><a href=\"api/stats\">api/stats</a> (JSON), "
                 "<a href=\"healthz\">healthz</a></p>\n"
                 "</body>\n"
                 "</html>\n",
                 (unsigned long long) sum.nrequests, sum.nservices,
                 sum.nstatuses, uptime_s);
    return n < (int) size ? n : (int) size - 1;
}

/* Answers one parsed request.  Returns 0 or -errno from sending. */
static int
respond_route(demo_http_t *h, int fd, const http_request_t *req,
              int keep_alive);

/* Answers one request under a request label naming its route (a no-op
   without the profiler's agent). */
static int
respond(demo_http_t *h, int fd, const http_request_t *req, int keep_alive)
{
    static const char *const routes[] = { "/", "/api/stats", "/healthz" };
    const char *route = "other";
    int rc;

    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        if (strcmp(req->path, routes[i]) == 0) {
            route = routes[i];
        }
    }
    lynx_label_push("request", route);
    rc = respond_route(h, fd, req, keep_alive);
    lynx_label_pop();
    return rc;
}

static int
respond_route(demo_http_t *h, int fd, const http_request_t *req,
              int keep_alive)
{
    static const char text_type[] = "text/plain; charset=utf-8";
    char body[HTTP_BODY_MAX_BYTES];
    int head_only = strcmp(req->method, "HEAD") == 0;
    int n;

    if (!head_only && strcmp(req->method, "GET") != 0) {
        return send_reply(fd, 405, text_type, "method not allowed\n", 19, 0,
                          keep_alive);
    }
    if (strcmp(req->path, "/") == 0) {
        n = stats_html(h, body, sizeof(body));
        return send_reply(fd, 200, "text/html; charset=utf-8", body,
                          (size_t) n, head_only, keep_alive);
    }
    if (strcmp(req->path, "/api/stats") == 0) {
        n = stats_json(h, body, sizeof(body));
        if (n < 0) {
            return send_reply(fd, 500, text_type, "internal error\n", 15,
                              head_only, keep_alive);
        }
        return send_reply(fd, 200, "application/json", body, (size_t) n,
                          head_only, keep_alive);
    }
    if (strcmp(req->path, "/healthz") == 0) {
        return send_reply(fd, 200, text_type, "ok\n", 3, head_only,
                          keep_alive);
    }
    return send_reply(fd, 404, text_type, "not found\n", 10, head_only,
                      keep_alive);
}

/*
 * Closes the sending side and discards what the client still sends, for
 * a bounded time, before the caller closes: closing with unread input
 * would make the kernel send RST, which may destroy the reply in flight.
 */
static void
linger_close(demo_http_t *h, int fd)
{
    int64_t deadline_ns = monotonic_ns() + (int64_t) HTTP_LINGER_MS * 1000000;
    size_t ndrained = 0;
    char sink[4096];

    shutdown(fd, SHUT_WR);
    while (ndrained < HTTP_LINGER_MAX_BYTES && !stopping(h)
           && monotonic_ns() < deadline_ns) {
        struct pollfd pfd = { fd, POLLIN, 0 };
        ssize_t n;

        if (poll(&pfd, 1, HTTP_POLL_MS) <= 0) {
            continue;
        }
        n = recv(fd, sink, sizeof(sink), 0);
        if (n <= 0) {
            break;
        }
        ndrained += (size_t) n;
    }
}

/* Serves requests on fd until either side ends the connection. */
static void
serve_connection(demo_http_t *h, int fd)
{
    static const char text_type[] = "text/plain; charset=utf-8";
    http_conn_t c;
    struct timeval tv = { HTTP_TIMEOUT_MS / 1000, 0 };
    int one = 1;

    c.fd = fd;
    c.nbuf = 0;
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));

    for (unsigned nserved = 0;; nserved++) {
        http_request_t req;
        size_t head_len;
        int keep_alive;

        switch (read_head(h, &c, nserved > 0, &head_len)) {
        case HTTP_READ_CLOSED:
            return;
        case HTTP_READ_TOO_LARGE:
            if (send_reply(fd, 400, text_type, "request too large\n", 18, 0,
                           0)
                == 0) {
                linger_close(h, fd);
            }
            return;
        case HTTP_READ_OK:
            break;
        }
        if (parse_head(c.buf, head_len, &req) != 0) {
            if (send_reply(fd, 400, text_type, "bad request\n", 12, 0, 0)
                == 0) {
                linger_close(h, fd);
            }
            return;
        }
        keep_alive = req.keep_alive && !req.has_body
                     && nserved + 1 < HTTP_KEEPALIVE_MAX && !stopping(h);
        if (respond(h, fd, &req, keep_alive) != 0) {
            return;
        }
        if (!keep_alive) {
            linger_close(h, fd);
            return;
        }
        /* Keep what a pipelining client already sent of the next one. */
        memmove(c.buf, c.buf + head_len, c.nbuf - head_len);
        c.nbuf -= head_len;
    }
}

static void *
http_main(void *arg)
{
    demo_http_t *h = arg;

    pthread_setname_np(pthread_self(), "demo-http");
    while (!stopping(h)) {
        struct pollfd pfd = { h->listen_fd, POLLIN, 0 };
        int rc;
        int fd;

        rc = poll(&pfd, 1, HTTP_POLL_MS);
        if (rc <= 0) {
            continue; /* timeout, EINTR; other poll errors cannot occur */
        }
        fd = accept4(h->listen_fd, NULL, NULL, SOCK_CLOEXEC);
        if (fd < 0) {
            int err = errno;

            /* Out of descriptors or memory: wait instead of spinning on
               the still-pending connection. */
            if (err == EMFILE || err == ENFILE || err == ENOBUFS
                || err == ENOMEM) {
                poll(NULL, 0, HTTP_POLL_MS);
            }
            continue;
        }
        serve_connection(h, fd);
        close(fd);
    }
    return NULL;
}

demo_http_t *
demo_http_create(uint16_t port, demo_stats_t *stats, unsigned nworkers,
                 int *err, const char **what)
{
    struct sockaddr_in addr;
    demo_http_t *h;
    sigset_t stop_set;
    sigset_t old_set;
    int one = 1;
    int fd = -1;
    int rc;

    h = calloc(1, sizeof(*h));
    if (h == NULL) {
        *what = "allocate a server for";
        rc = ENOMEM;
        goto fail;
    }
    h->stats = stats;
    h->nworkers = nworkers;
    h->start_ns = monotonic_ns();
    atomic_init(&h->stop, 0);

    fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        rc = errno;
        *what = "create a socket for";
        goto fail;
    }
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0) {
        rc = errno;
        *what = "set SO_REUSEADDR for";
        goto fail;
    }
    memset(&addr, 0, sizeof(addr));
    addr.sin_family = AF_INET;
    addr.sin_port = htons(port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *) &addr, sizeof(addr)) != 0) {
        rc = errno;
        *what = "bind";
        goto fail;
    }
    if (listen(fd, HTTP_BACKLOG) != 0) {
        rc = errno;
        *what = "listen on";
        goto fail;
    }
    h->listen_fd = fd;

    /* Stop signals must reach the main thread only (signals.h). */
    demo_signals_set(&stop_set);
    pthread_sigmask(SIG_BLOCK, &stop_set, &old_set);
    rc = pthread_create(&h->thread, NULL, http_main, h);
    pthread_sigmask(SIG_SETMASK, &old_set, NULL);
    if (rc != 0) {
        *what = "start the server thread for";
        goto fail;
    }
    *err = 0;
    return h;

fail:
    if (fd >= 0) {
        close(fd);
    }
    free(h);
    *err = -rc;
    return NULL;
}

void
demo_http_destroy(demo_http_t *h)
{
    if (h == NULL) {
        return;
    }
    atomic_store_explicit(&h->stop, 1, memory_order_relaxed);
    pthread_join(h->thread, NULL);
    close(h->listen_fd);
    free(h);
}
