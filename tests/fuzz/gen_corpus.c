/*
 * gen_corpus.c - writes the seed inputs of the fuzz harnesses into
 * tests/fuzz/corpus/<name>/: well-formed answers, regions and spool files
 * in the shapes the agent and the spool writer produce (the spool files
 * through the library's own encoders).  Run by `run.sh -G`; the output is
 * committed, so this runs only when a format changes.
 *   gen_corpus CORPUS_DIR
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "corpus_put.h"
#include "client/cpu_spool.h"
#include "protocol/block.h"
#include "protocol/block_heap.h"
#include "protocol/block_threads.h"
#include "client/cpu.h"

#define EXE 0x400000ULL
#define LIB 0x7f0000001000ULL

static void stack(uint64_t *pcs, uint32_t depth, uint64_t seed)
{
    for (uint32_t i = 0; i < depth; i++) {
        pcs[i] = (i % 3 == 2 ? LIB : EXE) + 0x1000 + (seed * 0x97 + i * 0x40);
    }
}

/* The labels of sample i as the agent writes them: a thread name, its
 * id, and i request labels (the last one cut: flagged elsewhere). */
static void labels(lynx_sample_labels_t *l, int i)
{
    static const char *const names[] = {"acceptor", "worker", "worker"};
    static const char *const keys[] = {"request", "tenant"};

    memset(l, 0, sizeof(*l));
    l->tid = 4242 + i;
    snprintf(l->thread, sizeof(l->thread), "%s", names[i % 3]);
    l->nlabels = (uint32_t)(i < LYNX_LABEL_DEPTH ? i : LYNX_LABEL_DEPTH);
    for (uint32_t k = 0; k < l->nlabels; k++) {
        snprintf(l->labels[k].key, sizeof(l->labels[k].key), "%s",
                 keys[k % 2]);
        snprintf(l->labels[k].value, sizeof(l->labels[k].value), "v%d", i);
    }
}

static void gen_heap(void)
{
    lynx_heap_snapshot_reply_t rep;
    uint8_t bulk[4096];
    size_t off = 0;
    uint32_t depths[] = {3, 0, 6, 64};

    memset(&rep, 0, sizeof(rep));
    rep.rate_bytes = LYNX_HEAP_RATE_DEFAULT;
    rep.taken_unix_ns = 1700000000000000000LL;
    rep.samples = 40;
    rep.live_samples = 12;
    rep.stacks_capacity = 16384;
    rep.live_capacity = 65536;
    for (uint32_t k = 0; k < 4; k++) {
        lynx_heap_record_t r;
        uint64_t pcs[LYNX_HEAP_MAX_DEPTH];
        memset(&r, 0, sizeof(r));
        r.alloc_objects = 10.5 * (k + 1);
        r.alloc_bytes = 4096.0 * (k + 1);
        r.inuse_objects = 2.0 * k;
        r.inuse_bytes = 1024.0 * k;
        r.alloc_samples = k + 1;
        r.depth = depths[k];
        r.flags = depths[k] == 64 ? LYNX_STACK_TRUNCATED : 0;
        stack(pcs, r.depth, k);
        labels(&r.labels, (int)k);
        r.labels.tid = 0; /* as the agent sends heap records */
        memcpy(bulk + off, &r, sizeof(r));
        off += sizeof(r);
        memcpy(bulk + off, pcs, r.depth * sizeof(uint64_t));
        off += r.depth * sizeof(uint64_t);
        rep.nrecords++;
        if (k == 1) {
            put("heap", "seed-two", &rep, sizeof(rep), bulk, off);
        }
    }
    put("heap", "seed-four", &rep, sizeof(rep), bulk, off);
    rep.nrecords = 0;
    rep.rate_bytes = 0;
    put("heap", "seed-empty", &rep, sizeof(rep), NULL, 0);
}

