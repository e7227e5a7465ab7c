/*
 * pprof-index.c - GET /debug/pprof/: the index of profiles like Go's
 * (HTML): every kind of the registry with its current count, CPU profile,
 * cmdline and symbol, links with ?debug=1 and the full thread dump, and a
 * description of each.  ?format=json gives the same as JSON.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi/endpoint.h"
#include "client/profiles.h"

static const lynx_param_spec_t params[] = {
    {"target", LYNX_PARAM_NAME, NULL, 0, 0},
    {"format", LYNX_PARAM_STRING, "html", 0, 0},
    {NULL, 0, NULL, 0, 0},
};

typedef struct entry {
    const char *name;
    const char *description;
    int64_t count;          /* -1: none shown */
    int has_debug;          /* link with ?debug=1 */
} entry_t;

static const entry_t extras[] = {
    {"cmdline", "The command line of the target process", -1, 0},
    {"profile",
     "CPU profile. You can specify the duration in the seconds GET "
     "parameter. After you get the profile file, use the go tool pprof "
     "command to investigate the profile.",
     -1, 0},
    {"symbol",
     "Maps program counters to function names (pprof's symbolization "
     "protocol: GET, or POST 0xADDR+0xADDR...)",
     -1, 0},
};

#define MAX_ENTRIES 32

static int by_name(const void *a, const void *b)
{
    return strcmp(((const entry_t *)a)->name, ((const entry_t *)b)->name);
}

static size_t collect(lynx_req_t *req, lynx_target_t *t, entry_t *e)
{
    size_t nkinds;
    const lynx_profile_kind_t *const *kinds = lynx_profile_kinds(&nkinds);
    size_t n = 0;

    for (size_t i = 0; i < nkinds && n < MAX_ENTRIES; i++) {
        int64_t count = -1;
        if (kinds[i]->count != NULL &&
            kinds[i]->count(t, lynx_req_config(req)->agent_timeout_ns,
                            &count) != 0) {
            count = -1;
        }
        e[n++] = (entry_t){kinds[i]->name, kinds[i]->description, count, 1};
    }
    for (size_t i = 0; i < sizeof(extras) / sizeof(extras[0]); i++) {
        e[n++] = extras[i];
    }
    /* Go's index is alphabetical. */
    qsort(e, n, sizeof(*e), by_name);
    return n;
}

static void reply_json(lynx_req_t *req, lynx_target_t *t, const entry_t *e,
                       size_t n, const char *q)
{
    json_object *root = json_object_new_object();
    json_object *arr = json_object_new_array();
    char href[160];

    json_object_object_add(root, "target",
                           json_object_new_string(lynx_target_name(t)));
    json_object_object_add(root, "pid",
                           json_object_new_int(lynx_target_pid(t)));
    for (size_t i = 0; i < n; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "name", json_object_new_string(e[i].name));
        json_object_object_add(o, "count", lynx_json_count(e[i].count));
        json_object_object_add(o, "description",
                               json_object_new_string(e[i].description));
        snprintf(href, sizeof(href), "/debug/pprof/%s%s%s", e[i].name,
                 *q ? "?" : "", q);
        json_object_object_add(o, "href", json_object_new_string(href));
        if (e[i].has_debug) {
            snprintf(href, sizeof(href), "/debug/pprof/%s?debug=1%s%s",
                     e[i].name, *q ? "&" : "", q);
            json_object_object_add(o, "debug_href",
                                   json_object_new_string(href));
        }
        json_object_array_add(arr, o);
    }
    json_object_object_add(root, "profiles", arr);
    snprintf(href, sizeof(href), "/debug/pprof/goroutine?debug=2%s%s",
             *q ? "&" : "", q);
    json_object_object_add(root, "thread_dump_href",
                           json_object_new_string(href));
    lynx_reply_json(req, 200, root);
}

static void reply_html(lynx_req_t *req, lynx_target_t *t, const entry_t *e,
                       size_t n, const char *q)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    if (f == NULL) {
        lynx_reply_error(req, 500, "out of memory");
        return;
    }
    fprintf(f,
            "<html>\n<head>\n<title>/debug/pprof/</title>\n<style>\n"
            ".profile-name{\n\tdisplay:inline-block;\n\twidth:6rem;\n}\n"
            "</style>\n</head>\n<body>\n/debug/pprof/ &mdash; target "
            "<b>%s</b> (pid %d)\n<br>\n<p>Set debug=1 as a query parameter "
            "to export in legacy text format</p>\n<br>\nTypes of profiles "
            "available:\n<table>\n<thead><td>Count</td><td>Profile</td>"
            "</thead>\n",
            lynx_target_name(t), (int)lynx_target_pid(t));
    for (size_t i = 0; i < n; i++) {
        char count[32] = "";
        if (e[i].count >= 0) {
            snprintf(count, sizeof(count), "%" PRId64, e[i].count);
        }
        if (e[i].has_debug) {
            fprintf(f, "<tr><td>%s</td><td><a href='%s?debug=1%s%s'>%s</a>"
                       "</td></tr>\n",
                    count, e[i].name, *q ? "&amp;" : "", q, e[i].name);
        } else {
            fprintf(f, "<tr><td>%s</td><td><a href='%s%s%s'>%s</a></td>"
                       "</tr>\n",
                    count, e[i].name, *q ? "?" : "", q, e[i].name);
        }
    }
    fprintf(f, "</table>\n<a href='goroutine?debug=2%s%s'>full goroutine "
               "stack dump</a> (every thread: tid, name, state, frames)\n"
               "<br>\n<p>\nProfile Descriptions:\n<ul>\n",
            *q ? "&amp;" : "", q);
    for (size_t i = 0; i < n; i++) {
        fprintf(f, "<li><div class=profile-name>%s: </div> %s</li>\n",
                e[i].name, e[i].description);
    }
    fprintf(f, "</ul>\n</p>\n</body>\n</html>\n");
    fclose(f);
    lynx_reply_bytes(req, 200, "text/html; charset=utf-8", buf, len, NULL);
    free(buf);
}

static void handle_index(lynx_req_t *req)
{
    const lynx_param_t *format = lynx_req_param(req, "format");
    const lynx_param_t *target = lynx_req_param(req, "target");
    entry_t e[MAX_ENTRIES + 8];
    char q[96] = "";
    lynx_target_t *t;
    size_t n;
    int json = strcmp(format->text, "json") == 0;

    if (!json && strcmp(format->text, "html") != 0) {
        lynx_reply_error(req, 400, "invalid format '%.32s': use html or json",
                         format->text);
        return;
    }
    t = lynx_req_target(req);
    if (t == NULL) {
        return;
    }
    if (target->present) {
        /* Names are [A-Za-z0-9._-]: safe in a URL and in HTML. */
        snprintf(q, sizeof(q), "target=%s", target->text);
    }
    n = collect(req, t, e);
    if (json) {
        reply_json(req, t, e, n, q);
    } else {
        reply_html(req, t, e, n, q);
    }
    lynx_target_close(t);
}

static const lynx_endpoint_t endpoint = {
    "pprof-index", LYNX_EP_DEBUG, params, handle_index,
};

int main(int argc, char **argv)
{
    return lynx_endpoint_main(&endpoint, argc, argv);
}
