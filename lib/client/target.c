/*
 * client/target.c - the target handle (client/target.h) and libprofile's
 * target API (lynxprof.h): choosing, attaching to, listing and querying
 * profiled processes, all through one cache of attached blocks.
 *
 * Workload: an endpoint process answers one request at a time and reaches
 * a handful of targets, again and again; a listing or a CPU session lookup
 * visits every block on the host (a handful, at most LYNX_TARGETS_MAX).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "client/memsnap.h"
#include "client/target.h"
#include "protocol/clock.h"

#define EXPORT __attribute__((visibility("default")))
#define SEQLOCK_MAX_NS (100LL * 1000 * 1000)

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
        /* A block attached without its mailbox (a dead target's, with
         * LYNX_ATTACH_ALLOW_DEAD) serves only those who allow that. */
        if (cache[i].in_use || strcmp(cache[i].name, name) != 0 ||
            (cache[i].block->mailbox == NULL &&
             !(flags & LYNX_ATTACH_ALLOW_DEAD))) {
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

/* Detach the entries nobody holds whose object is gone or replaced (an
 * exited target's block removed by its successor or an operator): a
 * mapping kept would pin the removed object's memory. */
static void cache_sweep(void)
{
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (cache[i].block != NULL && !cache[i].in_use &&
            !same_file(cache[i].block)) {
            lynx_block_detach(cache[i].block);
            cache[i].block = NULL;
        }
    }
    pthread_mutex_unlock(&cache_lock);
}

/* ---- handles ------------------------------------------------------------- */

int lynx_target_attach(const char *name, unsigned flags, lynx_target_t **out)
{
    lynx_target_t *t;
    int rc;

    *out = NULL;
    t = calloc(1, sizeof(*t));
    if (t == NULL) {
        return -ENOMEM;
    }
    rc = acquire(name, flags, &t->block, &t->cache_slot);
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

lynx_block_t *lynx_target_block(lynx_target_t *t)
{
    return t->block;
}

/* ---- foreach ------------------------------------------------------------- */

int lynx_target_foreach(lynx_visit_t which, lynx_target_visit_cb visit,
                        void *ctx)
{
    char (*names)[LYNX_NAME_MAX];
    size_t n = 0;
    int rc;

    names = calloc(LYNX_TARGETS_MAX, LYNX_NAME_MAX);
    if (names == NULL) {
        return -ENOMEM;
    }
    cache_sweep();
    rc = lynx_block_list(names, LYNX_TARGETS_MAX, &n);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        lynx_target_t t;
        int status = acquire(names[i], LYNX_ATTACH_ALLOW_DEAD, &t.block,
                             &t.cache_slot);
        if (status != 0) {
            if (which == LYNX_VISIT_ALL) {
                rc = visit(NULL, names[i], status, ctx);
            }
            continue;
        }
        status = lynx_block_check_alive(t.block);
        if (status == 0 || which != LYNX_VISIT_LIVE) {
            rc = visit(&t, names[i], status, ctx);
        }
        release(t.block, t.cache_slot);
    }
    free(names);
    return rc;
}

typedef struct list_ctx {
    lynx_target_info_t *info;    /* LYNX_TARGETS_MAX entries */
    size_t n;
} list_ctx_t;

static int list_one(lynx_target_t *t, const char *name, int status,
                    void *arg)
{
    list_ctx_t *l = arg;
    lynx_target_info_t *info = &l->info[l->n++];

    snprintf(info->name, sizeof(info->name), "%s", name);
    info->status = status;
    if (t != NULL) {
        /* The header validated at attach: the handle's own copy. */
        const lynx_block_header_t *h = t->block->header;
        info->pid = h->pid;
        info->started_unix_ns = h->started_unix_ns;
        info->agent_started_unix_ns = h->agent_started_unix_ns;
        memcpy(info->exe, h->exe, sizeof(info->exe));
        info->exe[sizeof(info->exe) - 1] = '\0';
    }
    return 0;
}

EXPORT int lynx_targets_list(lynx_target_info_t **out, size_t *count)
{
    list_ctx_t l = {NULL, 0};
    int rc;

    *out = NULL;
    *count = 0;
    l.info = calloc(LYNX_TARGETS_MAX, sizeof(*l.info));
    if (l.info == NULL) {
        return -ENOMEM;
    }
    rc = lynx_target_foreach(LYNX_VISIT_ALL, list_one, &l);
    if (rc != 0) {
        free(l.info);
        return rc;
    }
    *out = l.info;
    *count = l.n;
    return 0;
}

typedef struct live_ctx {
    char *name;      /* the first live target's name */
    size_t nlive;
} live_ctx_t;

static int count_live(lynx_target_t *t, const char *name, int status,
                      void *arg)
{
    live_ctx_t *l = arg;

    (void)t;
    (void)status;
    if (l->nlive == 0) {
        snprintf(l->name, LYNX_NAME_MAX, "%s", name);
    }
    l->nlive++;
    return 0;
}