static void gen_locks(void)
{
    lynx_locks_reply_t rep;
    lynx_lock_rec_t recs[3];

    memset(&rep, 0, sizeof(rep));
    memset(recs, 0, sizeof(recs));
    rep.kind = LYNX_LOCKS_BLOCK;
    rep.nrecords = 3;
    rep.rate = 10000;
    for (int i = 0; i < 3; i++) {
        recs[i].contentions = 5 + i;
        recs[i].delay_ns = 100000 * (i + 1);
        recs[i].depth = 4;
        /* 0 and 2 share a stack: the endpoint merges them. */
        stack(recs[i].pcs, 4, i == 2 ? 0 : i);
    }
    put("locks", "seed-block", &rep, sizeof(rep), recs, sizeof(recs));
    rep.kind = LYNX_LOCKS_MUTEX;
    rep.rate = 5;
    rep.nrecords = 1;
    put("locks", "seed-mutex", &rep, sizeof(rep), recs, sizeof(recs[0]));
}

static void gen_threads(void)
{
    lynx_thread_dump_reply_t rep;
    lynx_thread_rec_t recs[3];

    memset(&rep, 0, sizeof(rep));
    memset(recs, 0, sizeof(recs));
    rep.nthreads = 3;
    rep.nanswered = 2;
    rep.nmissing = 1;
    rep.timeout_ms = 100;
    rep.taken_unix_ns = 1700000000000000000LL;
    rep.elapsed_ns = 350000;
    recs[0].tid = 100;
    recs[0].state = 'S';
    recs[0].depth = 5;
    snprintf(recs[0].name, sizeof(recs[0].name), "lynx-demo");
    stack(recs[0].pcs, 5, 1);
    labels(&recs[0].labels, 2); /* its request labels */
    recs[1].tid = 101;
    recs[1].state = 'R';
    recs[1].depth = 3;
    recs[1].flags = LYNX_THREAD_AGENT;
    snprintf(recs[1].name, sizeof(recs[1].name), "lynxprof");
    stack(recs[1].pcs, 3, 2);
    recs[2].tid = 102;
    recs[2].state = 'D';
    recs[2].status = LYNX_THREAD_NO_ANSWER;
    snprintf(recs[2].name, sizeof(recs[2].name), "worker-3");
    put("threads", "seed-three", &rep, sizeof(rep), recs, sizeof(recs));
}

static void gen_threadcreate(void)
{
    lynx_threadcreate_reply_t rep;
    lynx_threadcreate_rec_t recs[2];

    memset(&rep, 0, sizeof(rep));
    memset(recs, 0, sizeof(recs));
    rep.nrecords = 2;
    rep.capacity = 1; /* the harness: records an earlier copy had */
    rep.created = 3;
    rep.overflow = 1;
    for (int i = 0; i < 2; i++) {
        recs[i].tid = 200 + i;
        recs[i].depth = 3;
        stack(recs[i].pcs, 3, 7);
    }
    put("threadcreate", "seed-two", &rep, sizeof(rep), recs, sizeof(recs));
}

static void module(lynx_module_t *m, uint64_t start, uint64_t len,
                   const char *path, uint32_t build_id_len)
{
    memset(m, 0, sizeof(*m));
    m->start = start;
    m->limit = start + len;
    m->file_offset = 0x1000;
    m->load_bias = start - 0x1000;
    m->build_id_len = build_id_len;
    for (uint32_t i = 0; i < build_id_len; i++) {
        m->build_id[i] = (uint8_t)(i * 13 + 1);
    }
    snprintf(m->path, sizeof(m->path), "%s", path);
}

static void gen_modules(void)
{
    static uint8_t buf[sizeof(lynx_modules_t) + 4 * sizeof(lynx_module_t)];
    lynx_modules_t *h = (lynx_modules_t *)buf;
    lynx_module_t *m = (lynx_module_t *)(buf + sizeof(*h));

    h->generation = 4;
    h->nmodules = 3;
    h->capacity = 4;
    module(&m[0], EXE, 0x100000, "/usr/lib/lynxprof/lynx-demo", 20);
    module(&m[1], LIB, 0xff000, "/usr/lib/x86_64-linux-gnu/libc.so.6", 20);
    module(&m[2], 0x7fff00000000ULL, 0x2000, "[vdso]", 0);
    put("modules", "seed-three", buf, sizeof(buf), NULL, 0);
    h->capacity = 0;
    h->nmodules = 0;
    put("modules", "seed-empty", buf, sizeof(*h), NULL, 0);
}

