/*
 * fcgi/cpu_endpoint.c - shared parts of the CPU endpoints (see
 * fcgi/cpu_endpoint.h).
 *
 * Each endpoint process holds one lynx_cpu_t for its life (its symbolizer
 * caches modules across requests); the FastCGI loop stays single-threaded.
 * Housekeeping of the spool (saving sessions that ended or whose target
 * died or stalled, retention, temporary files, tombstones) runs in one
 * place only: a thread of the cpu-start processes
 * (lynx_cpu_housekeeper_main), the endpoints that own writing.  The
 * others never run it, and those that answer GETs (lynx_cpu_reader_main)
 * never write the spool at all: a session that has just ended is waited
 * for, not saved.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fcgi/cpu_endpoint.h"
#include "fcgi/duration.h"
#include "protocol/clock.h"

#define HOUSEKEEP_PERIOD_NS (1000LL * 1000 * 1000)

#define READER_SAVE_WAIT_NS (5LL * 1000 * 1000 * 1000)

static struct {
    pthread_mutex_t lock;   /* guards creation of cpu */
    int reader;             /* answers GETs: never writes the spool */
    lynx_cpu_t *cpu;
    lynx_config_t cfg;      /* as loaded at start (same as every request's) */
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

static lynx_cpu_t *context(const lynx_config_t *cfg)
{
    lynx_cpu_t *c;

    pthread_mutex_lock(&g.lock);
    if (g.cpu == NULL) {
        g.cpu = lynx_cpu_create(cfg->spool_dir, cfg->agent_timeout_ns);
        if (g.cpu != NULL && g.reader) {
            lynx_cpu_set_reader(g.cpu, READER_SAVE_WAIT_NS);
        }
        if (g.cpu != NULL && cfg->host[0] != '\0') {
            lynx_cpu_set_common_label(g.cpu, "host", cfg->host);
        }
    }
    c = g.cpu;
    pthread_mutex_unlock(&g.lock);
    return c;
}

static void *housekeeper(void *arg)
{
    const lynx_config_t *cfg = arg;
    int64_t period = HOUSEKEEP_PERIOD_NS;

    if (cfg->cleanup_interval_ns < period) {
        period = cfg->cleanup_interval_ns;
    }
    for (;;) {
        lynx_cpu_t *c = context(cfg);
        struct timespec pause = {(time_t)(period / 1000000000LL),
                                 (long)(period % 1000000000LL)};
        if (c != NULL) {
            lynx_cpu_housekeep(c, cfg->retention_ns,
                               cfg->cleanup_interval_ns);
        }
        nanosleep(&pause, NULL);
    }
    return NULL;
}

/* Load the configuration and answer the command-line queries: 0 to go
 * on serving, else the exit status. */
static int prepare(const lynx_endpoint_t *ep, int argc, char **argv,
                   int *exit_status)
{
    char err[512];

    if (lynx_config_load(&g.cfg, NULL, err, sizeof(err)) != 0) {
        fprintf(stderr, "%s: %s\n", ep->name, err);
        *exit_status = 2;
        return -1;
    }
    if (argc > 1 && strcmp(argv[1], "--max-profile-seconds") == 0) {
        printf("%lld\n", (long long)((g.cfg.max_profile_duration_ns +
                                      999999999LL) / 1000000000LL));
        *exit_status = 0;
        return -1;
    }
    if (argc > 1 && strcmp(argv[1], "--check-config") == 0) {
        *exit_status = lynx_endpoint_main(ep, argc, argv);
        return -1;
    }
    return 0;
}

int lynx_cpu_endpoint_main(const lynx_endpoint_t *ep, int argc, char **argv)
{
    int status;

    if (prepare(ep, argc, argv, &status) != 0) {
        return status;
    }
    return lynx_endpoint_main(ep, argc, argv);
}

int lynx_cpu_reader_main(const lynx_endpoint_t *ep, int argc, char **argv)
{
    g.reader = 1;
    return lynx_cpu_endpoint_main(ep, argc, argv);
}

