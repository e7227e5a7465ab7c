/*
 * fuzz_session.c - one CPU session record of the block (lynx_session_t)
 * as an agent could write it: input = the record.  A record that
 * lynx_cpu_record_check() accepts must have a valid, terminated id, a
 * terminated error, a rate in range and consistent times, and must
 * survive the spool's json (written, then read back equal).
 */
#include "client/cpu_spool.h"
#include "fuzz_common.h"
#include "protocol/block.h"
#include "client/cpu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    lynx_session_t r;
    lynx_cpu_session_t s;
    lynx_cpu_session_t back;
    char *text;
    int rc;

    if (size < sizeof(r)) {
        return 0;
    }
    memcpy(&r, data, sizeof(r));
    rc = lynx_cpu_record_check(&r);
    FUZZ_CHECK(rc == 0 || rc == LYNX_ENOSESSION || rc == LYNX_EPROTO);
    if (rc != 0) {
        return 0;
    }
    FUZZ_CHECK(memchr(r.id, '\0', sizeof(r.id)) != NULL &&
               lynx_cpu_id_valid(r.id));
    FUZZ_CHECK(memchr(r.error, '\0', sizeof(r.error)) != NULL);
    FUZZ_CHECK(r.hz >= LYNX_CPU_HZ_MIN && r.hz <= LYNX_CPU_HZ_MAX);
    FUZZ_CHECK(r.started_unix_ns > 0 && r.duration_ns > 0);
    if (r.state == LYNX_SESSION_RUNNING) {
        return 0; /* never spooled as it is */
    }
    FUZZ_CHECK(r.ended_unix_ns >= r.started_unix_ns);
    /* As the endpoint spools a finished record. */
    memset(&s, 0, sizeof(s));
    memcpy(s.id, r.id, sizeof(s.id));
    snprintf(s.target, sizeof(s.target), "fuzz");
    s.pid = 4242;
    s.state = (int32_t)r.state;
    s.origin = (int32_t)r.origin;
    s.hz = r.hz;
    s.started_unix_ns = r.started_unix_ns;
    s.duration_ns = r.duration_ns;
    s.ended_unix_ns = r.ended_unix_ns;
    s.samples = r.samples;
    s.lost_samples = r.lost_samples;
    s.data_size_bytes = (int64_t)(r.samples >> 1);
    memcpy(s.error, r.error, sizeof(s.error));
    text = lynx_cpu_json_record_text(&s, NULL);
    FUZZ_CHECK(text != NULL);
    rc = lynx_cpu_json_record_parse(text, s.id, &back, NULL, NULL);
    free(text);
    FUZZ_CHECK(rc == 0);
    s.spooled = 1;
    FUZZ_CHECK(fuzz_same_session(&s, &back));
    return 0;
}
