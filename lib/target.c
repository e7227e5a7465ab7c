/*
 * target.c - libprofile's target API (lynxprof.h): choosing, attaching to
 * and querying profiled processes.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lynx_block_io.h"
#include "lynxprof.h"

#define EXPORT __attribute__((visibility("default")))
#define MAX_LISTED 256

struct lynx_target {
    lynx_block_t *block;
};

EXPORT int lynx_targets_list(lynx_target_info_t **out, size_t *count)
{
    char (*names)[LYNX_NAME_MAX];
    lynx_target_info_t *info;
    size_t n = 0;
    int rc;

    *out = NULL;
    *count = 0;
    names = calloc(MAX_LISTED, LYNX_NAME_MAX);
    if (names == NULL) {
        return -ENOMEM;
    }
    rc = lynx_block_list(names, MAX_LISTED, &n);
    if (rc != 0) {
        free(names);
        return rc;
    }
    info = calloc(n > 0 ? n : 1, sizeof(*info));
    if (info == NULL) {
        free(names);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        lynx_block_t *b;
        memcpy(info[i].name, names[i], LYNX_NAME_MAX);
        rc = lynx_block_attach(names[i], LYNX_ATTACH_ALLOW_DEAD, &b);
        if (rc != 0) {
            info[i].status = rc;
            continue;
        }
        info[i].pid = b->header->pid;
        info[i].started_unix_ns = b->header->started_unix_ns;
        memcpy(info[i].exe, b->header->exe, sizeof(info[i].exe));
        info[i].exe[sizeof(info[i].exe) - 1] = '\0';
        info[i].status = lynx_block_check_alive(b);
        lynx_block_detach(b);
    }
    free(names);
    *out = info;
    *count = n;
    return 0;
}

/* The only live target, when there is exactly one. */
static int only_live(char name[LYNX_NAME_MAX])
{
    lynx_target_info_t *info;
    size_t n;
    size_t live = 0;
    int rc = lynx_targets_list(&info, &n);

    if (rc != 0) {
        return rc;
    }
    for (size_t i = 0; i < n; i++) {
        if (info[i].status == 0) {
            if (live == 0) {
                memcpy(name, info[i].name, LYNX_NAME_MAX);
            }
            live++;
        }
    }
    free(info);
    if (live == 0) {
        return LYNX_ENOTARGET;
    }
    return live == 1 ? 0 : LYNX_EAMBIGUOUS;
}

EXPORT int lynx_target_open(const char *name, const char *fallback,
                            lynx_target_t **out)
{
    char chosen[LYNX_NAME_MAX];
    lynx_target_t *t;
    int rc;

    *out = NULL;
    if (name == NULL || *name == '\0') {
        name = fallback;
    }
    if (name == NULL || *name == '\0') {
        rc = only_live(chosen);
        if (rc != 0) {
            return rc;
        }
        name = chosen;
    }
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return -ENOMEM;
    }
    rc = lynx_block_attach(name, 0, &t->block);
    if (rc != 0) {
        free(t);
        return rc;
    }
    *out = t;
    return 0;
}

EXPORT void lynx_target_close(lynx_target_t *t)
{
    if (t == NULL) {
        return;
    }
    lynx_block_detach(t->block);
    free(t);
}

EXPORT const char *lynx_target_name(const lynx_target_t *t)
{
    return t->block->name;
}

EXPORT int32_t lynx_target_pid(const lynx_target_t *t)
{
    return t->block->header->pid;
}

EXPORT int64_t lynx_target_started_unix_ns(const lynx_target_t *t)
{
    return t->block->header->started_unix_ns;
}

/* Call a command whose whole answer is a fixed-size inline reply. */
static int call_fixed(lynx_target_t *t, uint32_t command, void *reply,
                      size_t reply_len, int64_t timeout_ns)
{
    lynx_call_t call;
    int rc = lynx_mailbox_call(t->block, command, NULL, 0, reply, reply_len,
                               NULL, &call, timeout_ns);

    if (rc != 0) {
        return rc;
    }
    if (call.result != 0) {
        return call.result;
    }
    return call.reply_len == reply_len ? 0 : LYNX_EPROTO;
}

EXPORT int lynx_target_ping(lynx_target_t *t, int64_t timeout_ns)
{
    lynx_ping_reply_t p;
    int rc = call_fixed(t, LYNX_CMD_PING, &p, sizeof(p), timeout_ns);

    if (rc == 0 && p.pid != t->block->header->pid) {
        return LYNX_EPROTO;
    }
    return rc;
}

EXPORT int lynx_target_memstats(lynx_target_t *t, lynx_memstats_t *ms,
                                int64_t timeout_ns)
{
    return call_fixed(t, LYNX_CMD_MEMSTATS, ms, sizeof(*ms), timeout_ns);
}
