/*
 * pprof-symbol.c - /debug/pprof/symbol, pprof's symbolization protocol:
 * GET answers "num_symbols: 1"; POST with a body of addresses
 * "0xADDR+0xADDR..." answers one line "0xADDR name" per address that
 * falls in a function of the target.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/endpoint.h"
#include "client/buf.h"
#include "client/target.h"

static const lynx_param_spec_t params[] = {
    {"target", LYNX_PARAM_NAME, NULL, 0, 0},
    {NULL, 0, NULL, 0, 0},
};

static void handle_symbol(lynx_req_t *req)
{
    const char *body;
    size_t body_len;
    lynx_target_t *t;
    lynx_symbolizer_t *sym;
    lynx_module_t *mods = NULL;
    size_t nmods = 0;
    lynx_buf_t out = LYNX_BUF_INIT;
    const char *p;
    int rc;

    if (strcmp(lynx_req_method(req), "POST") != 0) {
        static const char ok[] = "num_symbols: 1\n";
        lynx_reply_bytes(req, 200, "text/plain; charset=utf-8", ok,
                         sizeof(ok) - 1, NULL);
        return;
    }
    body = lynx_req_body(req, &body_len);
    t = lynx_req_target(req);
    if (t == NULL) {
        return;
    }
    rc = lynx_target_modules(t, &mods, &nmods);
    sym = lynx_target_symbolizer(t);
    lynx_target_close(t);
    if (rc != 0) {
        lynx_reply_code(req, rc, "modules");
        return;
    }
    p = body != NULL ? body : "";
    while (*p != '\0') {
        char *end;
        unsigned long long addr;
        const lynx_module_t *m;
        const char *name;
        char line[1024];
        int n;

        while (*p == '+' || *p == ' ' || *p == '\n' || *p == '\r') {
            p++;
        }
        if (*p == '\0') {
            break;
        }
        errno = 0;
        addr = strtoull(p, &end, 0);
        if (end == p || errno != 0 ||
            (*end != '\0' && *end != '+' && *end != '\n' && *end != '\r' &&
             *end != ' ')) {
            lynx_buf_fini(&out);
            free(mods);
            lynx_reply_error(req, 400, "malformed address list near '%.32s'",
                             p);
            return;
        }
        p = end;
        m = lynx_module_find(mods, nmods, addr);
        name = m != NULL && sym != NULL ? lynx_symbolize_name(sym, m, addr)
                                        : NULL;
        if (name == NULL) {
            continue;
        }
        n = snprintf(line, sizeof(line), "0x%llx %s\n", addr, name);
        if (n < 0 || (size_t)n >= sizeof(line)) {
            continue;
        }
        if (lynx_buf_append(&out, line, (size_t)n) != 0) {
            lynx_buf_fini(&out);
            free(mods);
            lynx_reply_error(req, 500, "out of memory");
            return;
        }
    }
    lynx_reply_bytes(req, 200, "text/plain; charset=utf-8",
                     out.data != NULL ? out.data : "", out.len, NULL);
    lynx_buf_fini(&out);
    free(mods);
}

static const lynx_endpoint_t endpoint = {
    "pprof-symbol", LYNX_EP_DEBUG | LYNX_EP_POST, params, handle_symbol,
};

int main(int argc, char **argv)
{
    return lynx_endpoint_main(&endpoint, argc, argv);
}
