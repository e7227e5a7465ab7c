/*
 * pprof-profile.c - GET /debug/pprof/profile?seconds=30&hz=100&target=: a
 * CPU profile taken synchronously, as Go's net/http/pprof serves it, so
 * that `go tool pprof URL` works.  The session is an ordinary one (origin
 * "debug"): it blocks other starts while it runs, is listed, and ends on
 * its own even if the client goes away.
 */
#include <stdlib.h>

#include "fcgi/cpu_endpoint.h"
#include "protocol/clock.h"

#define GRACE_NS (15LL * 1000 * 1000 * 1000) /* beyond the duration */

static const lynx_param_spec_t params[] = {
    {"seconds", LYNX_PARAM_INT, "30", 0, 0},
    {"hz", LYNX_PARAM_INT, "100", LYNX_CPU_HZ_MIN, LYNX_CPU_HZ_MAX},
    {"target", LYNX_PARAM_NAME, NULL, 0, 0},
    {NULL, 0, NULL, 0, 0},
};

static void handle_profile(lynx_req_t *req)
{
    int64_t seconds = lynx_req_param(req, "seconds")->i;
    uint32_t hz = (uint32_t)lynx_req_param(req, "hz")->i;
    int64_t max_s = lynx_req_config(req)->max_profile_duration_ns /
                    1000000000LL;
    lynx_cpu_t *c = lynx_cpu_req_context(req);
    lynx_cpu_session_t s;
    uint8_t *data;
    size_t len;
    int rc;

    if (c == NULL) {
        return;
    }
    if (seconds <= 0) {
        lynx_reply_error(req, 400, "seconds must be greater than 0");
        return;
    }
    if (lynx_cpu_req_check_duration(
            req, seconds > max_s ? INT64_MAX : seconds * 1000000000LL) != 0 ||
        lynx_cpu_req_start(req, c, seconds * 1000000000LL, hz,
                           LYNX_ORIGIN_DEBUG, &s) != 0) {
        return;
    }
    rc = lynx_cpu_wait(c, s.id,
                       lynx_mono_ns() + seconds * 1000000000LL + GRACE_NS, &s);
    if (rc == LYNX_ETIMEOUT) {
        lynx_cpu_stop(c, s.id, &s);
        lynx_reply_error(req, 504, "the CPU profile did not end in time");
        return;
    }
    if (rc == 0 && s.state == LYNX_CPU_FAILED) {
        lynx_reply_error(req, 503, "CPU profile failed: %s", s.error);
        return;
    }
    if (rc == 0) {
        rc = lynx_cpu_profile(c, s.id, &s, &data, &len);
    }
    if (rc != 0) {
        lynx_cpu_reply_error(req, rc, NULL, &s);
        return;
    }
    lynx_cpu_reply_profile(req, &s, data, len, "profile");
    free(data);
}

static const lynx_endpoint_t endpoint = {
    "pprof-profile", LYNX_EP_DEBUG | LYNX_EP_ACTS, params, handle_profile,
};

int main(int argc, char **argv)
{
    return lynx_cpu_endpoint_main(&endpoint, argc, argv);
}
