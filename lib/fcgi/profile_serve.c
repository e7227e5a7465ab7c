/*
 * fcgi/profile_serve.c - serving registry profile kinds over FastCGI (see
 * fcgi/profile_serve.h).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fcgi/profile_serve.h"
#include "client/target.h"
#include "client/thread_dump.h"

static int reply_failure(lynx_req_t *req, const lynx_profile_kind_t *kind,
                         int rc, const char *msg, const char *target)
{
    int status = lynx_code_status(rc);

    if (rc == -ENOMEM) {
        status = 500;
    }
    if (msg != NULL && *msg != '\0') {
        lynx_reply_error(req, status, "%s profile of %s: %s", kind->name,
                         target, msg);
    } else {
        lynx_reply_error(req, status, "%s profile of %s: %s", kind->name,
                         target, lynx_strerror(rc));
    }
    return rc;
}

static int build_for(lynx_req_t *req, lynx_target_t *t,
                     const lynx_profile_kind_t *kind, lynx_pprof_t **out)
{
    const lynx_config_t *cfg = lynx_req_config(req);
    lynx_profile_req_t pr;
    lynx_pprof_t *p;
    char msg[LYNX_MSG_MAX + 64] = "";
    int rc;

    *out = NULL;
    memset(&pr, 0, sizeof(pr));
    pr.seconds = lynx_req_param(req, "seconds")->i;
    pr.gc = (int)lynx_req_param(req, "gc")->i;
    pr.running_only = (int)lynx_req_param(req, "running_only")->i;
    pr.timeout_ns = cfg->agent_timeout_ns;
    if (pr.seconds * 1000000000LL > cfg->max_profile_duration_ns) {
        lynx_reply_error(req, 400,
                         "seconds %lld exceeds MAX_PROFILE_DURATION",
                         (long long)pr.seconds);
        return LYNX_EBADARG;
    }
    p = lynx_pprof_create();
    if (p == NULL) {
        return reply_failure(req, kind, -ENOMEM, NULL, lynx_target_name(t));
    }
    rc = kind->build(t, &pr, p, msg, sizeof(msg));
    if (rc != 0) {
        lynx_pprof_destroy(p);
        return reply_failure(req, kind, rc, msg, lynx_target_name(t));
    }
    if (kind->default_type != NULL) {
        lynx_pprof_set_default_sample_type(p, kind->default_type);
    }
    if (cfg->host[0] != '\0' &&
        lynx_pprof_set_common_label(p, "host", cfg->host) != 0) {
        lynx_pprof_destroy(p);
        return reply_failure(req, kind, -ENOMEM, NULL, lynx_target_name(t));
    }
    *out = p;
    return 0;
}

int lynx_serve_build(lynx_req_t *req, const lynx_profile_kind_t *kind,
                     lynx_pprof_t **p, lynx_symbolizer_t **sym)
{
    lynx_target_t *t = lynx_req_target(req);
    int rc;

    *p = NULL;
    *sym = NULL;
    if (t == NULL) {
        return LYNX_ENOTARGET;
    }
    rc = build_for(req, t, kind, p);
    if (rc == 0) {
        *sym = lynx_target_symbolizer(t);
    }
    lynx_target_close(t);
    return rc;
}

static void serve_dump(lynx_req_t *req, lynx_target_t *t)
{
    lynx_thread_dump_t d;
    char msg[LYNX_MSG_MAX] = "";
    char *text = NULL;
    size_t len = 0;
    uint32_t flags = lynx_req_param(req, "running_only")->i
                         ? LYNX_DUMP_RUNNING_ONLY
                         : 0;
    int rc = lynx_thread_dump_take(t, lynx_req_config(req)->agent_timeout_ns,
                                   flags, &d, msg, sizeof(msg));

    if (rc != 0) {
        reply_failure(req, &lynx_profile_goroutine, rc, msg,
                      lynx_target_name(t));
        return;
    }
    rc = lynx_thread_dump_text(&d, lynx_target_symbolizer(t), &text, &len);
    lynx_thread_dump_fini(&d);
    if (rc != 0) {
        lynx_reply_error(req, 500, "thread dump: %s", lynx_strerror(rc));
        return;
    }
    lynx_reply_bytes(req, 200, "text/plain; charset=utf-8", text, len, NULL);
    free(text);
}

void lynx_serve_profile(lynx_req_t *req, const lynx_profile_kind_t *kind,
                        int filename_style)
{
    int64_t debug = lynx_req_param(req, "debug")->i;
    lynx_symbolizer_t *sym;
    lynx_target_t *t;
    lynx_pprof_t *p = NULL;
    char fname[96];
    int rc;

    if (debug != 0 && lynx_req_param(req, "seconds")->i > 0) {
        lynx_reply_error(req, 400, "seconds and debug are incompatible");
        return;
    }
    t = lynx_req_target(req);
    if (t == NULL) {
        return;
    }
    if (debug == 2 && kind == &lynx_profile_goroutine) {
        serve_dump(req, t);
        lynx_target_close(t);
        return;
    }
    rc = build_for(req, t, kind, &p);
    sym = rc == 0 ? lynx_target_symbolizer(t) : NULL;
    lynx_target_close(t);
    if (rc != 0) {
        return;
    }
    if (debug > 0) {
        char *text = NULL;
        size_t len = 0;
        rc = kind->text != NULL
                 ? kind->text(p, sym, &text, &len)
                 : lynx_pprof_debug_text(p, sym, NULL, NULL, 0, &text, &len);
        if (rc != 0) {
            lynx_reply_error(req, 500, "%s text: %s", kind->name,
                             lynx_strerror(rc));
        } else {
            lynx_reply_bytes(req, 200, "text/plain; charset=utf-8", text, len,
                             NULL);
        }
        free(text);
    } else {
        uint8_t *data = NULL;
        size_t len = 0;
        rc = lynx_pprof_encode(p, sym, 1, &data, &len);
        if (rc != 0) {
            lynx_reply_error(req, 500, "%s encode: %s", kind->name,
                             lynx_strerror(rc));
        } else {
            if (filename_style == 1) {
                time_t now = time(NULL);
                struct tm tm;
                localtime_r(&now, &tm);
                snprintf(fname, sizeof(fname),
                         "%s_%04d%02d%02d_%02d%02d%02d.pprof", kind->name,
                         tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                         tm.tm_hour, tm.tm_min, tm.tm_sec);
            } else {
                snprintf(fname, sizeof(fname), "\"%s\"", kind->name);
            }
            lynx_reply_bytes(req, 200, "application/octet-stream", data, len,
                             fname);
        }
        free(data);
    }
    lynx_pprof_destroy(p);
}
