/*
 * fcgi/config.h - configuration of the endpoint binaries, read once at
 * start from their environment.
 *
 *   PROFILING_ENABLED        bool, default false: the advanced API
 *                            (everything under /api/v1/profiling) and /profiling
 *   SERVER_PRODUCTION        bool, default false: /debug/pprof answers 404
 *                            in production unless profiling is enabled
 *   MAX_PROFILE_DURATION     duration > 0, default 5m
 *   PROFILE_CLEANUP_INTERVAL duration > 0, default 5m
 *   LYNXPROF_RETENTION       duration > 0, default 1h: how long finished
 *                            sessions and their profiles are kept
 *   LYNXPROF_TIMEOUT         duration > 0, default 5s: how long an endpoint
 *                            waits for the agent to answer a command
 *   LYNXPROF_TARGET          target name used when a request names none
 *   LYNXPROF_SPOOL_DIR       absolute directory for finished profiles
 *   LYNXPROF_HOST            the value of the "host" label on every
 *                            sample of every pprof profile served, default
 *                            this machine's host name; 1-255 of A-Z a-z
 *                            0-9 . _ : -, or empty for no such label
 *   LYNXPROF_DEBUG_DIR       absolute directory, default /usr/lib/debug:
 *                            where separate debug files are looked up
 *                            (its .build-id/ tree, and the mirror of the
 *                            binaries' directories; client/debuginfo.h)
 *
 * Booleans and durations use Go's syntax (strconv.ParseBool,
 * time.ParseDuration).  A value that does not parse is an error naming the
 * variable and the value: the binary must refuse to start, never fall back.
 */
#ifndef LYNX_FCGI_CONFIG_H
#define LYNX_FCGI_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#include "client/debuginfo.h"
#include "protocol/block.h"

#define LYNX_SPOOL_DIR_MAX 256
#define LYNX_HOST_LABEL_MAX 256

typedef struct lynx_config {
    int profiling_enabled;            /* 0 or 1 */
    int server_production;            /* 0 or 1 */
    int64_t max_profile_duration_ns;  /* > 0 */
    int64_t cleanup_interval_ns;      /* > 0 */
    int64_t retention_ns;             /* > 0 */
    int64_t agent_timeout_ns;         /* > 0 */
    char default_target[LYNX_NAME_MAX];     /* "" = none */
    char spool_dir[LYNX_SPOOL_DIR_MAX];     /* absolute path */
    char debug_dir[LYNX_DEBUG_DIR_MAX];     /* absolute path */
    char host[LYNX_HOST_LABEL_MAX];   /* "host" label; "" = none */
} lynx_config_t;

/* Fill cfg from a getenv-like lookup (NULL: the process environment).
 * Returns 0, or -EINVAL with a one-line message in err naming the variable
 * and its value.  cfg is left with defaults for the variables after the bad
 * one; callers must not use it on error.  Thread-safe if lookup is. */
int lynx_config_load(lynx_config_t *cfg, const char *(*lookup)(const char *),
                     char *err, size_t err_size);

#endif
