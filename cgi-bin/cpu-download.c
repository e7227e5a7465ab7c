/*
 * cpu-download.c - GET /api/v1/profiling/cpu/download/:id[?target=]: the
 * finished session's gzipped pprof as an attachment
 * (cpu_YYYYMMDD_HHMMSS.pprof).
 */
#include <stdlib.h>

#include "fcgi/cpu_endpoint.h"

static void handle_download(lynx_req_t *req)
{
    const char *id = lynx_cpu_req_id(req);
    lynx_cpu_t *c = id != NULL ? lynx_cpu_req_context(req) : NULL;
    lynx_cpu_session_t s;
    uint8_t *data;
    size_t len;
    int rc;

    if (c == NULL) {
        return;
    }
    if (lynx_cpu_req_check_target(req, c, id) != 0) {
        return;
    }
    rc = lynx_cpu_profile(c, id, &s, &data, &len);
    if (rc != 0) {
        lynx_cpu_reply_error(req, rc, NULL, &s);
        return;
    }
    lynx_cpu_reply_profile(req, &s, data, len, NULL);
    free(data);
}

static const lynx_endpoint_t endpoint = {
    "cpu-download", LYNX_EP_ADVANCED | LYNX_EP_PATH_ARG,
    lynx_cpu_session_params,
    handle_download,
};

int main(int argc, char **argv)
{
    return lynx_cpu_reader_main(&endpoint, argc, argv);
}
