/*
 * goroutine.c - GET /api/v1/profiling/goroutine: the threads of the target
 * as a pprof attachment goroutine_YYYYMMDD_HHMMSS.pprof (advanced API);
 * ?debug=1 and ?debug=2 as at /debug/pprof/goroutine.
 */
#include "fcgi/profile_serve.h"

static const lynx_param_spec_t params[] = {
    LYNX_PROFILE_PARAMS,
    {NULL, 0, NULL, 0, 0},
};

static void handle_goroutine(lynx_req_t *req)
{
    lynx_serve_profile(req, &lynx_profile_goroutine, 1);
}

static const lynx_endpoint_t endpoint = {
    "goroutine", LYNX_EP_ADVANCED, params, handle_goroutine,
};

int main(int argc, char **argv)
{
    return lynx_endpoint_main(&endpoint, argc, argv);
}
