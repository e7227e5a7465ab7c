/*
 * cpu-stop.c - POST /api/v1/profiling/cpu/stop/:id: end a running CPU
 * profiling session early; it becomes "cancelled" and keeps its samples.
 * GET never stops (405); browsers from another origin get 403.
 */
#include "fcgi/cpu_endpoint.h"
#include "protocol/clock.h"

static void handle_stop(lynx_req_t *req)
{
    const char *id = lynx_cpu_req_id(req);
    lynx_cpu_t *c = id != NULL ? lynx_cpu_req_context(req) : NULL;
    lynx_cpu_session_t s;
    int rc;

    if (c == NULL) {
        return;
    }
    if (lynx_cpu_req_check_target(req, c, id) != 0) {
        return;
    }
    rc = lynx_cpu_stop(c, id, &s);
    if (rc != 0) {
        lynx_cpu_reply_error(req, rc, "stop", &s);
        return;
    }
    lynx_reply_json(req, 200, lynx_cpu_json(&s, LYNX_CPU_FORM_STATUS,
                                             lynx_real_ns(), NULL));
}

static const lynx_endpoint_t endpoint = {
    "cpu-stop",
    LYNX_EP_ADVANCED | LYNX_EP_POST | LYNX_EP_NO_GET | LYNX_EP_ACTS |
        LYNX_EP_PATH_ARG,
    lynx_cpu_session_params,
    handle_stop,
};

int main(int argc, char **argv)
{
    return lynx_cpu_endpoint_main(&endpoint, argc, argv);
}
