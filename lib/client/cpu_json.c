/*
 * client/cpu_json.c - the one JSON encoder of a CPU session (see
 * client/cpu_json.h).
 *
 * Workload: one document per request or per spooled session, a few dozen
 * fields each.  The fields every form shares are written by one helper, so
 * the spool, the replies and the listing cannot drift apart.
 */
#include <stdint.h>

#include "client/cpu_json.h"
#include "client/json_values.h"

#define ADD(o, k, v) json_object_object_add(o, k, v)

/* Counts come from the target: one beyond int64_t is written as the
 * largest, not as a negative number a reader would refuse. */
static json_object *json_count(uint64_t n)
{
    return json_object_new_int64(n > INT64_MAX ? INT64_MAX : (int64_t)n);
}

/* A time, or null when there is none (<= 0). */
static json_object *json_time_or_null(int64_t unix_ns)
{
    return unix_ns > 0 ? lynx_json_time(unix_ns) : NULL;
}

static const char *origin_name(int32_t origin)
{
    return origin == LYNX_CPU_ORIGIN_DEBUG ? "debug" : "api";
}

/* The spool's record: raw numbers, so that it reads back exactly. */
static void add_record(json_object *o, const lynx_cpu_session_t *s,
                       const cpu_spool_files_t *f)
{
    ADD(o, "pid", json_object_new_int(s->pid));
    ADD(o, "status", json_object_new_string(lynx_cpu_state_name(s->state)));
    ADD(o, "origin", json_object_new_string(origin_name(s->origin)));
    ADD(o, "started_at", json_time_or_null(s->started_unix_ns));
    ADD(o, "ended_at", json_time_or_null(s->ended_unix_ns));
    ADD(o, "started_unix_ns", json_object_new_int64(s->started_unix_ns));
    ADD(o, "ended_unix_ns", json_object_new_int64(s->ended_unix_ns));
    ADD(o, "duration_ns", json_object_new_int64(s->duration_ns));
    ADD(o, "actual_duration_ns",
        json_object_new_int64(s->ended_unix_ns - s->started_unix_ns));
    ADD(o, "hz", json_object_new_int64(s->hz));
    ADD(o, "samples", json_count(s->samples));
    ADD(o, "lost_samples", json_count(s->lost_samples));
    ADD(o, "data_size", s->data_size_bytes >= 0
                            ? json_object_new_int64(s->data_size_bytes)
                            : NULL);
    ADD(o, "error", json_object_new_string(s->error));
    if (f != NULL && f->data_crc32 >= 0) {
        ADD(o, "data_crc32", json_object_new_int64(f->data_crc32));
    }
    if (f != NULL && f->stacks_size >= 0) {
        ADD(o, "stacks_size", json_object_new_int64(f->stacks_size));
        ADD(o, "stacks_crc32", json_object_new_int64(f->stacks_crc32));
    }
}

/* Status: progress as of now, in Go's duration syntax. */
static void add_status(json_object *o, const lynx_cpu_session_t *s,
                       int64_t now_unix_ns)
{
    int done = s->state != LYNX_CPU_RUNNING;
    int64_t end = done ? s->ended_unix_ns : now_unix_ns;
    int64_t elapsed = end - s->started_unix_ns;
    int64_t remaining;
    double progress;

    if (elapsed < 0) {
        elapsed = 0;
    }
    if (elapsed > s->duration_ns && !done) {
        elapsed = s->duration_ns;
    }
    /* Milliseconds are precise enough for people and for the page. */
    elapsed = elapsed / 1000000 * 1000000;
    remaining = done ? 0 : s->duration_ns - elapsed;
    remaining = remaining / 1000000 * 1000000;
    progress = s->state == LYNX_CPU_COMPLETED
                   ? 1.0
                   : (double)elapsed / (double)s->duration_ns;
    if (progress > 1.0) {
        progress = 1.0;
    }
    ADD(o, "pid", json_object_new_int(s->pid));
    ADD(o, "origin", json_object_new_string(origin_name(s->origin)));
    ADD(o, "duration", lynx_json_duration(s->duration_ns));
    ADD(o, "hz", json_object_new_int64(s->hz));
    ADD(o, "started_at", lynx_json_time(s->started_unix_ns));
    ADD(o, "done", json_object_new_boolean(done));
    ADD(o, "status", json_object_new_string(lynx_cpu_state_name(s->state)));
    ADD(o, "elapsed", lynx_json_duration(elapsed));
    ADD(o, "remaining", lynx_json_duration(remaining));
    ADD(o, "progress", lynx_json_double(progress, 3));
    ADD(o, "samples", json_count(s->samples));
    ADD(o, "lost_samples", json_count(s->lost_samples));
    if (done) {
        ADD(o, "ended_at", lynx_json_time(s->ended_unix_ns));
        ADD(o, "data_size", json_object_new_int64(
                                s->data_size_bytes > 0 ? s->data_size_bytes
                                                       : 0));
    }
    if (s->state == LYNX_CPU_FAILED || s->state == LYNX_CPU_DAMAGED) {
        ADD(o, "error", json_object_new_string(s->error[0] != '\0'
                                                   ? s->error
                                                   : "failed"));
    }
    if (s->spool_error != 0) {
        ADD(o, "spool_error",
            json_object_new_string(lynx_strerror(s->spool_error)));
    }
}

static void add_started(json_object *o, const lynx_cpu_session_t *s)
{
    ADD(o, "duration", lynx_json_duration(s->duration_ns));
    ADD(o, "hz", json_object_new_int64(s->hz));
    ADD(o, "started_at", lynx_json_time(s->started_unix_ns));
    ADD(o, "status", json_object_new_string("started"));
}

json_object *lynx_cpu_json(const lynx_cpu_session_t *s, lynx_cpu_form_t form,
                           int64_t now_unix_ns, const cpu_spool_files_t *files)
{
    json_object *o = json_object_new_object();

    if (o == NULL) {
        return NULL;
    }
    ADD(o, "session_id", json_object_new_string(s->id));
    ADD(o, "type", json_object_new_string("cpu"));
    ADD(o, "target", json_object_new_string(s->target));
    switch (form) {
    case LYNX_CPU_FORM_RECORD:
        add_record(o, s, files);
        break;
    case LYNX_CPU_FORM_STATUS:
        add_status(o, s, now_unix_ns);
        break;
    case LYNX_CPU_FORM_STARTED:
        add_started(o, s);
        break;
    }
    return o;
}
