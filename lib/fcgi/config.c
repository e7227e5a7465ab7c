/*
 * fcgi/config.c - reading lynx_config_t from the environment (see
 * fcgi/config.h).  Runs once when an endpoint binary starts.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/attach.h"
#include "fcgi/config.h"
#include "fcgi/duration.h"

#define LYNX_HOST_LABEL_CHARS                                                  \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-"

#ifndef LYNX_DEFAULT_SPOOL_DIR
#define LYNX_DEFAULT_SPOOL_DIR "/var/lib/lynxprof"
#endif

/* An absolute directory of variable `var` into out (size bytes). */
static int get_dir(const char *(*lookup)(const char *), const char *var,
                   char *out, size_t size, char *err, size_t err_size)
{
    const char *v = lookup(var);

    if (v == NULL) {
        return 0;
    }
    if (v[0] != '/' || strlen(v) >= size) {
        snprintf(err, err_size,
                 "%s: '%s' must be an absolute path shorter than %zu bytes",
                 var, v, size);
        return -EINVAL;
    }
    snprintf(out, size, "%s", v);
    return 0;
}

static const char *env_lookup(const char *name)
{
    return getenv(name);
}

static int get_bool(const char *(*lookup)(const char *), const char *var,
                    int *out, char *err, size_t err_size)
{
    const char *v = lookup(var);

    if (v == NULL) {
        return 0;
    }
    if (lynx_bool_parse(v, out) != 0) {
        snprintf(err, err_size,
                 "%s: invalid boolean '%s' (use true or false)", var, v);
        return -EINVAL;
    }
    return 0;
}

static int get_duration(const char *(*lookup)(const char *), const char *var,
                        int64_t *out, char *err, size_t err_size)
{
    const char *v = lookup(var);
    int64_t ns;

    if (v == NULL) {
        return 0;
    }
    if (lynx_duration_parse(v, &ns) != 0) {
        snprintf(err, err_size,
                 "%s: invalid duration '%s' (use Go syntax such as 30s, "
                 "5m, 1h30m)", var, v);
        return -EINVAL;
    }
    if (ns <= 0) {
        snprintf(err, err_size, "%s: duration '%s' must be greater than 0",
                 var, v);
        return -EINVAL;
    }
    *out = ns;
    return 0;
}

/* LYNXPROF_HOST, else the host name, into out (size bytes). */
static int get_host(const char *(*lookup)(const char *), char *out,
                    size_t size, char *err, size_t err_size)
{
    const char *v = lookup("LYNXPROF_HOST");
    size_t len;

    if (v == NULL) {
        /* A name that gethostname() truncated, or one with characters
         * that are not allowed, gives no label rather than a wrong one. */
        if (gethostname(out, size) != 0 || strnlen(out, size) == size ||
            strspn(out, LYNX_HOST_LABEL_CHARS) != strlen(out)) {
            out[0] = '\0';
        }
        return 0;
    }
    len = strlen(v);
    if (len >= size || strspn(v, LYNX_HOST_LABEL_CHARS) != len) {
        snprintf(err, err_size,
                 "LYNXPROF_HOST: invalid host label '%.300s' (0-%zu of A-Z "
                 "a-z 0-9 . _ : -)", v, size - 1);
        return -EINVAL;
    }
    snprintf(out, size, "%s", v);
    return 0;
}

int lynx_config_load(lynx_config_t *cfg, const char *(*lookup)(const char *),
                     char *err, size_t err_size)
{
    const char *v;
    int rc;

    if (lookup == NULL) {
        lookup = env_lookup;
    }
    memset(cfg, 0, sizeof(*cfg));
    cfg->max_profile_duration_ns = 5LL * 60 * 1000000000LL;
    cfg->cleanup_interval_ns = 5LL * 60 * 1000000000LL;
    cfg->retention_ns = 3600LL * 1000000000LL;
    cfg->agent_timeout_ns = 5LL * 1000000000LL;
    snprintf(cfg->spool_dir, sizeof(cfg->spool_dir), "%s",
             LYNX_DEFAULT_SPOOL_DIR);
    snprintf(cfg->debug_dir, sizeof(cfg->debug_dir), "%s",
             LYNX_DEFAULT_DEBUG_DIR);
    err[0] = '\0';

    rc = get_bool(lookup, "PROFILING_ENABLED", &cfg->profiling_enabled, err,
                  err_size);
    if (rc == 0) {
        rc = get_bool(lookup, "SERVER_PRODUCTION", &cfg->server_production,
                      err, err_size);
    }
    if (rc == 0) {
        rc = get_duration(lookup, "MAX_PROFILE_DURATION",
                          &cfg->max_profile_duration_ns, err, err_size);
    }
    if (rc == 0) {
        rc = get_duration(lookup, "PROFILE_CLEANUP_INTERVAL",
                          &cfg->cleanup_interval_ns, err, err_size);
    }
    if (rc == 0) {
        rc = get_duration(lookup, "LYNXPROF_RETENTION", &cfg->retention_ns,
                          err, err_size);
    }
    if (rc == 0) {
        rc = get_duration(lookup, "LYNXPROF_TIMEOUT", &cfg->agent_timeout_ns,
                          err, err_size);
    }
    if (rc != 0) {
        return rc;
    }
    v = lookup("LYNXPROF_TARGET");
    if (v != NULL && *v != '\0') {
        if (!lynx_name_valid(v)) {
            snprintf(err, err_size,
                     "LYNXPROF_TARGET: invalid target name '%s' (1-63 of "
                     "A-Z a-z 0-9 . _ -)", v);
            return -EINVAL;
        }
        snprintf(cfg->default_target, sizeof(cfg->default_target), "%s", v);
    }
    rc = get_host(lookup, cfg->host, sizeof(cfg->host), err, err_size);
    if (rc != 0) {
        return rc;
    }
    rc = get_dir(lookup, "LYNXPROF_SPOOL_DIR", cfg->spool_dir,
                 sizeof(cfg->spool_dir), err, err_size);
    if (rc == 0) {
        rc = get_dir(lookup, "LYNXPROF_DEBUG_DIR", cfg->debug_dir,
                     sizeof(cfg->debug_dir), err, err_size);
    }
    return rc;
}
