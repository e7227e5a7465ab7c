/*
 * stats.c - aggregation tables and the one shared lock (see stats.h).
 *
 * The tables are chained hash tables keyed by string that double their
 * bucket array when they hold more records than buckets; with ~10 keys
 * they never grow past 16 buckets, so the work under the lock is a hash,
 * a short chain walk, and a few additions.
 *
 * Allocation sites, by lifetime (heap-profile tests look for these names):
 *   demo_stats_record_create  - one per service/status, lives until exit
 *   demo_recent_entry_create  - one per line, lives until the ring
 *                               replaces it (DEMO_RECENT_DEFAULT lines later)
 *
 * Lock hold time is dominated by demo_top_paths_update(), a linear scan of
 * DEMO_TOP_PATHS counters (about 1 us), so with several threads the lock
 * is contended visibly but is not the bottleneck.
 */
#include "stats.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "demo.h"

typedef struct demo_record {
    struct demo_record *next; /* bucket chain */
    uint64_t hash;            /* key_hash(key) */
    demo_agg_t agg;
    char key[];               /* NUL-terminated */
} demo_record_t;

typedef struct table {
    demo_record_t **buckets;
    size_t nbuckets; /* power of two, >= 8; 0 only if init failed */
    size_t nrecords;
} table_t;

/* One recent request; the strings follow the struct in one allocation. */
typedef struct demo_recent {
    uint64_t path_hash;
    uint64_t duration_ns;
    int status;
    const char *path;       /* points into text[] */
    const char *user_agent; /* points into text[] */
    const char *client;     /* points into text[] */
    char text[];
} demo_recent_t;

/* One Space-Saving counter; an unused one has count 0. */
typedef struct demo_top_path {
    uint64_t path_hash; /* demo_hash_path() of the path it counts */
    uint64_t count;     /* upper bound on that path's requests */
} demo_top_path_t;

struct demo_stats {
    /*
     * Guards everything below.  It is the only lock of the program and is
     * never held while another lock is taken (malloc's own excepted).
     */
    pthread_mutex_t lock;
    table_t services;             /* key: ServiceName */
    table_t statuses;             /* key: DownstreamStatus in decimal */
    demo_top_path_t top[DEMO_TOP_PATHS]; /* Space-Saving heavy hitters */
    demo_recent_t **recent;       /* ring of nrecent slots, NULL = unused */
    size_t nrecent;               /* > 0 */
    size_t recent_next;           /* slot the next entry goes to, < nrecent */
    uint64_t nrequests;
};

static uint64_t
key_hash(const char *key)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    while (*key != '\0') {
        h ^= (unsigned char) *key++;
        h *= 0x100000001b3ULL;
    }
    return h;
}

static int
table_init(table_t *t)
{
    t->nrecords = 0;
    t->buckets = calloc(8, sizeof(*t->buckets));
    if (t->buckets == NULL) {
        t->nbuckets = 0; /* so table_fini() has nothing to walk */
        return -ENOMEM;
    }
    t->nbuckets = 8;
    return 0;
}

static void
table_fini(table_t *t)
{
    for (size_t i = 0; i < t->nbuckets; i++) {
        demo_record_t *r = t->buckets[i];

        while (r != NULL) {
            demo_record_t *next = r->next;

            free(r);
            r = next;
        }
    }
    free(t->buckets);
    t->buckets = NULL;
}

/* Doubles the bucket array; on failure the table stays as it was. */
static void
table_grow(table_t *t)
{
    size_t n = t->nbuckets * 2;
    demo_record_t **b = calloc(n, sizeof(*b));

    if (b == NULL) {
        return; /* longer chains, still correct */
    }
    for (size_t i = 0; i < t->nbuckets; i++) {
        demo_record_t *r = t->buckets[i];

        while (r != NULL) {
            demo_record_t *next = r->next;
            size_t j = r->hash & (n - 1);

            r->next = b[j];
            b[j] = r;
            r = next;
        }
    }
    free(t->buckets);
    t->buckets = b;
    t->nbuckets = n;
}

/*
 * Allocation site of the long-lived records.  Returns a zeroed record for
 * key, owned by the caller, or NULL if out of memory.
 */
static DEMO_NOINLINE demo_record_t *
demo_stats_record_create(const char *key, uint64_t hash)
{
    size_t len = strlen(key);
    demo_record_t *r = calloc(1, sizeof(*r) + len + 1);

    if (r == NULL) {
        return NULL;
    }
    r->hash = hash;
    memcpy(r->key, key, len + 1);
    return r;
}

/* Returns the record for key, inserting an empty one on first sight, or
   NULL if out of memory. */
static demo_record_t *
table_get(table_t *t, const char *key)
{
    uint64_t h = key_hash(key);
    demo_record_t *r;

    for (r = t->buckets[h & (t->nbuckets - 1)]; r != NULL; r = r->next) {
        if (r->hash == h && strcmp(r->key, key) == 0) {
            return r;
        }
    }
    r = demo_stats_record_create(key, h);
    if (r == NULL) {
        return NULL;
    }
    if (t->nrecords >= t->nbuckets) {
        table_grow(t);
    }
    r->next = t->buckets[h & (t->nbuckets - 1)];
    t->buckets[h & (t->nbuckets - 1)] = r;
    t->nrecords++;
    return r;
}

static void
agg_add(demo_agg_t *a, const demo_request_t *req)
{
    static const uint64_t bounds_ms[DEMO_LATENCY_BUCKETS - 1] = {
        1, 5, 10, 50, 100, 500, 1000,
    };
    uint64_t ms = req->duration_ns / 1000000;
    size_t b = 0;

    while (b < DEMO_LATENCY_BUCKETS - 1 && ms >= bounds_ms[b]) {
        b++;
    }
    a->nrequests++;
    a->size_bytes += req->size_bytes;
    a->latency_sum_ns += req->duration_ns;
    if (req->duration_ns > a->latency_max_ns) {
        a->latency_max_ns = req->duration_ns;
    }
    a->nlatency[b]++;
}

