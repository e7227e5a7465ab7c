/*
 * memory.c - GET /api/v1/profiling/memory: the target's memory statistics
 * as JSON (fields in docs/API.md).  Served from the snapshot the agent
 * publishes when it is at most max_age old, else asked of the agent.
 */
#include <errno.h>

#include "fcgi/endpoint.h"
#include "fcgi/report.h"

static const lynx_param_spec_t params[] = {
    {"target", LYNX_PARAM_NAME, NULL, 0, 0},
    {"max_age", LYNX_PARAM_DURATION, "1s", 0, 60LL * 1000000000},
    {NULL, 0, NULL, 0, 0},
};

static void handle_memory(lynx_req_t *req)
{
    lynx_target_t *t = lynx_req_target(req);
    lynx_memstats_t ms;
    const char *text;
    size_t len;
    int rc;

    if (t == NULL) {
        return;
    }
    rc = lynx_target_memstats_fresh(t, &ms,
                                    lynx_req_param(req, "max_age")->i,
                                    lynx_req_config(req)->agent_timeout_ns);
    if (rc != 0) {
        lynx_reply_code(req, rc, lynx_target_name(t));
    } else {
        text = lynx_memstats_text(&ms, lynx_target_name(t),
                                  lynx_target_started_unix_ns(t), &len);
        if (text == NULL) {
            lynx_reply_code(req, -ENOMEM, NULL);
        } else {
            lynx_reply_bytes(req, 200, "application/json", text, len, NULL);
        }
    }
    lynx_target_close(t);
}

static const lynx_endpoint_t endpoint = {
    "memory", LYNX_EP_ADVANCED, params, handle_memory,
};

int main(int argc, char **argv)
{
    return lynx_endpoint_main(&endpoint, argc, argv);
}
