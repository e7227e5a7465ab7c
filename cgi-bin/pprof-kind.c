/*
 * pprof-kind.c - GET /debug/pprof/<kind> for every kind of the profile
 * registry (goroutine, block, mutex, threadcreate, heap, allocs...): pprof,
 * ?debug=1 text, goroutine?debug=2 per-thread dump, ?seconds=N delta.
 * Unknown kinds: 404.
 */
#include "fcgi/profile_serve.h"

static const lynx_param_spec_t params[] = {
    LYNX_PROFILE_PARAMS,
    {NULL, 0, NULL, 0, 0},
};

static void handle_kind(lynx_req_t *req)
{
    const char *name = lynx_req_path_arg(req);
    const lynx_profile_kind_t *kind = lynx_profile_kind(name);

    if (kind == NULL) {
        lynx_reply_error(req, 404, "unknown profile '%.64s'", name);
        return;
    }
    lynx_serve_profile(req, kind, 0);
}

static const lynx_endpoint_t endpoint = {
    "pprof-kind", LYNX_EP_DEBUG | LYNX_EP_PATH_ARG, params, handle_kind,
};

int main(int argc, char **argv)
{
    return lynx_endpoint_main(&endpoint, argc, argv);
}
