/*
 * cpu-start.c - GET|POST /api/v1/profiling/cpu/start?duration=30s&hz=100
 * &target=: start a CPU profiling session (fields in docs/API.md).  GET
 * stays for the guide and for scripts; browsers from another origin get 403.
 * Its processes are the spool's housekeeper (docs/ARCHITECTURE.md).
 */
#include "fcgi/cpu_endpoint.h"

static const lynx_param_spec_t params[] = {
    {"duration", LYNX_PARAM_DURATION, "30s", 0, 0},
    {"hz", LYNX_PARAM_INT, "100", LYNX_CPU_HZ_MIN, LYNX_CPU_HZ_MAX},
    {"target", LYNX_PARAM_NAME, NULL, 0, 0},
    {NULL, 0, NULL, 0, 0},
};

static void handle_start(lynx_req_t *req)
{
    int64_t duration_ns = lynx_req_param(req, "duration")->i;
    uint32_t hz = (uint32_t)lynx_req_param(req, "hz")->i;
    lynx_cpu_t *c = lynx_cpu_req_context(req);
    lynx_cpu_session_t s;

    if (c == NULL || lynx_cpu_req_check_duration(req, duration_ns) != 0 ||
        lynx_cpu_req_start(req, c, duration_ns, hz, LYNX_ORIGIN_API, &s) !=
            0) {
        return;
    }
    lynx_reply_json(req, 200,
                    lynx_cpu_json(&s, LYNX_CPU_FORM_STARTED, 0, NULL));
}

static const lynx_endpoint_t endpoint = {
    "cpu-start", LYNX_EP_ADVANCED | LYNX_EP_POST | LYNX_EP_ACTS, params,
    handle_start,
};

int main(int argc, char **argv)
{
    return lynx_cpu_housekeeper_main(&endpoint, argc, argv);
}