int lynx_cpu_housekeeper_main(const lynx_endpoint_t *ep, int argc,
                              char **argv)
{
    pthread_t thread;
    pthread_attr_t attr;
    sigset_t all;
    sigset_t old;
    int status;

    if (prepare(ep, argc, argv, &status) != 0) {
        return status;
    }
    /* The thread takes no signal: they stay with the FastCGI loop. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&thread, &attr, housekeeper, &g.cfg) != 0) {
        fprintf(stderr, "%s: cannot start the housekeeping thread\n",
                ep->name);
    }
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return lynx_endpoint_main(ep, argc, argv);
}

lynx_cpu_t *lynx_cpu_req_context(lynx_req_t *req)
{
    lynx_cpu_t *c = context(lynx_req_config(req));

    if (c == NULL) {
        lynx_reply_error(req, 500, "cannot use the spool directory %s",
                         lynx_req_config(req)->spool_dir);
    }
    return c;
}

const char *lynx_cpu_req_id(lynx_req_t *req)
{
    const char *id = lynx_req_path_arg(req);

    if (!lynx_cpu_id_valid(id)) {
        lynx_reply_error(req, 400,
                         "Invalid session id '%.64s' (expected cpu_ and "
                         "1 to %d digits)", id, LYNX_CPU_ID_DIGITS);
        return NULL;
    }
    return id;
}

int lynx_cpu_req_check_duration(lynx_req_t *req, int64_t duration_ns)
{
    int64_t max = lynx_req_config(req)->max_profile_duration_ns;
    char buf[LYNX_DURATION_FORMAT_SIZE];

    if (duration_ns <= 0) {
        lynx_reply_error(req, 400, "duration must be greater than 0");
        return -1;
    }
    if (duration_ns > max) {
        lynx_duration_format(max, buf, sizeof(buf));
        lynx_reply_error(req, 400, "Maximum profiling duration is %s", buf);
        return -1;
    }
    return 0;
}

int lynx_cpu_req_start(lynx_req_t *req, lynx_cpu_t *c, int64_t duration_ns,
                       uint32_t hz, uint32_t origin, lynx_cpu_session_t *out)
{
    lynx_target_t *t = lynx_req_target(req);
    json_object *o;
    int rc;

    if (t == NULL) {
        return -1;
    }
    rc = lynx_cpu_start(c, lynx_target_name(t), duration_ns, hz, origin, out);
    if (rc == LYNX_ECONFLICT) {
        o = json_object_new_object();
        json_object_object_add(o, "error", json_object_new_string(
                                               lynx_strerror(rc)));
        json_object_object_add(o, "session_id",
                               out->id[0] != '\0'
                                   ? json_object_new_string(out->id)
                                   : NULL);
        lynx_reply_json(req, 409, o);
    } else if (rc == LYNX_ENOTREADY) {
        lynx_reply_error(req, 503, "%s: the previous CPU profile could not "
                         "be saved yet; try again", lynx_target_name(t));
    } else if (rc != 0) {
        lynx_reply_code(req, rc, lynx_target_name(t));
    }
    lynx_target_close(t);
    return rc;
}

const lynx_param_spec_t lynx_cpu_session_params[] = {
    LYNX_CPU_TARGET_PARAM,
    {NULL, 0, NULL, 0, 0},
};

int lynx_cpu_req_check_target(lynx_req_t *req, lynx_cpu_t *c, const char *id)
{
    const lynx_param_t *target = lynx_req_param(req, "target");
    lynx_cpu_session_t s;
    int rc;

    if (!target->present) {
        return 0;
    }
    rc = lynx_cpu_get(c, id, &s);
    if (rc != 0) {
        lynx_cpu_reply_error(req, rc, NULL, NULL);
        return rc;
    }
    if (strcmp(s.target, target->text) != 0) {
        /* Sessions are named by id alone; a target that does not match
         * is a wrong address, like an unknown id. */
        lynx_reply_error(req, 404, "Profile session not found on target "
                         "'%s' (%s is a session of target '%s')",
                         target->text, id, s.target);
        return LYNX_ENOSESSION;
    }
    return 0;
}

void lynx_cpu_reply_error(lynx_req_t *req, int code, const char *what,
                          const lynx_cpu_session_t *s)
{
    const char *state = s != NULL ? lynx_cpu_state_name(s->state) : "";

    switch (code) {
    case LYNX_EBADARG:
        lynx_reply_error(req, 400, "Invalid session id");
        return;
    case LYNX_ENOSESSION:
        lynx_reply_error(req, 404, "Profile session not found");
        return;
    case LYNX_ENOTREADY:
        if (what != NULL && strcmp(what, "stop") == 0) {
            lynx_reply_error(req, 409, "Profile session is not running "
                             "(status %s)", state);
        } else if (what != NULL && strcmp(what, "delete") == 0) {
            lynx_reply_error(req, 409, "Profile session is still running; "
                             "stop it first");
        } else {
            lynx_reply_error(req, 409, "Profile session not completed yet");
        }
        return;
    case LYNX_EDAMAGED:
        lynx_reply_error(req, 500, "Profile session %s is damaged: %s",
                         s != NULL ? s->id : "", s != NULL ? s->error : "");
        return;
    case -ENOSPC:
    case -EDQUOT:
        lynx_reply_error(req, 507, "Profile session %s could not be saved: "
                         "the spool directory is full (%s)",
                         s != NULL ? s->id : "", lynx_strerror(code));
        return;
    case -EAGAIN:
        /* Ended, and the housekeeper has not saved it yet. */
        lynx_reply_header(req, "Retry-After: 1");
        lynx_reply_error(req, 503, "Profile session %s has ended and is "
                         "not saved yet; try again in a second",
                         s != NULL ? s->id : "");
        return;
    case -ENODATA:
        if (s != NULL && s->error[0] != '\0') {
            lynx_reply_error(req, 409, "Profile session %s without profile "
                             "data: %s", state, s->error);
        } else {
            lynx_reply_error(req, 409, "Profile session has no profile data");
        }
        return;
    default:
        lynx_reply_code(req, code, "CPU profile session");
        return;
    }
}

void lynx_cpu_reply_profile(lynx_req_t *req, const lynx_cpu_session_t *s,
                            const uint8_t *data, size_t len,
                            const char *filename)
{
    char name[64];
    time_t secs = (time_t)(s->started_unix_ns / 1000000000LL);
    struct tm tm;

    if (filename == NULL) {
        gmtime_r(&secs, &tm);
        strftime(name, sizeof(name), "cpu_%Y%m%d_%H%M%S.pprof", &tm);
        filename = name;
    }
    lynx_reply_bytes(req, 200, "application/octet-stream", data, len,
                     filename);
}
