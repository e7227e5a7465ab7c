/*
 * cpu-delete.c - DELETE /api/v1/profiling/cpu/sessions/:id and
 * POST /api/v1/profiling/cpu/delete/:id: remove a finished CPU profiling
 * session (its files and its record).  GET never deletes (405); browsers
 * from another origin get 403.
 */
#include "fcgi/cpu_endpoint.h"

static void handle_delete(lynx_req_t *req)
{
    const char *id;
    lynx_cpu_t *c;
    json_object *o;
    int rc;

    id = lynx_cpu_req_id(req);
    c = id != NULL ? lynx_cpu_req_context(req) : NULL;
    if (c == NULL || lynx_cpu_req_check_target(req, c, id) != 0) {
        return;
    }
    rc = lynx_cpu_delete(c, id);
    if (rc != 0) {
        lynx_cpu_reply_error(req, rc, "delete", NULL);
        return;
    }
    o = json_object_new_object();
    json_object_object_add(o, "session_id", json_object_new_string(id));
    json_object_object_add(o, "status", json_object_new_string("deleted"));
    lynx_reply_json(req, 200, o);
}

static const lynx_endpoint_t endpoint = {
    "cpu-delete",
    LYNX_EP_ADVANCED | LYNX_EP_POST | LYNX_EP_DELETE | LYNX_EP_NO_GET |
        LYNX_EP_ACTS | LYNX_EP_PATH_ARG,
    lynx_cpu_session_params,
    handle_delete,
};

int main(int argc, char **argv)
{
    return lynx_cpu_endpoint_main(&endpoint, argc, argv);
}
