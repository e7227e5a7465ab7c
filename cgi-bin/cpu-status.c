/*
 * cpu-status.c - GET /api/v1/profiling/cpu/status/:id[?target=]: state,
 * progress and samples of a CPU profiling session (fields in docs/API.md).
 */
#include "fcgi/cpu_endpoint.h"
#include "protocol/clock.h"

static void handle_status(lynx_req_t *req)
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
    rc = lynx_cpu_get(c, id, &s);
    if (rc != 0) {
        lynx_cpu_reply_error(req, rc, NULL, NULL);
        return;
    }
    lynx_reply_json(req, 200, lynx_cpu_json(&s, LYNX_CPU_FORM_STATUS,
                                             lynx_real_ns(), NULL));
}

static const lynx_endpoint_t endpoint = {
    "cpu-status", LYNX_EP_ADVANCED | LYNX_EP_PATH_ARG, lynx_cpu_session_params,
    handle_status,
};

int main(int argc, char **argv)
{
    return lynx_cpu_reader_main(&endpoint, argc, argv);
}
