/*
 * fcgi/endpoint.c - FastCGI request plumbing shared by every endpoint (see
 * fcgi/endpoint.h).
 *
 * Workload: one request at a time per process, a handful of parameters per
 * request; nothing is kept between requests except the configuration.
 */
#include <errno.h>
#include <fcgiapp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "client/attach.h"
#include "client/debuginfo.h"
#include "fcgi/duration.h"
#include "fcgi/endpoint.h"
#include "fcgi/query.h"
#include "fcgi/target_error.h"

#define QUERY_MAX 4096      /* bytes of a query string we accept */
#define TEXT_MAX 256        /* bytes of the path argument */
#define HEADERS_MAX 1024    /* bytes of extra response headers */
#define BODY_MAX (1u << 20) /* bytes of a request body we read */

struct lynx_req {
    FCGX_Request fcgx;
    const lynx_endpoint_t *ep;
    const lynx_config_t *cfg;
    const char *method;
    char path_arg[TEXT_MAX];
    char query[QUERY_MAX];    /* decoded copies of the values live here */
    lynx_param_t params[LYNX_MAX_PARAMS];
    char headers[HEADERS_MAX];
    size_t headers_len;
    char *body;
    size_t body_len;
    int replied;
};

/* ---- small helpers ------------------------------------------------------ */

static const char *status_text(int status)
{
    switch (status) {
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 301: return "Moved Permanently";
    case 400: return "Bad Request";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 409: return "Conflict";
    case 413: return "Payload Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 507: return "Insufficient Storage";
    case 504: return "Gateway Timeout";
    default: return "Status";
    }
}

int lynx_code_status(int code)
{
    switch (code) {
    case LYNX_EBADNAME:
    case LYNX_EAMBIGUOUS:
    case LYNX_EBADARG:
        return 400;
    case LYNX_ENOSESSION:
        return 404;
    case LYNX_ECONFLICT:
    case LYNX_ENOTREADY:
        return 409;
    case LYNX_ENOTARGET:
    case LYNX_EDEAD:
    case LYNX_ESTALE:
    case LYNX_ETIMEOUT:
    case LYNX_EBUSY:
    case LYNX_EPERM:
    case LYNX_EOWNER:
    case LYNX_EBADMAGIC:
    case LYNX_EVERSION:
    case LYNX_EBADSIZE:
    case LYNX_EPROTO:
    case LYNX_EUNSUPPORTED:
        return 503;
    case LYNX_ECPUONLY:
        /* The request is fine; this target's agent does not collect it. */
        return 501;
    case -ENOSPC:
    case -EDQUOT:
        return 507;
    default:
        return 500;
    }
}

json_object *lynx_json_count(int64_t value)
{
    return value < 0 ? NULL : json_object_new_int64(value);
}