static void gen_block(void)
{
    size_t hsize = (sizeof(lynx_block_header_t) + 63) / 64 * 64;
    size_t asize = (sizeof(lynx_answers_t) + 63) / 64 * 64;
    size_t bulk = (size_t)LYNX_MAILBOX_SLOTS * 4096;
    size_t size = hsize + asize + bulk;
    uint8_t *b = calloc(1, size);
    lynx_block_header_t *h = (lynx_block_header_t *)b;

    h->magic = LYNX_BLOCK_MAGIC;
    h->version = LYNX_BLOCK_VERSION;
    h->header_size_bytes = sizeof(*h);
    h->total_size_bytes = size;
    h->mailbox_size_bytes = sizeof(lynx_mailbox_t);
    h->pid = 4242;
    h->nregions = 2;
    snprintf(h->name, sizeof(h->name), "lynx-demo");
    h->regions[0].kind = LYNX_REGION_ANSWERS;
    h->regions[0].offset = hsize;
    h->regions[0].size_bytes = asize;
    h->regions[1].kind = LYNX_REGION_BULK;
    h->regions[1].offset = hsize + asize;
    h->regions[1].size_bytes = bulk;
    put("block", "seed-v3-answers-bulk", b, size, NULL, 0);
    free(b);
}

static void session(lynx_session_t *r, uint32_t state)
{
    memset(r, 0, sizeof(*r));
    r->gen = 2;
    r->state = state;
    snprintf(r->id, sizeof(r->id), "cpu_1700000000123456789");
    r->started_unix_ns = 1700000000123456789LL;
    r->duration_ns = 30LL * 1000000000;
    r->ended_unix_ns = state == LYNX_SESSION_RUNNING
                           ? 0
                           : r->started_unix_ns + r->duration_ns;
    r->hz = 100;
    r->origin = LYNX_ORIGIN_API;
    r->samples = 2900;
    r->lost_samples = 3;
    r->in_table = 1;
}

static void gen_session(void)
{
    lynx_session_t r;

    session(&r, LYNX_SESSION_COMPLETED);
    put("session", "seed-completed", &r, sizeof(r), NULL, 0);
    session(&r, LYNX_SESSION_RUNNING);
    put("session", "seed-running", &r, sizeof(r), NULL, 0);
    session(&r, LYNX_SESSION_FAILED);
    r.origin = LYNX_ORIGIN_DEBUG;
    snprintf(r.error, sizeof(r.error), "target process exited (pid 4242)");
    put("session", "seed-failed", &r, sizeof(r), NULL, 0);
}

static void gen_spool_json(void)
{
    lynx_cpu_session_t s;
    char *text;

    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "cpu_1700000000000000000");
    snprintf(s.target, sizeof(s.target), "lynx-demo");
    s.pid = 4242;
    s.state = LYNX_CPU_COMPLETED;
    s.origin = LYNX_ORIGIN_API;
    s.hz = 100;
    s.started_unix_ns = 1700000000000000000LL;
    s.duration_ns = 30LL * 1000000000;
    s.ended_unix_ns = s.started_unix_ns + s.duration_ns;
    s.samples = 2990;
    s.data_size_bytes = 18234;
    text = lynx_cpu_json_record_text(&s, NULL);
    put("spool_json", "seed-completed", text, strlen(text), NULL, 0);
    free(text);
    s.state = LYNX_CPU_FAILED;
    s.origin = LYNX_ORIGIN_DEBUG;
    s.data_size_bytes = -1;
    snprintf(s.error, sizeof(s.error), "target process exited (pid 4242)");
    text = lynx_cpu_json_record_text(&s, NULL);
    put("spool_json", "seed-failed", text, strlen(text), NULL, 0);
    free(text);
}

