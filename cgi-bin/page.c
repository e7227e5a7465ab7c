/*
 * page.c - GET /profiling[/...]: the web interface, served by nginx from the
 * html directory only when profiling is enabled.
 *
 * nginx passes the path below /profiling/ as LYNX_PAGE; this endpoint checks
 * the gate and the path and hands the file back to nginx with
 * X-Accel-Redirect to an internal location, so nginx still serves the bytes.
 */
#include <string.h>

#include "fcgi/endpoint.h"

#define INTERNAL_PREFIX "/_lynxprof_html/"

/* Only plain relative paths of [A-Za-z0-9._/-] without "..", "//" or a
 * leading dot in any segment. */
static int page_path_ok(const char *p)
{
    const char *seg = p;

    if (strlen(p) > 200) {
        return 0;
    }
    for (const char *c = p;; c++) {
        if (*c == '/' || *c == '\0') {
            if (c == seg && *c == '/') {
                return 0; /* empty segment */
            }
            if (seg[0] == '.') {
                return 0;
            }
            if (*c == '\0') {
                return 1;
            }
            seg = c + 1;
            continue;
        }
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
              (*c >= '0' && *c <= '9') || *c == '.' || *c == '_' ||
              *c == '-')) {
            return 0;
        }
    }
}

static void handle_page(lynx_req_t *req)
{
    const char *page = lynx_req_env(req, "LYNX_PAGE");
    const char *uri = lynx_req_env(req, "DOCUMENT_URI");
    size_t ulen = uri != NULL ? strlen(uri) : 0;

    /* "/profiling" itself: send the browser to "/profiling/" so that the
     * page's relative URLs resolve below it (also under a sub-path). */
    if (ulen > 0 && uri[ulen - 1] != '/' && (page == NULL || *page == '\0')) {
        lynx_reply_header(req, "Location: profiling/");
        lynx_reply_error(req, 301, "moved to profiling/");
        return;
    }
    if (page == NULL || *page == '\0') {
        page = "index.html";
    }
    if (!page_path_ok(page)) {
        lynx_reply_error(req, 404, "no such page");
        return;
    }
    lynx_reply_header(req, "X-Accel-Redirect: %s%s", INTERNAL_PREFIX, page);
    lynx_reply_bytes(req, 200, NULL, "", 0, NULL);
}

/* The page keeps the chosen target in its address (?target=NAME), so a
 * reload or a shared link shows the same process: the script reads it,
 * the server only has to accept it. */
static const lynx_param_spec_t params[] = {
    {"target", LYNX_PARAM_NAME, NULL, 0, 0},
    {NULL, 0, NULL, 0, 0},
};

static const lynx_endpoint_t endpoint = {
    "page", LYNX_EP_ADVANCED, params, handle_page,
};

int main(int argc, char **argv)
{
    return lynx_endpoint_main(&endpoint, argc, argv);
}
