/*
 * heap.c - GET /api/v1/profiling/heap: the target's sampled heap profile
 * as a pprof attachment heap_YYYYMMDD_HHMMSS.pprof (advanced API); the same
 * parameters as /debug/pprof/heap (?debug=1 text, ?seconds=N delta, ?gc=1
 * malloc_trim first, ?target=).
 */
#include "fcgi/profile_serve.h"

static const lynx_param_spec_t params[] = {
    LYNX_PROFILE_PARAMS,
    {NULL, 0, NULL, 0, 0},
};

static void handle_heap(lynx_req_t *req)
{
    lynx_serve_profile(req, &lynx_profile_heap, 1);
}

static const lynx_endpoint_t endpoint = {
    "heap", LYNX_EP_ADVANCED, params, handle_heap,
};

int main(int argc, char **argv)
{
    return lynx_endpoint_main(&endpoint, argc, argv);
}
