/*
 * metrics.c - GET /metrics: every live target's statistics in the
 * Prometheus text exposition format (fcgi/metrics.h), for Prometheus and
 * Grafana.  Behind nginx's authentication like everything else; not tied
 * to PROFILING_ENABLED (it reads counters, it does not profile).
 */
#include <stdlib.h>

#include "fcgi/endpoint.h"
#include "fcgi/metrics.h"

static void handle_metrics(lynx_req_t *req)
{
    char *text = NULL;
    size_t len = 0;
    int rc = lynx_metrics_text(lynx_req_config(req)->agent_timeout_ns, &text,
                               &len);

    if (rc != 0) {
        lynx_reply_code(req, rc, "metrics");
        return;
    }
    lynx_reply_bytes(req, 200, "text/plain; version=0.0.4; charset=utf-8",
                     text, len, NULL);
    free(text);
}

static const lynx_endpoint_t endpoint = {
    "metrics", 0, NULL, handle_metrics,
};

int main(int argc, char **argv)
{
    return lynx_endpoint_main(&endpoint, argc, argv);
}