/* only_live()'s last answer "exactly one: <name>", kept while the
 * shared-memory directory keeps the modification time it had before that
 * walk: a block created, removed or replaced since changes it.  A target
 * that died and left its block changes nothing there: its attach fails,
 * and the caller walks again (lynx_target_open).  Guarded by cache_lock.
 * Saves a request that names no target the walk (a directory listing, and
 * an attach and liveness check per block). */
static struct {
    int valid;
    struct timespec dir_mtime;
    char name[LYNX_NAME_MAX];
} only;

/* The directory's time is kept only once it is this old: a change within
 * the same clock tick as the one it records could leave it as it was. */
#define DIR_SETTLED_NS (50LL * 1000 * 1000)

/* The only live target, when there is exactly one; *cached 1 when the
 * answer is the kept one. */
static int only_live(char name[LYNX_NAME_MAX], int *cached)
{
    live_ctx_t l = {name, 0};
    struct stat dir;
    int have_dir = stat(LYNX_SHM_DIR, &dir) == 0;
    int rc;

    *cached = 0;
    pthread_mutex_lock(&cache_lock);
    if (have_dir && only.valid &&
        only.dir_mtime.tv_sec == dir.st_mtim.tv_sec &&
        only.dir_mtime.tv_nsec == dir.st_mtim.tv_nsec) {
        memcpy(name, only.name, LYNX_NAME_MAX);
        *cached = 1;
    }
    pthread_mutex_unlock(&cache_lock);
    if (*cached) {
        return 0;
    }
    rc = lynx_target_foreach(LYNX_VISIT_LIVE, count_live, &l);
    if (rc != 0) {
        return rc;
    }
    if (l.nlive == 0) {
        return LYNX_ENOTARGET;
    }
    if (l.nlive > 1) {
        return LYNX_EAMBIGUOUS;
    }
    if (have_dir && lynx_real_ns() - ((int64_t)dir.st_mtim.tv_sec *
                                          1000000000LL +
                                      dir.st_mtim.tv_nsec) >=
                        DIR_SETTLED_NS) {
        pthread_mutex_lock(&cache_lock);
        only.valid = 1;
        only.dir_mtime = dir.st_mtim;
        memcpy(only.name, name, LYNX_NAME_MAX);
        pthread_mutex_unlock(&cache_lock);
    }
    return 0;
}

