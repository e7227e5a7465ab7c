/*
 * flame.c - GET /api/v1/profiling/flame?type=<kind>&target=: the profile of
 * any registry kind as flame-graph JSON (lynx_pprof_flame_json_focus's
 * document plus "type" and "target"), or with &format=folded as folded
 * stacks; in both, &tagfocus=key=value keeps the samples of one label.
 */
#include <stdlib.h>
#include <string.h>

#include "fcgi/profile_serve.h"
#include "client/target.h"

static const lynx_param_spec_t params[] = {
    LYNX_PROFILE_PARAMS,
    {"type", LYNX_PARAM_STRING, NULL, 0, 0},
    {"format", LYNX_PARAM_STRING, "json", 0, 0},
    {"tagfocus", LYNX_PARAM_LABEL, "", 0, 0},
    {NULL, 0, NULL, 0, 0},
};

static void handle_flame(lynx_req_t *req)
{
    const lynx_param_t *type = lynx_req_param(req, "type");
    const lynx_param_t *format = lynx_req_param(req, "format");
    const char *tagfocus = lynx_req_param(req, "tagfocus")->text;
    const lynx_profile_kind_t *kind;
    lynx_symbolizer_t *sym;
    lynx_pprof_t *p;
    int folded = strcmp(format->text, "folded") == 0;
    int rc;

    if (!type->present) {
        lynx_reply_error(req, 400, "missing parameter 'type' (a profile "
                                   "kind, e.g. goroutine)");
        return;
    }
    if (!folded && strcmp(format->text, "json") != 0) {
        lynx_reply_error(req, 400, "invalid format '%.32s': use json or "
                                   "folded", format->text);
        return;
    }
    kind = lynx_profile_kind(type->text);
    if (kind == NULL) {
        lynx_reply_error(req, 404, "unknown profile type '%.64s'",
                         type->text);
        return;
    }
    if (lynx_serve_build(req, kind, &p, &sym) != 0) {
        return;
    }
    if (folded) {
        char *text = NULL;
        size_t len = 0;
        rc = lynx_pprof_folded(p, sym, -1, tagfocus, &text, &len);
        if (rc != 0) {
            lynx_reply_error(req, 500, "folded: %s", lynx_strerror(rc));
        } else {
            lynx_reply_bytes(req, 200, "text/plain; charset=utf-8", text, len,
                             NULL);
        }
        free(text);
    } else {
        json_object *doc = NULL;
        rc = lynx_pprof_flame_json_focus(p, sym, tagfocus, &doc);
        if (rc != 0) {
            lynx_reply_error(req, 500, "flame: %s", lynx_strerror(rc));
        } else {
            json_object_object_add(doc, "type",
                                   json_object_new_string(kind->name));
            lynx_reply_json(req, 200, doc);
        }
    }
    lynx_pprof_destroy(p);
}

static const lynx_endpoint_t endpoint = {
    "flame", LYNX_EP_ADVANCED, params, handle_flame,
};

int main(int argc, char **argv)
{
    return lynx_endpoint_main(&endpoint, argc, argv);
}
