/*
 * pprof-cmdline.c - GET /debug/pprof/cmdline: the target's command line,
 * arguments separated by NUL bytes, as Go writes it.
 */
#include <string.h>

#include "client/target.h"
#include "fcgi/endpoint.h"

static const lynx_param_spec_t params[] = {
    {"target", LYNX_PARAM_NAME, NULL, 0, 0},
    {NULL, 0, NULL, 0, 0},
};

static void handle_cmdline(lynx_req_t *req)
{
    lynx_target_t *t = lynx_req_target(req);
    const lynx_block_header_t *h;
    char buf[sizeof(h->cmdline)];
    size_t len;

    if (t == NULL) {
        return;
    }
    h = lynx_target_block(t)->header;
    /* Written by the target: bound the length ourselves. */
    len = h->cmdline_len;
    if (len > sizeof(h->cmdline)) {
        len = sizeof(h->cmdline);
    }
    memcpy(buf, h->cmdline, len);
    /* /proc/self/cmdline ends every argument with NUL; Go joins them. */
    if (len > 0 && buf[len - 1] == '\0') {
        len--;
    }
    lynx_reply_bytes(req, 200, "text/plain; charset=utf-8", buf, len, NULL);
    lynx_target_close(t);
}

static const lynx_endpoint_t endpoint = {
    "pprof-cmdline", LYNX_EP_DEBUG, params, handle_cmdline,
};

int main(int argc, char **argv)
{
    return lynx_endpoint_main(&endpoint, argc, argv);
}