const char *lynx_json_text(json_object *obj)
{
    return json_object_to_json_string_ext(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* ---- replies ------------------------------------------------------------ */

void lynx_reply_header(lynx_req_t *req, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(req->headers + req->headers_len,
                  sizeof(req->headers) - req->headers_len - 2, fmt, ap);
    va_end(ap);
    if (n < 0 ||
        (size_t)n >= sizeof(req->headers) - req->headers_len - 2) {
        req->headers[req->headers_len] = '\0';
        return;
    }
    req->headers_len += (size_t)n;
    memcpy(req->headers + req->headers_len, "\r\n", 3);
    req->headers_len += 2;
}

void lynx_reply_bytes(lynx_req_t *req, int status, const char *content_type,
                      const void *data, size_t len, const char *filename)
{
    FCGX_Stream *out = req->fcgx.out;
    char head[512];
    int n;

    if (req->replied) {
        return;
    }
    req->replied = 1;
    /* FCGX_FPrintF knows no %zu: format with the C library. */
    /* Without a content type (an X-Accel-Redirect hand-over), nginx takes
     * the type of the file it serves from its extension. */
    n = snprintf(head, sizeof(head),
                 "Status: %d %s\r\n"
                 "%s%s%s"
                 "Content-Length: %zu\r\n"
                 "Cache-Control: no-store\r\n"
                 "X-Content-Type-Options: nosniff\r\n",
                 status, status_text(status),
                 content_type != NULL ? "Content-Type: " : "",
                 content_type != NULL ? content_type : "",
                 content_type != NULL ? "\r\n" : "", len);
    if (n > 0 && (size_t)n < sizeof(head) && filename != NULL) {
        n += snprintf(head + n, sizeof(head) - (size_t)n,
                      "Content-Disposition: attachment; filename=%s\r\n",
                      filename);
    }
    if (n < 0 || (size_t)n >= sizeof(head)) {
        n = snprintf(head, sizeof(head), "Status: 500 %s\r\n",
                     status_text(500));
    }
    FCGX_PutStr(head, n, out);
    FCGX_PutStr(req->headers, (int)req->headers_len, out);
    FCGX_PutS("\r\n", out);
    if (strcmp(req->method, "HEAD") != 0 && len > 0) {
        FCGX_PutStr(data, (int)len, out);
    }
}

void lynx_reply_json(lynx_req_t *req, int status, json_object *obj)
{
    const char *text;

    if (obj == NULL) {
        lynx_reply_bytes(req, 500, "application/json",
                         "{\"error\":\"out of memory\"}\n", 25, NULL);
        return;
    }
    text = lynx_json_text(obj);
    /* A newline at the end is friendlier to curl users. */
    {
        size_t len = strlen(text);
        char *buf = malloc(len + 2);
        if (buf == NULL) {
            lynx_reply_bytes(req, status, "application/json", text, len,
                             NULL);
        } else {
            memcpy(buf, text, len);
            buf[len] = '\n';
            lynx_reply_bytes(req, status, "application/json", buf, len + 1,
                             NULL);
            free(buf);
        }
    }
    json_object_put(obj);
}

void lynx_reply_error(lynx_req_t *req, int status, const char *fmt, ...)
{
    char msg[LYNX_TARGET_ERROR_MAX];
    json_object *obj;
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    obj = json_object_new_object();
    if (obj != NULL) {
        json_object_object_add(obj, "error", json_object_new_string(msg));
    }
    lynx_reply_json(req, status, obj);
}

void lynx_reply_code(lynx_req_t *req, int code, const char *context)
{
    int status = lynx_code_status(code);

    if (context != NULL && *context != '\0') {
        lynx_reply_error(req, status, "%s: %s", context,
                         lynx_strerror(code));
    } else {
        lynx_reply_error(req, status, "%s", lynx_strerror(code));
    }
}

/* ---- request accessors -------------------------------------------------- */

const lynx_config_t *lynx_req_config(const lynx_req_t *req)
{
    return req->cfg;
}

const char *lynx_req_method(const lynx_req_t *req)
{
    return req->method;
}

const char *lynx_req_path_arg(const lynx_req_t *req)
{
    return req->path_arg;
}

const lynx_param_t *lynx_req_param(const lynx_req_t *req, const char *name)
{
    static const lynx_param_t absent = {0, NULL, 0};
    const lynx_param_spec_t *spec = req->ep->params;

    for (size_t i = 0; spec != NULL && spec[i].name != NULL; i++) {
        if (strcmp(spec[i].name, name) == 0) {
            return &req->params[i];
        }
    }
    return &absent;
}

const char *lynx_req_env(const lynx_req_t *req, const char *name)
{
    return FCGX_GetParam(name, req->fcgx.envp);
}

const char *lynx_req_body(lynx_req_t *req, size_t *len)
{
    *len = req->body_len;
    return req->body;
}

lynx_target_t *lynx_req_target(lynx_req_t *req)
{
    const lynx_param_t *p = lynx_req_param(req, "target");
    const char *name = p->present ? p->text : NULL;
    const char *fallback = req->cfg->default_target;
    lynx_target_t *t = NULL;
    int rc = lynx_target_open(name, fallback, &t);
    char msg[LYNX_TARGET_ERROR_MAX];
    int status;

    if (rc == 0) {
        return t;
    }
    if (name != NULL) {
        status = lynx_target_error_explain(rc, name, 0, msg, sizeof(msg));
    } else {
        status = lynx_target_error_explain(rc, fallback, 1, msg, sizeof(msg));
    }
    lynx_reply_error(req, status, "%s", msg);
    return NULL;
}

/* ---- parsing ------------------------------------------------------------ */

static int read_body(lynx_req_t *req, char *err, size_t err_size)
{
    const char *cl = FCGX_GetParam("CONTENT_LENGTH", req->fcgx.envp);
    long long n = 0;
    int got;

    if (cl == NULL || *cl == '\0') {
        return 0;
    }
    n = atoll(cl);
    if (n <= 0) {
        return 0;
    }
    if (n > BODY_MAX) {
        snprintf(err, err_size, "request body too large (%lld bytes)", n);
        return -1;
    }
    req->body = malloc((size_t)n + 1);
    if (req->body == NULL) {
        snprintf(err, err_size, "out of memory");
        return -1;
    }
    got = FCGX_GetStr(req->body, (int)n, req->fcgx.in);
    req->body_len = got > 0 ? (size_t)got : 0;
    req->body[req->body_len] = '\0';
    return 0;
}

/* ---- the loop ------------------------------------------------------------- */

static int method_allowed(const lynx_endpoint_t *ep, const char *m)
{
    if (strcmp(m, "GET") == 0 || strcmp(m, "HEAD") == 0) {
        return (ep->flags & LYNX_EP_NO_GET) == 0;
    }
    if (strcmp(m, "POST") == 0) {
        return (ep->flags & LYNX_EP_POST) != 0;
    }
    if (strcmp(m, "DELETE") == 0) {
        return (ep->flags & LYNX_EP_DELETE) != 0;
    }
    return 0;
}

int lynx_cross_origin(const char *sec_fetch_site, const char *origin,
                      const char *scheme, const char *host, char *why,
                      size_t size)
{
    size_t n;

    /* "none" is the user's own navigation (address bar, bookmark). */
    if (sec_fetch_site != NULL && strcmp(sec_fetch_site, "same-origin") != 0 &&
        strcmp(sec_fetch_site, "none") != 0) {
        snprintf(why, size, "cross-origin request refused (Sec-Fetch-Site: "
                 "%.64s)", sec_fetch_site);
        return 1;
    }
    if (origin == NULL) {
        return 0;
    }
    if (scheme == NULL) {
        scheme = "http";
    }
    n = strlen(scheme);
    if (host == NULL || strncasecmp(origin, scheme, n) != 0 ||
        strncmp(origin + n, "://", 3) != 0 ||
        strcasecmp(origin + n + 3, host) != 0) {
        snprintf(why, size, "cross-origin request refused (Origin: %.128s)",
                 origin);
        return 1;
    }
    return 0;
}

static void handle(lynx_req_t *req)
{
    const lynx_endpoint_t *ep = req->ep;
    const lynx_config_t *cfg = req->cfg;
    char err[512];
    const char *uri;
    const char *m = FCGX_GetParam("REQUEST_METHOD", req->fcgx.envp);

    req->method = m != NULL ? m : "GET";
    if (!method_allowed(ep, req->method)) {
        char allow[32] = "";

        if (!(ep->flags & LYNX_EP_NO_GET)) {
            strcat(allow, ", GET, HEAD");
        }
        if (ep->flags & LYNX_EP_POST) {
            strcat(allow, ", POST");
        }
        if (ep->flags & LYNX_EP_DELETE) {
            strcat(allow, ", DELETE");
        }
        lynx_reply_header(req, "Allow: %s",
                          allow[0] != '\0' ? allow + 2 : "");
        lynx_reply_error(req, 405, "method %s not allowed", req->method);
        return;
    }
    if ((ep->flags & LYNX_EP_ACTS) &&
        lynx_cross_origin(
            FCGX_GetParam("HTTP_SEC_FETCH_SITE", req->fcgx.envp),
            FCGX_GetParam("HTTP_ORIGIN", req->fcgx.envp),
            FCGX_GetParam("REQUEST_SCHEME", req->fcgx.envp),
            FCGX_GetParam("HTTP_HOST", req->fcgx.envp), err, sizeof(err))) {
        lynx_reply_error(req, 403, "%s", err);
        return;
    }
    if ((ep->flags & LYNX_EP_ADVANCED) && !cfg->profiling_enabled) {
        lynx_reply_error(req, 404,
                         "profiling is disabled (set PROFILING_ENABLED=true)");
        return;
    }
    if ((ep->flags & LYNX_EP_DEBUG) && cfg->server_production &&
        !cfg->profiling_enabled) {
        lynx_reply_error(req, 404,
                         "pprof endpoints are disabled in production (set "
                         "PROFILING_ENABLED=true to enable them)");
        return;
    }
    if (ep->flags & LYNX_EP_PATH_ARG) {
        const char *slash;
        uri = FCGX_GetParam("DOCUMENT_URI", req->fcgx.envp);
        if (uri == NULL) {
            uri = FCGX_GetParam("SCRIPT_NAME", req->fcgx.envp);
        }
        slash = uri != NULL ? strrchr(uri, '/') : NULL;
        snprintf(req->path_arg, sizeof(req->path_arg), "%s",
                 slash != NULL ? slash + 1 : "");
    }
    if (lynx_query_parse(ep->params, FCGX_GetParam("QUERY_STRING",
                                                   req->fcgx.envp),
                         req->query, sizeof(req->query), req->params, err,
                         sizeof(err)) != 0) {
        lynx_reply_error(req, 400, "%s", err);
        return;
    }
    if (strcmp(req->method, "POST") == 0 &&
        read_body(req, err, sizeof(err)) != 0) {
        lynx_reply_error(req, 413, "%s", err);
        return;
    }
    ep->handler(req);
    if (!req->replied) {
        lynx_reply_error(req, 500, "%s: handler gave no answer", ep->name);
    }
}

int lynx_endpoint_main(const lynx_endpoint_t *ep, int argc, char **argv)
{
    static lynx_req_t req;
    lynx_config_t cfg;
    char err[512];

    if (lynx_config_load(&cfg, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", ep->name, err);
        return 2;
    }
    if (argc > 1 && strcmp(argv[1], "--check-config") == 0) {
        return 0;
    }
    lynx_debuginfo_set_dir(cfg.debug_dir); /* checked by the load */
    /* A client that goes away must not kill us with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    if (FCGX_Init() != 0 || FCGX_InitRequest(&req.fcgx, 0, 0) != 0) {
        fprintf(stderr, "%s: cannot initialise FastCGI\n", ep->name);
        return 1;
    }
    while (FCGX_Accept_r(&req.fcgx) >= 0) {
        req.ep = ep;
        req.cfg = &cfg;
        req.replied = 0;
        req.headers_len = 0;
        req.headers[0] = '\0';
        req.path_arg[0] = '\0';
        req.body = NULL;
        req.body_len = 0;
        handle(&req);
        free(req.body);
        FCGX_Finish_r(&req.fcgx);
    }
    return 0;
}