EXPORT int lynx_target_open(const char *name, const char *fallback,
                            lynx_target_t **out)
{
    char chosen[LYNX_NAME_MAX];
    int cached;
    int rc;

    *out = NULL;
    if (name == NULL || *name == '\0') {
        name = fallback;
    }
    if (name != NULL && *name != '\0') {
        return lynx_target_attach(name, 0, out);
    }
    rc = only_live(chosen, &cached);
    if (rc == 0) {
        rc = lynx_target_attach(chosen, 0, out);
    }
    if (rc != 0 && cached) {
        /* The one kept has died: look again. */
        pthread_mutex_lock(&cache_lock);
        only.valid = 0;
        pthread_mutex_unlock(&cache_lock);
        rc = only_live(chosen, &cached);
        if (rc == 0) {
            rc = lynx_target_attach(chosen, 0, out);
        }
    }
    return rc;
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

/* ---- call ---------------------------------------------------------------- */

int lynx_target_call(lynx_target_t *t, uint32_t cmd, const void *arg,
                     size_t arg_len, void *reply, size_t reply_len,
                     void **bulk, size_t rec_size, size_t *nrecs,
                     int64_t timeout_ns, char *msg, size_t msg_size)
{
    lynx_call_t call;
    void *data = NULL;
    int rc;

    if (bulk != NULL) {
        *bulk = NULL;
    }
    if (nrecs != NULL) {
        *nrecs = 0;
    }
    rc = lynx_mailbox_call(t->block, cmd, arg, arg_len, reply, reply_len,
                           bulk != NULL ? &data : NULL, &call, timeout_ns);
    if (rc != 0) {
        return rc;
    }
    if (msg != NULL && msg_size > 0) {
        snprintf(msg, msg_size, "%s", call.message);
    }
    if (call.reply_len != reply_len && reply_len > 0) {
        /* Never half a reply: a caller that reads it after an agent's
         * error (the running session of LYNX_ECONFLICT) sees zeros. */
        memset(reply, 0, reply_len);
    }
    if (call.result != 0) {
        free(data);
        return call.result;
    }
    if (call.reply_len != reply_len ||
        (bulk != NULL && (rec_size == 0 || call.bulk_len % rec_size != 0))) {
        free(data);
        return LYNX_EPROTO;
    }
    if (bulk != NULL) {
        *bulk = data;
        if (nrecs != NULL) {
            *nrecs = call.bulk_len / rec_size;
        }
    }
    return 0;
}

EXPORT int lynx_target_ping(lynx_target_t *t, int64_t timeout_ns)
{
    lynx_ping_reply_t p;
    int rc = lynx_target_call(t, LYNX_CMD_PING, NULL, 0, &p, sizeof(p), NULL,
                              0, NULL, timeout_ns, NULL, 0);

    if (rc == 0 && p.pid != t->block->header->pid) {
        return LYNX_EPROTO;
    }
    return rc;
}

EXPORT int lynx_target_memstats(lynx_target_t *t, lynx_memstats_t *ms,
                                int64_t timeout_ns)
{
    int rc = lynx_target_call(t, LYNX_CMD_MEMSTATS, NULL, 0, ms, sizeof(*ms),
                              NULL, 0, NULL, timeout_ns, NULL, 0);

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
    rc = lynx_target_call(t, LYNX_CMD_MEMSTATS, &arg, sizeof(arg), ms,
                          sizeof(*ms), NULL, 0, NULL, timeout_ns, NULL, 0);
    ms->flags &= ~LYNX_MEMSTATS_FROM_SNAPSHOT;
    return rc;
}

/* ---- modules ------------------------------------------------------------- */

static int module_ok(const lynx_module_t *m)
{
    return m->limit > m->start && m->build_id_len <= LYNX_BUILD_ID_MAX &&
           memchr(m->path, '\0', sizeof(m->path)) != NULL;
}

int lynx_modules_decode(const void *region, size_t size_bytes,
                        lynx_module_t *out, size_t out_cap, size_t *nmods)
{
    const lynx_modules_t *m = region;
    uint32_t cap;
    uint32_t n;
    size_t k = 0;

    *nmods = 0;
    if (size_bytes < sizeof(*m)) {
        return LYNX_EBADSIZE;
    }
    /* Each shared field is read once, into a local. */
    cap = *(const volatile uint32_t *)&m->capacity;
    n = *(const volatile uint32_t *)&m->nmodules;
    if (cap > LYNX_MAX_MODULES ||
        (size_bytes - sizeof(*m)) / sizeof(lynx_module_t) < cap) {
        return LYNX_EBADSIZE;
    }
    if (n > cap) {
        n = cap;
    }
    if (n > out_cap) {
        n = (uint32_t)out_cap;
    }
    memcpy(out, m->modules, n * sizeof(*out));
    for (uint32_t i = 0; i < n; i++) {
        if (module_ok(&out[i])) {
            out[k++] = out[i];
        }
    }
    *nmods = k;
    return 0;
}

int lynx_target_modules(lynx_target_t *t, lynx_module_t **mods,
                        size_t *nmods)
{
    const lynx_block_t *b = t->block;
    /* Where the region is comes from the geometry validated at attach. */
    const lynx_region_t *r = lynx_block_region(b->header,
                                               LYNX_REGION_MODULES);
    const lynx_modules_t *live;
    int64_t deadline = lynx_mono_ns() + SEQLOCK_MAX_NS;
    size_t size;
    void *copy;
    lynx_module_t *out;
    size_t k = 0;
    int rc;

    *mods = NULL;
    *nmods = 0;
    if (r == NULL || r->size_bytes < sizeof(lynx_modules_t)) {
        return 0;
    }
    /* Never more than the largest snapshot the protocol allows: a larger
     * capacity is refused by the decoder anyway. */
    size = sizeof(lynx_modules_t) + LYNX_MAX_MODULES * sizeof(lynx_module_t);
    if (r->size_bytes < size) {
        size = (size_t)r->size_bytes;
    }
    live = (const lynx_modules_t *)((const char *)b->base + r->offset);
    copy = malloc(size);
    out = calloc(LYNX_MAX_MODULES, sizeof(*out));
    if (copy == NULL || out == NULL) {
        free(copy);
        free(out);
        return -ENOMEM;
    }
    /* The region is copied with pread (a shrunk object is an error, not a
     * SIGBUS) between two reads of the seqlock, then decoded from the
     * copy, which nobody else can change. */
    for (;;) {
        uint32_t g1 = atomic_load_explicit(&live->generation,
                                           memory_order_acquire);
        uint32_t g2;
        rc = lynx_block_pread(b, r->offset, copy, size);
        atomic_thread_fence(memory_order_acquire);
        g2 = atomic_load_explicit(&live->generation, memory_order_relaxed);
        if (rc != 0 || (g1 == g2 && (g1 & 1u) == 0) ||
            lynx_mono_ns() > deadline) {
            break;
        }
        sched_yield();
    }
    if (rc == 0) {
        rc = lynx_modules_decode(copy, size, out, LYNX_MAX_MODULES, &k);
    }
    free(copy);
    if (rc == 0 && lynx_block_check_size(b) != 0) {
        rc = LYNX_EBADSIZE; /* the object shrank under the copy */
    }
    if (rc != 0) {
        free(out);
        return rc;
    }
    *mods = out;
    *nmods = k;
    return 0;
}

/* ---- symbols ------------------------------------------------------------- */

lynx_symbolizer_t *lynx_target_symbolizer(lynx_target_t *t)
{
    static lynx_symbolizer_t *sym;
    lynx_modfiles_t *files;

    if (sym == NULL) {
        sym = lynx_symbolizer_create();
        if (sym == NULL) {
            return NULL;
        }
    }
    files = lynx_modfiles_create(lynx_target_pid(t));
    if (files == NULL) {
        return NULL; /* unbound would trust the records: symbolize nothing */
    }
    lynx_symbolizer_set_files(sym, files);
    return sym;
}
