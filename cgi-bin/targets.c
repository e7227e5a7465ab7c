/*
 * targets.c - GET /api/v1/profiling/targets: every process on this host
 * that carries the agent, with pid, start time and state (and, for one that
 * cannot be used, what to do about it).
 */
#include <stdlib.h>

#include "fcgi/endpoint.h"
#include "fcgi/report.h"
#include "fcgi/target_error.h"

static void handle_targets(lynx_req_t *req)
{
    const lynx_config_t *cfg = lynx_req_config(req);
    lynx_target_info_t *info;
    json_object *root;
    json_object *list;
    size_t n;
    int rc = lynx_targets_list(&info, &n);

    if (rc != 0) {
        lynx_reply_code(req, rc, "listing targets");
        return;
    }
    root = json_object_new_object();
    list = json_object_new_array();
    for (size_t i = 0; i < n; i++) {
        json_object *o = lynx_target_info_json(&info[i]);
        char why[LYNX_TARGET_ERROR_MAX];

        /* A block that cannot be used says how to fix it, as a request
         * naming that target would. */
        if (o != NULL && info[i].status != 0) {
            lynx_target_error_explain(info[i].status, info[i].name, 0, why,
                                      sizeof(why));
            json_object_object_add(o, "error", json_object_new_string(why));
        }
        json_object_array_add(list, o);
    }
    json_object_object_add(root, "targets", list);
    json_object_object_add(root, "default_target",
                           cfg->default_target[0] != '\0'
                               ? json_object_new_string(cfg->default_target)
                               : NULL);
    json_object_object_add(root, "max_profile_duration",
                           lynx_json_duration(cfg->max_profile_duration_ns));
    free(info);
    lynx_reply_json(req, 200, root);
}

static const lynx_endpoint_t endpoint = {
    "targets", LYNX_EP_ADVANCED, NULL, handle_targets,
};

int main(int argc, char **argv)
{
    return lynx_endpoint_main(&endpoint, argc, argv);
}
