/*
 * client.c - a program that links the installed libprofile (pkg-config
 * libprofile) and calls every function lynxprof.h declares against a live
 * target (argv[1], started by agent_target) with a spool directory
 * (argv[2]).  Prints one line per check, "ok ..." or "FAIL ...", and exits
 * with the number of failures.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <lynxprof.h>

static int failures;

static void check(int cond, const char *what, const char *detail)
{
    printf("%s %s%s%s\n", cond ? "ok" : "FAIL", what, detail ? ": " : "",
           detail ? detail : "");
    if (!cond) {
        failures++;
    }
}

static int64_t mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int main(int argc, char **argv)
{
    const int64_t sec = 1000000000;
    lynx_target_info_t *info = NULL;
    lynx_target_t *t = NULL;
    lynx_memstats_t ms;
    lynx_cpu_t *c;
    lynx_cpu_session_t s, got, *list = NULL;
    uint8_t *data = NULL;
    size_t n = 0, len = 0, found = 0;
    int rc;

    if (argc != 3) {
        fprintf(stderr, "usage: client TARGET SPOOL_DIR\n");
        return 2;
    }
    check(strcmp(lynx_strerror(LYNX_ENOTARGET), "target not running") == 0,
          "lynx_strerror(LYNX_ENOTARGET)", lynx_strerror(LYNX_ENOTARGET));
    check(strcmp(lynx_err_name(LYNX_EPERM), "PERM") == 0 &&
              strcmp(lynx_err_name(0), "OK") == 0,
          "lynx_err_name", lynx_err_name(LYNX_EPERM));

    rc = lynx_targets_list(&info, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        found += strcmp(info[i].name, argv[1]) == 0 && info[i].status == 0;
    }
    free(info);
    check(rc == 0 && found == 1, "lynx_targets_list lists the target",
          lynx_strerror(rc));

    rc = lynx_target_open(argv[1], NULL, &t);
    check(rc == 0, "lynx_target_open", lynx_strerror(rc));
    if (rc != 0) {
        return failures;
    }
    check(strcmp(lynx_target_name(t), argv[1]) == 0 &&
              lynx_target_pid(t) > 0 &&
              lynx_target_started_unix_ns(t) > 0,
          "lynx_target_name, _pid, _started_unix_ns", lynx_target_name(t));
    rc = lynx_target_ping(t, 2 * sec);
    check(rc == 0, "lynx_target_ping", lynx_strerror(rc));
    rc = lynx_target_memstats(t, &ms, 2 * sec);
    check(rc == 0 && ms.pid == lynx_target_pid(t) && ms.resident_bytes > 0,
          "lynx_target_memstats", lynx_strerror(rc));
    lynx_target_close(t);
    lynx_target_close(NULL);
    rc = lynx_target_open("no-such-target", NULL, &t);
    check(rc == LYNX_ENOTARGET && t == NULL, "lynx_target_open of a missing name",
          lynx_err_name(rc));

    c = lynx_cpu_create(argv[2], 2 * sec);
    check(c != NULL && strcmp(lynx_cpu_spool_dir(c), argv[2]) == 0,
          "lynx_cpu_create, lynx_cpu_spool_dir", NULL);
    if (c == NULL) {
        return failures;
    }
    check(lynx_cpu_id_valid("cpu_1") && !lynx_cpu_id_valid("cpu_") &&
              !lynx_cpu_id_valid(NULL),
          "lynx_cpu_id_valid", NULL);
    check(strcmp(lynx_cpu_state_name(LYNX_CPU_CANCELLED), "cancelled") == 0,
          "lynx_cpu_state_name", NULL);

    rc = lynx_cpu_start(c, argv[1], 1 * sec, 100, LYNX_CPU_ORIGIN_API, &s);
    check(rc == 0 && lynx_cpu_id_valid(s.id) && s.state == LYNX_CPU_RUNNING,
          "lynx_cpu_start", lynx_strerror(rc));
    rc = lynx_cpu_start(c, argv[1], 1 * sec, 100, LYNX_CPU_ORIGIN_API, &got);
    check(rc == LYNX_ECONFLICT && strcmp(got.id, s.id) == 0,
          "a second lynx_cpu_start conflicts", lynx_err_name(rc));
    rc = lynx_cpu_get(c, s.id, &got);
    check(rc == 0 && strcmp(got.target, argv[1]) == 0, "lynx_cpu_get",
          lynx_strerror(rc));
    rc = lynx_cpu_wait(c, s.id, mono_ns() + 10 * sec, &got);
    check(rc == 0 && got.state == LYNX_CPU_COMPLETED && got.samples > 0,
          "lynx_cpu_wait: completed with samples", lynx_strerror(rc));
    rc = lynx_cpu_profile(c, s.id, &got, &data, &len);
    check(rc == 0 && len > 2 && data[0] == 0x1f && data[1] == 0x8b,
          "lynx_cpu_profile: gzipped pprof", lynx_strerror(rc));
    free(data);
    rc = lynx_cpu_stop(c, s.id, &got);
    check(rc == LYNX_ENOTREADY, "lynx_cpu_stop of a finished session",
          lynx_err_name(rc));
    rc = lynx_cpu_list(c, argv[1], &list, &n);
    check(rc == 0 && n >= 1 && strcmp(list[0].id, s.id) == 0,
          "lynx_cpu_list", lynx_strerror(rc));
    free(list);
    rc = lynx_cpu_housekeep(c, 3600 * sec, 0);
    check(rc >= 0, "lynx_cpu_housekeep", lynx_strerror(rc));
    rc = lynx_cpu_delete(c, s.id);
    check(rc == 0, "lynx_cpu_delete", lynx_strerror(rc));
    rc = lynx_cpu_get(c, s.id, &got);
    check(rc == LYNX_ENOSESSION, "a deleted session is gone",
          lynx_err_name(rc));
    lynx_cpu_destroy(c);
    lynx_cpu_destroy(NULL);
    return failures;
}
