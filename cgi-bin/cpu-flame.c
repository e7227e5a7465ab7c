/*
 * cpu-flame.c - GET /api/v1/profiling/cpu/flame/:id[?format=folded]
 * [&tagfocus=key=value]: a finished session as flame-graph JSON for the
 * web page (with its samples' labels), or folded text; in both, tagfocus
 * keeps only the samples of one label.
 */
#include <stdlib.h>
#include <string.h>

#include "fcgi/cpu_endpoint.h"

static const lynx_param_spec_t params[] = {
    {"format", LYNX_PARAM_STRING, "json", 0, 0},
    {"tagfocus", LYNX_PARAM_LABEL, "", 0, 0},
    LYNX_CPU_TARGET_PARAM,
    {NULL, 0, NULL, 0, 0},
};

static void handle_flame(lynx_req_t *req)
{
    const char *format = lynx_req_param(req, "format")->text;
    const char *tagfocus = lynx_req_param(req, "tagfocus")->text;
    const char *id = lynx_cpu_req_id(req);
    lynx_cpu_t *c = id != NULL ? lynx_cpu_req_context(req) : NULL;
    lynx_cpu_session_t s;
    json_object *flame = NULL;
    char *text = NULL;
    size_t len = 0;
    int folded = strcmp(format, "folded") == 0;
    int rc;

    if (c == NULL) {
        return;
    }
    if (!folded && strcmp(format, "json") != 0) {
        lynx_reply_error(req, 400, "invalid format '%s': use json or folded",
                         format);
        return;
    }
    if (lynx_cpu_req_check_target(req, c, id) != 0) {
        return;
    }
    rc = lynx_cpu_flame(c, id, tagfocus, &s, folded ? NULL : &flame, &text,
                        &len);
    if (rc != 0) {
        lynx_cpu_reply_error(req, rc, NULL, &s);
        return;
    }
    if (folded) {
        lynx_reply_bytes(req, 200, "text/plain; charset=utf-8", text, len,
                         NULL);
        free(text);
        return;
    }
    json_object_object_add(flame, "type", json_object_new_string("cpu"));
    json_object_object_add(flame, "session_id", json_object_new_string(id));
    lynx_reply_json(req, 200, flame);
}

static const lynx_endpoint_t endpoint = {
    "cpu-flame", LYNX_EP_ADVANCED | LYNX_EP_PATH_ARG, params, handle_flame,
};

int main(int argc, char **argv)
{
    return lynx_cpu_reader_main(&endpoint, argc, argv);
}
