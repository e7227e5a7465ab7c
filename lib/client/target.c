/*
 * client/target.c - libprofile's target API (lynxprof.h): choosing, attaching to
 * and querying profiled processes.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client/attach.h"
#include "client/memsnap.h"
#include "lynxprof.h"
#include <stdio.h>

#define EXPORT __attribute__((visibility("default")))
#define MAX_LISTED 256

struct lynx_target {
    lynx_block_t *block;
    int cache_slot;          /* index in the attach cache, or -1 */
};

/* ---- attach cache ----------------------------------------------------------
 * An endpoint process answers many requests for the same few targets;
 * mapping a block costs an open, an mmap of its whole size and an munmap
 * per request.  Attached blocks are kept and reused while the object at
 * their path is the same file (device and inode) with the size it had at
 * attach and no truncation was caught in its mapping (fstat at every
 * reuse); the header and geometry validated at attach are the endpoint's
 * own copy, which nobody else can change.  Anything else is attached and
 * validated afresh.
 * Guarded by cache_lock; an entry is lent to one user at a time. */

#define CACHE_SLOTS 16

static struct {
    lynx_block_t *block;     /* NULL: free slot */
    char name[LYNX_NAME_MAX];
    unsigned flags;          /* LYNX_ATTACH_* it was attached with */
    int in_use;
    uint64_t last_used;
} cache[CACHE_SLOTS];
static uint64_t cache_clock;
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;

/* Still the object that lives under that name? */
static int same_file(const lynx_block_t *b)
{
    char path[128];
    struct stat st;

    if (lynx_block_path(b->name, path, sizeof(path)) != 0 ||
        stat(path, &st) != 0) {
        return 0;
    }
    return st.st_dev == b->dev && st.st_ino == b->ino;
}

/* Attach through the cache.  *slot is the cache entry lent, or -1. */
static int acquire(const char *name, unsigned flags, lynx_block_t **out,
                   int *slot)
{
    int free_slot = -1;
    int rc;

    *slot = -1;
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (cache[i].block == NULL) {
            if (free_slot < 0) {
                free_slot = i;
            }
            continue;
        }
        if (cache[i].in_use || strcmp(cache[i].name, name) != 0 ||
            (cache[i].flags & ~flags) != 0) {
            continue;
        }
        if (!same_file(cache[i].block) ||
            lynx_block_check_size(cache[i].block) != 0) {
            /* Replaced or resized (or a truncation was caught in the
             * mapping): attach afresh, which validates it again. */
            lynx_block_detach(cache[i].block);
            cache[i].block = NULL;
            free_slot = free_slot < 0 ? i : free_slot;
            continue;
        }
        if (!(flags & LYNX_ATTACH_ALLOW_DEAD)) {
            rc = lynx_block_check_alive(cache[i].block);
            if (rc != 0) {
                pthread_mutex_unlock(&cache_lock);
                return rc;
            }
        }
        cache[i].in_use = 1;
        cache[i].last_used = ++cache_clock;
        *out = cache[i].block;
        *slot = i;
        pthread_mutex_unlock(&cache_lock);
        return 0;
    }
    pthread_mutex_unlock(&cache_lock);

    rc = lynx_block_attach(name, flags, out);
    if (rc != 0) {
        return rc;
    }
    pthread_mutex_lock(&cache_lock);
    if (free_slot < 0 || cache[free_slot].block != NULL) {
        /* Evict the least recently used entry that nobody holds. */
        free_slot = -1;
        for (int i = 0; i < CACHE_SLOTS; i++) {
            if (cache[i].block == NULL) {
                free_slot = i;
                break;
            }
            if (!cache[i].in_use &&
                (free_slot < 0 ||
                 cache[i].last_used < cache[free_slot].last_used)) {
                free_slot = i;
            }
        }
        if (free_slot >= 0 && cache[free_slot].block != NULL) {
            lynx_block_detach(cache[free_slot].block);
            cache[free_slot].block = NULL;
        }
    }
    if (free_slot >= 0) {
        cache[free_slot].block = *out;
        snprintf(cache[free_slot].name, sizeof(cache[free_slot].name), "%s",
                 name);
        cache[free_slot].flags = flags;
        cache[free_slot].in_use = 1;
        cache[free_slot].last_used = ++cache_clock;
        *slot = free_slot;
    }
    pthread_mutex_unlock(&cache_lock);
    return 0;
}

static void release(lynx_block_t *b, int slot)
{
    if (slot < 0) {
        lynx_block_detach(b);
        return;
    }
    pthread_mutex_lock(&cache_lock);
    cache[slot].in_use = 0;
    pthread_mutex_unlock(&cache_lock);
}

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
        int slot;
        memcpy(info[i].name, names[i], LYNX_NAME_MAX);
        rc = acquire(names[i], LYNX_ATTACH_ALLOW_DEAD, &b, &slot);
        if (rc != 0) {
            info[i].status = rc;
            continue;
        }
        info[i].pid = b->header->pid;
        info[i].started_unix_ns = b->header->started_unix_ns;
        info[i].agent_started_unix_ns = b->header->agent_started_unix_ns;
        memcpy(info[i].exe, b->header->exe, sizeof(info[i].exe));
        info[i].exe[sizeof(info[i].exe) - 1] = '\0';
        info[i].status = lynx_block_check_alive(b);
        release(b, slot);
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
    rc = acquire(name, 0, &t->block, &t->cache_slot);
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
    release(t->block, t->cache_slot);
    free(t);
}

EXPORT const char *lynx_target_name(const lynx_target_t *t)
{
    return t->block->name;
}

lynx_block_t *lynx_target_block(lynx_target_t *t)
{
    return t->block;
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
static int call_fixed(lynx_target_t *t, uint32_t command, const void *arg,
                      size_t arg_len, void *reply, size_t reply_len,
                      int64_t timeout_ns)
{
    lynx_call_t call;
    int rc = lynx_mailbox_call(t->block, command, arg, arg_len, reply,
                               reply_len, NULL, &call, timeout_ns);

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
    int rc = call_fixed(t, LYNX_CMD_PING, NULL, 0, &p, sizeof(p),
                        timeout_ns);

    if (rc == 0 && p.pid != t->block->header->pid) {
        return LYNX_EPROTO;
    }
    return rc;
}

EXPORT int lynx_target_memstats(lynx_target_t *t, lynx_memstats_t *ms,
                                int64_t timeout_ns)
{
    int rc = call_fixed(t, LYNX_CMD_MEMSTATS, NULL, 0, ms, sizeof(*ms),
                        timeout_ns);

    /* Only this library says where statistics came from. */
    ms->flags &= ~LYNX_MEMSTATS_FROM_SNAPSHOT;
    return rc;
}

EXPORT int lynx_target_memstats_fresh(lynx_target_t *t, lynx_memstats_t *ms,
                                      int64_t max_age_ns, int64_t timeout_ns)
{
    lynx_memstats_arg_t arg = {LYNX_MEMSTATS_PUBLISH, 0};
    int rc;

    if (max_age_ns <= 0) {
        return lynx_target_memstats(t, ms, timeout_ns);
    }
    if (lynx_block_check_alive(t->block) == 0 &&
        lynx_block_memsnap(t->block, max_age_ns, ms) == 0) {
        return 0;
    }
    /* Ask, and have the agent publish for the requests that follow. */
    rc = call_fixed(t, LYNX_CMD_MEMSTATS, &arg, sizeof(arg), ms, sizeof(*ms),
                    timeout_ns);
    ms->flags &= ~LYNX_MEMSTATS_FROM_SNAPSHOT;
    return rc;
}