/*
 * Counts path_hash in the Space-Saving summary top[] (Metwally et al.): an
 * existing counter is incremented, otherwise the smallest counter is taken
 * over.  One linear scan of DEMO_TOP_PATHS counters; called with the lock
 * held, it is most of the time the lock is held.
 */
static DEMO_NOINLINE void
demo_top_paths_update(demo_top_path_t *top, uint64_t path_hash)
{
    size_t min = 0;

    for (size_t i = 0; i < DEMO_TOP_PATHS; i++) {
        if (top[i].path_hash == path_hash && top[i].count > 0) {
            top[i].count++;
            return;
        }
        if (top[i].count < top[min].count) {
            min = i;
        }
    }
    top[min].path_hash = path_hash;
    top[min].count++;
}

DEMO_NOINLINE uint64_t
demo_hash_path(const char *path, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (unsigned round = 0; round < DEMO_HASH_PATH_ROUNDS; round++) {
        for (size_t i = 0; i < len; i++) {
            h ^= (unsigned char) path[i];
            h *= 0x100000001b3ULL;
        }
        h ^= h >> 33;
        h *= 0xff51afd7ed558ccdULL;
        h ^= h >> 33;
        h *= 0xc4ceb9fe1a85ec53ULL;
        h ^= h >> 33;
        h += round;
    }
    return h;
}

/*
 * Allocation site of the recent-request entries (200-450 bytes each).
 * Returns an entry holding copies of req's path, user agent and client,
 * owned by the caller, or NULL if out of memory.
 */
static DEMO_NOINLINE demo_recent_t *
demo_recent_entry_create(const demo_request_t *req, uint64_t path_hash)
{
    size_t npath = strlen(req->path) + 1;
    size_t nua = strlen(req->user_agent) + 1;
    size_t nclient = strlen(req->client) + 1;
    demo_recent_t *e = malloc(sizeof(*e) + npath + nua + nclient);
    char *p;

    if (e == NULL) {
        return NULL;
    }
    e->path_hash = path_hash;
    e->duration_ns = req->duration_ns;
    e->status = req->status;
    p = e->text;
    e->path = memcpy(p, req->path, npath);
    p += npath;
    e->user_agent = memcpy(p, req->user_agent, nua);
    p += nua;
    e->client = memcpy(p, req->client, nclient);
    return e;
}

demo_stats_t *
demo_stats_create(size_t nrecent)
{
    demo_stats_t *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        return NULL;
    }
    s->nrecent = nrecent;
    s->recent = calloc(nrecent, sizeof(*s->recent));
    if (s->recent == NULL || table_init(&s->services) != 0
        || table_init(&s->statuses) != 0
        || pthread_mutex_init(&s->lock, NULL) != 0) {
        table_fini(&s->statuses);
        table_fini(&s->services);
        free(s->recent);
        free(s);
        return NULL;
    }
    return s;
}

void
demo_stats_destroy(demo_stats_t *s)
{
    if (s == NULL) {
        return;
    }
    for (size_t i = 0; i < s->nrecent; i++) {
        free(s->recent[i]);
    }
    free(s->recent);
    table_fini(&s->services);
    table_fini(&s->statuses);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

DEMO_NOINLINE int
demo_aggregate(demo_stats_t *s, const demo_request_t *req)
{
    uint64_t h = demo_hash_path(req->path, strlen(req->path));
    demo_recent_t *entry = demo_recent_entry_create(req, h);
    demo_recent_t *dropped = NULL;
    demo_record_t *svc;
    demo_record_t *st;
    char status_key[16];
    int rc = 0;

    if (entry == NULL) {
        return -ENOMEM;
    }
    snprintf(status_key, sizeof(status_key), "%d", req->status);

    pthread_mutex_lock(&s->lock);
    svc = table_get(&s->services, req->service);
    st = table_get(&s->statuses, status_key);
    if (svc == NULL || st == NULL) {
        /* A record created for the other key stays, empty: harmless. */
        rc = -ENOMEM;
        dropped = entry;
        goto unlock;
    }
    agg_add(&svc->agg, req);
    agg_add(&st->agg, req);
    demo_top_paths_update(s->top, h);
    dropped = s->recent[s->recent_next];
    s->recent[s->recent_next] = entry;
    s->recent_next = (s->recent_next + 1) % s->nrecent;
    s->nrequests++;
unlock:
    pthread_mutex_unlock(&s->lock);

    /* Freed outside the lock: free() is not the lock's business. */
    free(dropped);
    return rc;
}

void
demo_stats_summary(demo_stats_t *s, demo_stats_summary_t *out)
{
    memset(out, 0, sizeof(*out));
    pthread_mutex_lock(&s->lock);
    out->nservices = s->services.nrecords;
    out->nstatuses = s->statuses.nrecords;
    out->nrequests = s->nrequests;
    for (size_t i = 0; i < s->nrecent; i++) {
        out->nrecent += s->recent[i] != NULL;
    }
    for (size_t i = 0; i < s->services.nbuckets; i++) {
        for (demo_record_t *r = s->services.buckets[i]; r; r = r->next) {
            out->size_bytes += r->agg.size_bytes;
            if (r->agg.latency_max_ns > out->latency_max_ns) {
                out->latency_max_ns = r->agg.latency_max_ns;
            }
        }
    }
    pthread_mutex_unlock(&s->lock);
}
