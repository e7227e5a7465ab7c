/*
 * client/cpu_json.c - the one JSON encoder of a CPU session, and the
 * parser of the one form that is read back, the spool's record (see
 * client/cpu_json.h).
 *
 * Workload: one document per request or per spooled session, a few dozen
 * fields each.  The fields every form shares are written by one helper, so
 * the spool, the replies and the listing cannot drift apart.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/cpu_json.h"
#include "client/json_values.h"
#include "protocol/block.h"

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

/* The states a saved session record may carry. */
static const int saved_states[] = {LYNX_CPU_COMPLETED, LYNX_CPU_CANCELLED,
                                   LYNX_CPU_FAILED};

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
        ADD(o, "saved", json_object_new_boolean(s->spooled));
    }
    if (s->state == LYNX_CPU_FAILED || s->state == LYNX_CPU_DAMAGED) {
        ADD(o, "error", json_object_new_string(s->error[0] != '\0'
                                                   ? s->error
                                                   : "failed"));
    }
    if (s->spool_error != 0 && s->spool_error != -EAGAIN) {
        /* -EAGAIN: not saved yet, which "saved" says. */
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

/* ---- the spool's record, and back ------------------------------------------- */

char *lynx_cpu_json_record_text(const lynx_cpu_session_t *s,
                                const cpu_spool_files_t *f)
{
    json_object *o = lynx_cpu_json(s, LYNX_CPU_FORM_RECORD, 0, f);
    char *text;

    if (o == NULL) {
        return NULL;
    }
    text = strdup(json_object_to_json_string_ext(
        o, JSON_C_TO_STRING_PRETTY | JSON_C_TO_STRING_NOSLASHESCAPE));
    json_object_put(o);
    return text;
}

static int get_i64(json_object *o, const char *key, int64_t *out)
{
    json_object *v;

    if (!json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_int)) {
        return -1;
    }
    *out = json_object_get_int64(v);
    return 0;
}

static int get_str(json_object *o, const char *key, char *out, size_t size)
{
    json_object *v;
    const char *s;

    if (!json_object_object_get_ex(o, key, &v) ||
        !json_object_is_type(v, json_type_string)) {
        return -1;
    }
    s = json_object_get_string(v);
    if (strlen(s) >= size) {
        return -1;
    }
    snprintf(out, size, "%s", s);
    return 0;
}

/* An optional non-negative integer field below 2^32 (a CRC) or any
 * non-negative one (a size); -1 when absent, -2 when invalid. */
static int64_t get_opt(json_object *o, const char *key, int is_crc)
{
    int64_t v;

    if (!json_object_object_get_ex(o, key, NULL)) {
        return -1;
    }
    if (get_i64(o, key, &v) != 0 || v < 0 || (is_crc && v > UINT32_MAX)) {
        return -2;
    }
    return v;
}

int lynx_cpu_json_record_parse(const char *text, const char *id,
                               lynx_cpu_session_t *s, cpu_spool_files_t *f,
                               const char **why)
{
    json_object *o = json_tokener_parse(text);
    json_object *v;
    char status[32];
    char origin[16];
    int64_t pid, hz, samples, lost;
    cpu_spool_files_t f_unused;
    const char *why_unused;
    int rc = LYNX_EPROTO;

    if (f == NULL) {
        f = &f_unused;
    }
    if (why == NULL) {
        why = &why_unused;
    }
    memset(s, 0, sizeof(*s));
    *why = "session record is not a JSON object";
    if (o == NULL || !json_object_is_type(o, json_type_object)) {
        goto out;
    }
    *why = "session record has missing or invalid fields";
    if (get_str(o, "session_id", s->id, sizeof(s->id)) != 0 ||
        strcmp(s->id, id) != 0 ||
        get_str(o, "target", s->target, sizeof(s->target)) != 0 ||
        get_str(o, "status", status, sizeof(status)) != 0 ||
        get_str(o, "origin", origin, sizeof(origin)) != 0 ||
        get_str(o, "error", s->error, sizeof(s->error)) != 0 ||
        get_i64(o, "pid", &pid) != 0 || get_i64(o, "hz", &hz) != 0 ||
        get_i64(o, "samples", &samples) != 0 ||
        get_i64(o, "lost_samples", &lost) != 0 ||
        get_i64(o, "started_unix_ns", &s->started_unix_ns) != 0 ||
        get_i64(o, "ended_unix_ns", &s->ended_unix_ns) != 0 ||
        get_i64(o, "duration_ns", &s->duration_ns) != 0) {
        goto out;
    }
    /* The names the encoder above writes; only ended sessions are saved. */
    s->state = LYNX_CPU_RUNNING;
    for (size_t i = 0; i < sizeof(saved_states) / sizeof(saved_states[0]);
         i++) {
        if (strcmp(status, lynx_cpu_state_name(saved_states[i])) == 0) {
            s->state = saved_states[i];
        }
    }
    if (s->state == LYNX_CPU_RUNNING) {
        goto out;
    }
    s->origin = strcmp(origin, origin_name(LYNX_CPU_ORIGIN_DEBUG)) == 0
                    ? LYNX_CPU_ORIGIN_DEBUG
                    : LYNX_CPU_ORIGIN_API;
    if (pid <= 0 || pid > INT32_MAX || hz < LYNX_CPU_HZ_MIN ||
        hz > LYNX_CPU_HZ_MAX || samples < 0 || lost < 0 ||
        s->started_unix_ns <= 0 || s->duration_ns <= 0 ||
        s->ended_unix_ns < s->started_unix_ns) {
        goto out;
    }
    s->pid = (int32_t)pid;
    s->hz = (uint32_t)hz;
    s->samples = (uint64_t)samples;
    s->lost_samples = (uint64_t)lost;
    s->data_size_bytes = -1;
    if (json_object_object_get_ex(o, "data_size", &v) && v != NULL) {
        if (!json_object_is_type(v, json_type_int) ||
            json_object_get_int64(v) < 0) {
            goto out;
        }
        s->data_size_bytes = json_object_get_int64(v);
    }
    f->data_crc32 = get_opt(o, "data_crc32", 1);
    f->stacks_size = get_opt(o, "stacks_size", 0);
    f->stacks_crc32 = get_opt(o, "stacks_crc32", 1);
    if (f->data_crc32 == -2 || f->stacks_size == -2 ||
        f->stacks_crc32 == -2 || (f->stacks_size >= 0) !=
                                     (f->stacks_crc32 >= 0)) {
        goto out;
    }
    s->spooled = 1;
    rc = 0;
out:
    json_object_put(o);
    if (rc != 0) {
        memset(s, 0, sizeof(*s));
    }
    return rc;
}
