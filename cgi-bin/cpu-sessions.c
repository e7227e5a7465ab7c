/*
 * cpu-sessions.c - GET /api/v1/profiling/cpu/sessions[?target=]: every CPU
 * profiling session, running and finished, newest first.
 */
#include <stdlib.h>

#include "fcgi/cpu_endpoint.h"
#include "protocol/clock.h"

static const lynx_param_spec_t params[] = {
    {"target", LYNX_PARAM_NAME, NULL, 0, 0},
    {NULL, 0, NULL, 0, 0},
};

static void handle_sessions(lynx_req_t *req)
{
    const lynx_param_t *target = lynx_req_param(req, "target");
    lynx_cpu_t *c = lynx_cpu_req_context(req);
    lynx_cpu_session_t *list;
    json_object *root;
    json_object *arr;
    int64_t now = lynx_real_ns();
    size_t n;
    int rc;

    if (c == NULL) {
        return;
    }
    rc = lynx_cpu_list(c, target->present ? target->text : NULL, &list, &n);
    if (rc != 0) {
        lynx_reply_code(req, rc, "listing CPU profile sessions");
        return;
    }
    root = json_object_new_object();
    arr = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object_array_add(
            arr, lynx_cpu_json(&list[i], LYNX_CPU_FORM_STATUS, now, NULL));
    }
    json_object_object_add(root, "sessions", arr);
    free(list);
    lynx_reply_json(req, 200, root);
}

static const lynx_endpoint_t endpoint = {
    "cpu-sessions", LYNX_EP_ADVANCED, params, handle_sessions,
};

int main(int argc, char **argv)
{
    return lynx_cpu_reader_main(&endpoint, argc, argv);
}