static void gen_spool_raw(void)
{
    lynx_module_t mods[2];
    lynx_cpu_stack_t stacks[3];
    cpu_raw_t raw;
    uint8_t *bytes;
    size_t len;

    memset(stacks, 0, sizeof(stacks));
    module(&mods[0], EXE, 0x100000, "/usr/lib/lynxprof/lynx-demo", 20);
    module(&mods[1], LIB, 0xff000, "/usr/lib/x86_64-linux-gnu/libc.so.6", 0);
    for (int i = 0; i < 3; i++) {
        stacks[i].count = 10 * (i + 1);
        stacks[i].depth = 2 + 3 * i;
        stack(stacks[i].pcs, stacks[i].depth, i);
        labels(&stacks[i].labels, i);
    }
    memset(&raw, 0, sizeof(raw));
    raw.period_ns = 10000000;
    raw.time_nanos = 1700000000000000000LL;
    raw.duration_nanos = 30LL * 1000000000;
    raw.mods = mods;
    raw.nmods = 2;
    raw.stacks = stacks;
    raw.nstacks = 3;
    if (cpu_raw_encode(&raw, &bytes, &len) != 0) {
        exit(1);
    }
    put("spool_raw", "seed-three", bytes, len, NULL, 0);
    free(bytes);
    raw.nmods = 0;
    raw.nstacks = 0;
    if (cpu_raw_encode(&raw, &bytes, &len) != 0) {
        exit(1);
    }
    put("spool_raw", "seed-empty", bytes, len, NULL, 0);
    free(bytes);
}

static void gen_cpu_table(void)
{
    static uint8_t buf[sizeof(lynx_cpu_table_t) +
                       4 * sizeof(lynx_cpu_stack_t)];
    lynx_cpu_table_t *t = (lynx_cpu_table_t *)buf;
    lynx_cpu_stack_t *s = (lynx_cpu_stack_t *)(buf + sizeof(*t));

    t->gen = 3;
    t->capacity = 4;
    t->nstacks = 3;
    t->session_index = 0;
    t->period_ns = 10000000;
    t->samples = 60;
    t->lost_samples = 2;
    for (int i = 0; i < 3; i++) {
        s[i].count = 10 * (i + 1);
        s[i].depth = i == 2 ? LYNX_CPU_MAX_DEPTH : 2 + i;
        s[i].flags = i == 2 ? LYNX_STACK_TRUNCATED : 0;
        stack(s[i].pcs, s[i].depth, i);
        labels(&s[i].labels, i);
    }
    put("cpu_table", "seed-three", buf, sizeof(buf), NULL, 0);
}

/* Two equal copies of a snapshot taken 0.3 s before the reader's clocks,
 * which accepts 1 s; then one being written. */
static void gen_memsnap(void)
{
    static uint8_t buf[2 * sizeof(lynx_memsnap_t) + 3 * sizeof(int64_t)];
    lynx_memsnap_t s;
    int64_t clocks[3] = {5000000000LL, 1700000000300000000LL, 1000000000LL};

    memset(&s, 0, sizeof(s));
    atomic_store(&s.seq, 2);
    s.stats_bytes = sizeof(lynx_memstats_t);
    s.sampled_mono_ns = clocks[0] - 300000000LL;
    s.stats.sampled_unix_ns = clocks[1] - 300000000LL;
    s.stats.pid = 4242;
    s.stats.uptime_ns = 60000000000LL;
    s.stats.resident_bytes = 10 << 20;
    s.stats.flags = LYNX_MEMSTATS_HAVE_ALLOC_COUNTERS;
    memcpy(buf, &s, sizeof(s));
    memcpy(buf + sizeof(s), &s, sizeof(s));
    memcpy(buf + 2 * sizeof(s), clocks, sizeof(clocks));
    put("memsnap", "seed-fresh", buf, sizeof(buf), NULL, 0);
    atomic_store(&s.seq, 3);
    memcpy(buf + sizeof(s), &s, sizeof(s));
    put("memsnap", "seed-torn", buf, sizeof(buf), NULL, 0);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: gen_corpus CORPUS_DIR\n");
        return 2;
    }
    dir = argv[1];
    mkdir(dir, 0755);
    gen_heap();
    gen_locks();
    gen_threads();
    gen_threadcreate();
    gen_modules();
    gen_block();
    gen_session();
    gen_spool_json();
    gen_spool_raw();
    gen_cpu_table();
    gen_memsnap();
    return 0;
}
