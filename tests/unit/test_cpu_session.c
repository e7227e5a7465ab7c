/*
 * test_cpu_session.c - unit tests of lib/client/cpu_session.c and lib/client/cpu_spool.c
 * against hand-made control blocks (fake_block) with a fake agent thread:
 * record validation, spooling (the written pprof is decoded back and
 * checked), two processes spooling at once, a dead target, start with the
 * agent's ENOTREADY/ECONFLICT, stop, list, delete, retention, ids.
 *
 * As root the test runs in a private mount namespace with its own
 * /dev/shm, so lookups and housekeeping (which visit every block on the
 * host) meet only this test's blocks.  Built -O2 -g: the profiles name this
 * program's own functions.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>
#include <zlib.h>

#include "client/cpu_spool.h"
#include "fake_block.h"
#include "fixtures/lynx_test_modules.h"
#include "client/cpu.h"
#include "fcgi/cpu_endpoint.h"
#include "protocol/clock.h"
#include "client/profile.pb-c.h"

#define MAX_MODS 64
#define SHORT_TIMEOUT_NS (200LL * 1000 * 1000)
#define SEC 1000000000LL

typedef Perftools__Profiles__Profile profile_t;

/* ---- code that appears in the profiles ------------------------------------- */

static volatile int g_sink;

__attribute__((noipa)) int cs_leaf(int x)
{
    return x * 7 + g_sink * 3 + (x >> 2);
}

__attribute__((noipa)) int cs_other(int x)
{
    return x * 11 + g_sink * 5 + (x >> 3);
}

__attribute__((noipa)) int cs_mid(int x)
{
    return cs_leaf(x) * 2 + g_sink;
}

__attribute__((noipa)) int cs_root(int x)
{
    return cs_mid(x) + cs_other(x) + g_sink;
}

/* ---- helpers ------------------------------------------------------------------ */

static char g_spool[256];
static lynx_module_t g_mods[MAX_MODS];
static size_t g_nmods;

static uint64_t addr(int (*fn)(int), unsigned off)
{
    return (uint64_t)(uintptr_t)fn + off;
}

static void rm_spool(void)
{
    DIR *d = opendir(g_spool);
    struct dirent *e;

    if (d == NULL) {
        return;
    }
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) {
            unlinkat(dirfd(d), e->d_name, 0);
        }
    }
    closedir(d);
}

static int setup(void **state)
{
    (void)state;
    snprintf(g_spool, sizeof(g_spool), "/tmp/lynx-cpu-test.XXXXXX");
    if (mkdtemp(g_spool) == NULL) {
        return -1;
    }
    g_nmods = test_modules_self(g_mods, MAX_MODS);
    return cs_root(1) != 0 || g_nmods > 0 ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    rm_spool();
    rmdir(g_spool);
    return 0;
}

static int count_files(const char *suffix)
{
    DIR *d = opendir(g_spool);
    struct dirent *e;
    int n = 0;
    size_t sl = strlen(suffix);

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        size_t l = strlen(e->d_name);
        if (l >= sl && strcmp(e->d_name + l - sl, suffix) == 0) {
            n++;
        }
    }
    closedir(d);
    return n;
}

static lynx_session_t make_record(const char *id, uint32_t state)
{
    lynx_session_t r;
    int64_t now = lynx_real_ns();

    memset(&r, 0, sizeof(r));
    snprintf(r.id, sizeof(r.id), "%s", id);
    r.state = state;
    r.started_unix_ns = now - 3 * SEC;
    r.duration_ns = 2 * SEC;
    r.ended_unix_ns = state == LYNX_SESSION_RUNNING ? 0 : now - SEC;
    r.hz = 100;
    r.origin = LYNX_ORIGIN_API;
    r.in_table = 1;
    return r;
}

/* Two stacks in the table for record `index`: root>mid>leaf x30 and
 * root>other x10 (pcs leaf first), plus bad entries to be left out. */
static void fill_table(fake_block_t *fb, uint32_t index, int with_bad)
{
    lynx_cpu_table_t *t = fb->cpu;
    uint32_t n = 0;

    atomic_fetch_add(&t->gen, 1);
    t->session_index = index;
    t->period_ns = 10 * 1000 * 1000;
    t->stacks[n] = (lynx_cpu_stack_t){30, 3, 0, {0}};
    t->stacks[n].pcs[0] = addr(cs_leaf, 1);
    t->stacks[n].pcs[1] = addr(cs_mid, 4);
    t->stacks[n].pcs[2] = addr(cs_root, 4);
    n++;
    /* Labels as the agent writes them, the first also pushed twice under
     * one key (the innermost value wins). */
    t->stacks[n - 1].labels.tid = 101;
    memcpy(t->stacks[n - 1].labels.thread, "alpha", 6);
    t->stacks[n - 1].labels.nlabels = 2;
    memcpy(t->stacks[n - 1].labels.labels[0].key, "request", 8);
    memcpy(t->stacks[n - 1].labels.labels[0].value, "outer", 6);
    memcpy(t->stacks[n - 1].labels.labels[1].key, "request", 8);
    memcpy(t->stacks[n - 1].labels.labels[1].value, "search", 7);
    t->stacks[n] = (lynx_cpu_stack_t){10, 2, 0, {0}};
    /* ... and as a hostile one could: a name without its NUL with a byte
     * that is not UTF-8, a reserved key, a count past the array. */
    t->stacks[n].labels.tid = 102;
    memset(t->stacks[n].labels.thread, 'b', LYNX_THREAD_NAME_MAX);
    t->stacks[n].labels.thread[3] = (char)0xff;
    t->stacks[n].labels.nlabels = 1000;
    memcpy(t->stacks[n].labels.labels[0].key, "thread", 7);
    memcpy(t->stacks[n].labels.labels[0].value, "fake", 5);
    t->stacks[n].pcs[0] = addr(cs_other, 2);
    t->stacks[n].pcs[1] = addr(cs_root, 9);
    n++;
    if (with_bad) {
        t->stacks[n++] = (lynx_cpu_stack_t){5, 0, 0, {0}};  /* depth 0 */
        t->stacks[n++] = (lynx_cpu_stack_t){5, 65, 0, {0}}; /* too deep */
        t->stacks[n] = (lynx_cpu_stack_t){0, 1, 0, {0}};    /* no count */
        t->stacks[n++].pcs[0] = addr(cs_leaf, 1);
    }
    atomic_store(&t->nstacks, n);
    t->samples = 40;
    t->lost_samples = 2;
}

static void fill_modules(fake_block_t *fb, int with_bad)
{
    lynx_modules_t *m = fb->modules;

    atomic_fetch_add(&m->generation, 1);
    memcpy(m->modules, g_mods, g_nmods * sizeof(lynx_module_t));
    m->nmodules = (uint32_t)g_nmods;
    if (with_bad) {
        lynx_module_t *b = &m->modules[m->nmodules++];
        memset(b, 0, sizeof(*b));
        b->start = 100;
        b->limit = 50; /* limit <= start */
        memset(b->path, 'x', sizeof(b->path)); /* no NUL */
    }
    atomic_fetch_add(&m->generation, 1);
}

/* The fake agent: records the commands, answers as configured. */
typedef struct agent_ctx {
    fake_block_t *fb;
    int nstart, nstop, nspooled, nforget;
    int start_notready_once; /* first START: ENOTREADY */
    int start_conflict;      /* every START: ECONFLICT with running_id */
    char running_id[LYNX_SESSION_ID_MAX];
    char last_id[LYNX_SESSION_ID_MAX];
} agent_ctx_t;

static int agent_cb(void *arg, uint32_t command, const void *argp,
                    size_t arg_len, void *reply, size_t *reply_len)
{
    agent_ctx_t *a = arg;
    const lynx_session_arg_t *sa = argp;
    lynx_cpu_start_reply_t *rep = reply;

    switch (command) {
    case LYNX_CMD_CPU_START:
        a->nstart++;
        assert_int_equal(arg_len, sizeof(lynx_cpu_start_arg_t));
        memset(rep, 0, sizeof(*rep));
        *reply_len = sizeof(*rep);
        if (a->start_conflict) {
            snprintf(rep->id, sizeof(rep->id), "%s", a->running_id);
            return LYNX_ECONFLICT;
        }
        if (a->start_notready_once && a->nstart == 1) {
            return LYNX_ENOTREADY;
        }
        snprintf(rep->id, sizeof(rep->id), "cpu_%lld",
                 (long long)((const lynx_cpu_start_arg_t *)argp)->now_unix_ns);
        rep->started_unix_ns = lynx_real_ns();
        return 0;
    case LYNX_CMD_CPU_STOP: {
        lynx_session_t r;
        a->nstop++;
        for (uint32_t i = 0; i < LYNX_MAX_SESSIONS; i++) {
            if (strcmp(a->fb->sessions->sessions[i].id, sa->id) == 0) {
                r = a->fb->sessions->sessions[i];
                r.state = LYNX_SESSION_CANCELLED;
                r.ended_unix_ns = lynx_real_ns();
                fake_session_write(a->fb, i, &r);
                return 0;
            }
        }
        return LYNX_ENOSESSION;
    }
    case LYNX_CMD_CPU_SPOOLED:
        a->nspooled++;
        snprintf(a->last_id, sizeof(a->last_id), "%s", sa->id);
        for (uint32_t i = 0; i < LYNX_MAX_SESSIONS; i++) {
            lynx_session_t r = a->fb->sessions->sessions[i];
            if (r.state != 0 && strcmp(r.id, sa->id) == 0) {
                r.spooled = 1;
                r.in_table = 0;
                fake_session_write(a->fb, i, &r);
            }
        }
        return 0;
    case LYNX_CMD_CPU_FORGET:
        a->nforget++;
        for (uint32_t i = 0; i < LYNX_MAX_SESSIONS; i++) {
            lynx_session_t r = a->fb->sessions->sessions[i];
            if (r.state != 0 && strcmp(r.id, sa->id) == 0) {
                r.state = LYNX_SESSION_FREE;
                fake_session_write(a->fb, i, &r);
            }
        }
        return 0;
    default:
        return LYNX_EBADCMD;
    }
}

static uint8_t *gunzip(const uint8_t *in, size_t in_len, size_t *out_len)
{
    z_stream zs;
    size_t cap = 1 << 20;
    uint8_t *out = malloc(cap);
    int rc;

    assert_non_null(out);
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 15 + 32), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)in_len;
    zs.next_out = out;
    zs.avail_out = (uInt)cap;
    rc = inflate(&zs, Z_FINISH);
    assert_int_equal(rc, Z_STREAM_END);
    *out_len = zs.total_out;
    inflateEnd(&zs);
    return out;
}

static profile_t *decode(const uint8_t *gz, size_t len)
{
    size_t raw_len;
    uint8_t *raw;
    profile_t *p;

    assert_true(len > 2 && gz[0] == 0x1f && gz[1] == 0x8b);
    raw = gunzip(gz, len, &raw_len);
    p = perftools__profiles__profile__unpack(NULL, raw_len, raw);
    free(raw);
    assert_non_null(p);
    return p;
}

static const char *pstr(const profile_t *p, int64_t i)
{
    assert_in_range(i, 0, p->n_string_table - 1);
    return p->string_table[i];
}

/* Name of the outermost function at location id. */
static const char *loc_name(const profile_t *p, uint64_t id)
{
    for (size_t i = 0; i < p->n_location; i++) {
        const Perftools__Profiles__Location *l = p->location[i];
        if (l->id != id || l->n_line == 0) {
            continue;
        }
        for (size_t k = 0; k < p->n_function; k++) {
            if (p->function[k]->id == l->line[l->n_line - 1]->function_id) {
                return pstr(p, p->function[k]->name);
            }
        }
    }
    return "?";
}

/* ---- tests ------------------------------------------------------------------------ */

static void test_ids(void **state)
{
    (void)state;
    assert_true(lynx_cpu_id_valid("cpu_1"));
    assert_true(lynx_cpu_id_valid("cpu_1732800000123456789"));
    assert_true(lynx_cpu_id_valid("cpu_12345678901234567890"));
    assert_false(lynx_cpu_id_valid("cpu_123456789012345678901"));
    assert_false(lynx_cpu_id_valid("cpu_"));
    assert_false(lynx_cpu_id_valid("cpu_12a"));
    assert_false(lynx_cpu_id_valid("cpu_-1"));
    assert_false(lynx_cpu_id_valid("cpu_1 "));
    assert_false(lynx_cpu_id_valid("CPU_1"));
    assert_false(lynx_cpu_id_valid("heap_1"));
    assert_false(lynx_cpu_id_valid("../x"));
    assert_false(lynx_cpu_id_valid("cpu_1/../x"));
    assert_false(lynx_cpu_id_valid(""));
    assert_false(lynx_cpu_id_valid(NULL));
    assert_string_equal(lynx_cpu_state_name(LYNX_CPU_CANCELLED), "cancelled");
    assert_string_equal(lynx_cpu_state_name(99), "unknown");
}

static void test_record_check(void **state)
{
    lynx_session_t good = make_record("cpu_42", LYNX_SESSION_COMPLETED);
    lynx_session_t r;
    lynx_session_t shared;
    (void)state;

    assert_int_equal(lynx_cpu_record_check(&good), 0);
    r = good;
    r.state = LYNX_SESSION_FREE;
    assert_int_equal(lynx_cpu_record_check(&r), LYNX_ENOSESSION);
#define BAD(stmt)                                                              \
    do {                                                                       \
        r = good;                                                              \
        stmt;                                                                  \
        assert_int_equal(lynx_cpu_record_check(&r), LYNX_EPROTO);              \
    } while (0)
    BAD(r.state = 5);
    BAD(memset(r.id, 'a', sizeof(r.id)));
    BAD(snprintf(r.id, sizeof(r.id), "cpu_x"));
    BAD(snprintf(r.id, sizeof(r.id), "../../etc"));
    BAD(memset(r.error, 'e', sizeof(r.error)));
    BAD(r.hz = 0);
    BAD(r.hz = 1001);
    BAD(r.origin = 7);
    BAD(r.duration_ns = 0);
    BAD(r.duration_ns = -1);
    BAD(r.started_unix_ns = 0);
    BAD(r.ended_unix_ns = r.started_unix_ns - 1);
    BAD(r.in_table = 2);
    BAD(r.spooled = 3);
    BAD(r.state = LYNX_SESSION_RUNNING); /* running with an end time */
#undef BAD

    /* The seqlock: a stable copy reads, a writer that never ends does not. */
    shared = good;
    atomic_store(&shared.gen, 4);
    assert_int_equal(lynx_cpu_record_read(&shared, &r), 0);
    assert_string_equal(r.id, "cpu_42");
    atomic_store(&shared.gen, 5);
    {
        int64_t t0 = lynx_mono_ns();
        assert_int_equal(lynx_cpu_record_read(&shared, &r), LYNX_EBUSY);
        assert_true(lynx_mono_ns() - t0 < 2 * SEC);
    }
}

/* Session cpu_1001's flame JSON with tagfocus has `with` and not
 * `without` (NULL: not checked). */
static void flame_has(lynx_cpu_t *c, const char *tagfocus, const char *with,
                      const char *without)
{
    json_object *flame = NULL;

    assert_int_equal(lynx_cpu_flame(c, "cpu_1001", tagfocus, NULL, &flame,
                                    NULL, NULL), 0);
    assert_non_null(strstr(lynx_json_text(flame), with));
    if (without != NULL) {
        assert_null(strstr(lynx_json_text(flame), without));
    }
    json_object_put(flame);
}

/* The same for its folded text ("" as `with`: empty text). */
static void folded_has(lynx_cpu_t *c, const char *tagfocus, const char *with,
                       const char *without)
{
    char *text = NULL;
    size_t len = 0;

    assert_int_equal(lynx_cpu_flame(c, "cpu_1001", tagfocus, NULL, NULL,
                                    &text, &len), 0);
    assert_non_null(text);
    if (with[0] == '\0') {
        assert_int_equal(len, 0);
    } else {
        assert_non_null(strstr(text, with));
    }
    assert_null(strstr(text, without));
    free(text);
}

/* A completed session in a fake block is spooled on lookup: the files are
 * there, the pprof decodes to the table's samples, the agent is told. */
static void test_spool_and_decode(void **state)
{
    fake_block_t fb;
    agent_ctx_t a;
    lynx_cpu_t *c;
    lynx_session_t r = make_record("cpu_1001", LYNX_SESSION_COMPLETED);
    lynx_cpu_session_t s;
    uint8_t *data;
    size_t len;
    profile_t *p;
    int found_chain = 0;
    (void)state;

    rm_spool();
    memset(&a, 0, sizeof(a));
    assert_int_equal(fake_block_create_cpu(&fb, fake_name("cs"), getpid(),
                                           LYNX_MAX_MODULES, 64), 0);
    a.fb = &fb;
    fill_modules(&fb, 1);
    fill_table(&fb, 3, 1);
    fake_session_write(&fb, 3, &r);
    assert_int_equal(fake_agent_start(&fb, agent_cb, &a), 0);
    c = lynx_cpu_create(g_spool, SEC);
    assert_non_null(c);

    assert_int_equal(lynx_cpu_get(c, "cpu_1001", &s), 0);
    assert_true(s.spooled);
    assert_int_equal(s.state, LYNX_CPU_COMPLETED);
    assert_string_equal(s.target, fb.name);
    assert_int_equal(s.pid, getpid());
    assert_int_equal(s.samples, 40);  /* sum of the valid entries */
    assert_int_equal(s.lost_samples, 2);
    assert_true(s.data_size_bytes > 0);
    assert_int_equal(s.started_unix_ns, r.started_unix_ns);
    assert_int_equal(s.ended_unix_ns, r.ended_unix_ns);
    assert_int_equal(a.nspooled, 1);
    assert_int_equal(a.nforget, 1);
    assert_int_equal(count_files(".json"), 1);
    assert_int_equal(count_files(".pb.gz"), 1);
    assert_int_equal(count_files(".stacks"), 1);
    /* The record is gone from the block: the spool answers alone. */
    assert_int_equal(fb.sessions->sessions[3].state, LYNX_SESSION_FREE);
    memset(&s, 0, sizeof(s));
    assert_int_equal(lynx_cpu_get(c, "cpu_1001", &s), 0);
    assert_int_equal(s.samples, 40);

    /* The id may live in the session being filled. */
    assert_int_equal(lynx_cpu_get(c, s.id, &s), 0);
    assert_string_equal(s.id, "cpu_1001");
    assert_int_equal(lynx_cpu_profile(c, s.id, &s, &data, &len), 0);
    assert_int_equal((int64_t)len, s.data_size_bytes);
    p = decode(data, len);
    assert_int_equal(p->n_sample_type, 2);
    assert_string_equal(pstr(p, p->sample_type[0]->type), "samples");
    assert_string_equal(pstr(p, p->sample_type[0]->unit), "count");
    assert_string_equal(pstr(p, p->sample_type[1]->type), "cpu");
    assert_string_equal(pstr(p, p->sample_type[1]->unit), "nanoseconds");
    assert_string_equal(pstr(p, p->period_type->type), "cpu");
    assert_string_equal(pstr(p, p->period_type->unit), "nanoseconds");
    assert_int_equal(p->period, 10 * 1000 * 1000);
    assert_int_equal(p->time_nanos, r.started_unix_ns);
    assert_int_equal(p->duration_nanos, r.ended_unix_ns - r.started_unix_ns);
    assert_int_equal(p->n_sample, 2);
    assert_true(p->n_mapping >= 1);
    for (size_t i = 0; i < p->n_sample; i++) {
        const Perftools__Profiles__Sample *smp = p->sample[i];
        assert_int_equal(smp->n_value, 2);
        assert_int_equal(smp->value[1], smp->value[0] * 10 * 1000 * 1000);
        if (smp->value[0] == 30) {
            assert_int_equal(smp->n_label, 3);
            assert_string_equal(pstr(p, smp->label[0]->key), "thread");
            assert_string_equal(pstr(p, smp->label[0]->str), "alpha");
            assert_string_equal(pstr(p, smp->label[1]->key), "tid");
            assert_int_equal(smp->label[1]->num, 101);
            assert_string_equal(pstr(p, smp->label[2]->key), "request");
            assert_string_equal(pstr(p, smp->label[2]->str), "search");
            assert_int_equal(smp->n_location_id, 3);
            assert_string_equal(loc_name(p, smp->location_id[0]), "cs_leaf");
            assert_string_equal(loc_name(p, smp->location_id[1]), "cs_mid");
            assert_string_equal(loc_name(p, smp->location_id[2]), "cs_root");
            found_chain = 1;
        } else {
            assert_int_equal(smp->value[0], 10);
            assert_string_equal(loc_name(p, smp->location_id[0]), "cs_other");
            /* Bounded, escaped, the reserved key dropped. */
            assert_int_equal(smp->n_label, 2);
            assert_string_equal(pstr(p, smp->label[0]->str),
                                "bbb\\xffbbbbbbbbbbbb");
            assert_int_equal(smp->label[1]->num, 102);
        }
    }
    assert_true(found_chain);
    perftools__profiles__profile__free_unpacked(p, NULL);
    free(data);

    /* The same samples as flame JSON and folded text. */
    {
        json_object *flame = NULL;
        char *text = NULL;
        size_t tlen = 0;
        assert_int_equal(lynx_cpu_flame(c, "cpu_1001", NULL, NULL, &flame,
                                        NULL, NULL), 0);
        assert_non_null(strstr(lynx_json_text(flame), "cs_mid"));
        assert_non_null(strstr(lynx_json_text(flame), "cs_other"));
        /* Labels summed per value, as shares of the total. */
        assert_non_null(strstr(lynx_json_text(flame),
                               "\"labels\":{\"thread\":{\"alpha\":300000000,"
                               "\"bbb\\\\xffbbbbbbbbbbbb\":100000000},"
                               "\"request\":{\"search\":300000000}}"));
        assert_non_null(strstr(lynx_json_text(flame),
                               "\"labels_total\":400000000"));
        json_object_put(flame);
        /* Only one label's samples, by string or numeric label. */
        flame_has(c, "thread=alpha", "cs_mid", "cs_other");
        flame_has(c, "thread=alpha", "\"tagfocus\":\"thread=alpha\"", NULL);
        flame_has(c, "tid=102", "cs_other", "cs_mid");
        flame_has(c, "request=none", "\"stacks\":[]", "cs_mid");
        flame = NULL;
        assert_int_equal(lynx_cpu_flame(c, "cpu_1001", "thread", NULL,
                                        &flame, NULL, NULL), -EINVAL);
        assert_null(flame);
        assert_int_equal(lynx_cpu_flame(c, "cpu_1001", NULL, NULL, NULL,
                                        &text, &tlen), 0);
        assert_non_null(strstr(text, "cs_root;cs_mid;cs_leaf 30"));
        assert_non_null(strstr(text, "cs_other"));
        free(text);
        /* Folded text keeps to the label too, and refuses a bad one. */
        folded_has(c, "thread=alpha", "cs_root;cs_mid;cs_leaf 30", "cs_other");
        folded_has(c, "tid=102", "cs_other", "cs_mid");
        folded_has(c, "request=none", "", "cs_");
        text = NULL;
        assert_int_equal(lynx_cpu_flame(c, "cpu_1001", "=x", NULL, NULL,
                                        &text, &tlen), -EINVAL);
        assert_null(text);
    }
    /* Its status document. */
    {
        json_object *o = lynx_cpu_json(&s, LYNX_CPU_FORM_STATUS, lynx_real_ns(), NULL);
        const char *j = lynx_json_text(o);
        assert_non_null(strstr(j, "\"status\":\"completed\""));
        assert_non_null(strstr(j, "\"done\":true"));
        assert_non_null(strstr(j, "\"duration\":\"2s\""));
        assert_non_null(strstr(j, "\"remaining\":\"0s\""));
        assert_non_null(strstr(j, "\"data_size\":"));
        assert_null(strstr(j, "\"error\""));
        json_object_put(o);
    }
    assert_int_equal(lynx_cpu_stop(c, "cpu_1001", &s), LYNX_ENOTREADY);
    assert_int_equal(lynx_cpu_get(c, "cpu_999", &s), LYNX_ENOSESSION);
    assert_int_equal(lynx_cpu_get(c, "cpu_x", &s), LYNX_EBADARG);
    lynx_cpu_destroy(c);
    fake_block_destroy(&fb);
}

/* A table that is not the session's: the session is saved without data. */
static void test_table_of_another_session(void **state)
{
    fake_block_t fb;
    agent_ctx_t a;
    lynx_cpu_t *c;
    lynx_session_t r = make_record("cpu_1002", LYNX_SESSION_FAILED);
    lynx_cpu_session_t s;
    uint8_t *data;
    size_t len;
    (void)state;

    rm_spool();
    memset(&a, 0, sizeof(a));
    snprintf(r.error, sizeof(r.error), "could not arm CPU timers");
    assert_int_equal(fake_block_create_cpu(&fb, fake_name("cs"), getpid(),
                                           16, 16), 0);
    a.fb = &fb;
    fill_table(&fb, 5, 0); /* belongs to record 5 */
    fake_session_write(&fb, 0, &r);
    assert_int_equal(fake_agent_start(&fb, agent_cb, &a), 0);
    c = lynx_cpu_create(g_spool, SEC);
    assert_int_equal(lynx_cpu_get(c, "cpu_1002", &s), 0);
    assert_int_equal(s.state, LYNX_CPU_FAILED);
    assert_string_equal(s.error, "could not arm CPU timers");
    assert_int_equal(s.data_size_bytes, -1);
    assert_int_equal(count_files(".pb.gz"), 0);
    assert_int_equal(lynx_cpu_profile(c, "cpu_1002", &s, &data, &len),
                     -ENODATA);
    lynx_cpu_destroy(c);
    fake_block_destroy(&fb);
}

/* A live process whose agent no longer beats (stopped): its session runs
 * until duration + 5 s, then is failed, "target stopped responding", and
 * saved with its samples; no mailbox call waits on the silent agent. */
static void test_stalled_target(void **state)
{
    fake_block_t fb;
    lynx_cpu_t *c;
    lynx_session_t r = make_record("cpu_3101", LYNX_SESSION_RUNNING);
    lynx_cpu_session_t s;
    int64_t t0;
    (void)state;

    rm_spool();
    assert_int_equal(fake_block_create_cpu(&fb, fake_name("cs"), getpid(),
                                           LYNX_MAX_MODULES, 64), 0);
    fill_modules(&fb, 0);
    fill_table(&fb, 1, 0);
    atomic_store(&fb.header->heartbeat_ns, lynx_mono_ns() - 10 * SEC);
    r.started_unix_ns = lynx_real_ns() - 5 * SEC; /* ends in 1 + 5 s */
    r.duration_ns = 6 * SEC;
    fake_session_write(&fb, 1, &r);
    c = lynx_cpu_create(g_spool, SEC);
    assert_int_equal(lynx_cpu_get(c, "cpu_3101", &s), 0);
    assert_int_equal(s.state, LYNX_CPU_RUNNING);

    r.started_unix_ns = lynx_real_ns() - 8 * SEC; /* ended 2 s ago */
    r.duration_ns = 6 * SEC;
    fake_session_write(&fb, 1, &r);
    assert_int_equal(lynx_cpu_get(c, "cpu_3101", &s), 0);
    assert_int_equal(s.state, LYNX_CPU_RUNNING);

    r.started_unix_ns = lynx_real_ns() - 12 * SEC; /* ended 6 s ago */
    fake_session_write(&fb, 1, &r);
    t0 = lynx_mono_ns();
    assert_int_equal(lynx_cpu_get(c, "cpu_3101", &s), 0);
    assert_true(lynx_mono_ns() - t0 < SEC / 2);
    assert_int_equal(s.state, LYNX_CPU_FAILED);
    assert_string_equal(s.error, "target stopped responding");
    assert_true(s.spooled);
    assert_true(s.data_size_bytes > 0);
    assert_int_equal(s.samples, 40);
    assert_true(s.ended_unix_ns >= s.started_unix_ns);
    assert_true(s.ended_unix_ns <= s.started_unix_ns + s.duration_ns);
    /* Resumed: the agent beats again; the saved verdict stays. */
    atomic_store(&fb.header->heartbeat_ns, lynx_mono_ns());
    assert_int_equal(lynx_cpu_get(c, "cpu_3101", &s), 0);
    assert_int_equal(s.state, LYNX_CPU_FAILED);
    lynx_cpu_destroy(c);
    fake_block_destroy(&fb);
}

/* Two processes spool the same session at the same moment: one intact
 * set of files, no temporary file left. */
static void test_concurrent_spool(void **state)
{
    fake_block_t fb;
    lynx_session_t r = make_record("cpu_2001", LYNX_SESSION_COMPLETED);
    int go[2];
    pid_t kids[2];
    uint8_t *data;
    size_t len;
    profile_t *p;
    (void)state;

    for (int round = 0; round < 5; round++) {
        rm_spool();
        assert_int_equal(fake_block_create_cpu(&fb, fake_name("cs"),
                                               getpid(), LYNX_MAX_MODULES,
                                               64), 0);
        fill_modules(&fb, 0);
        fill_table(&fb, 0, 0);
        fake_session_write(&fb, 0, &r);
        assert_int_equal(pipe(go), 0);
        for (int k = 0; k < 2; k++) {
            kids[k] = fork();
            assert_true(kids[k] >= 0);
            if (kids[k] == 0) {
                char b;
                lynx_target_t *t;
                lynx_cpu_t *c = lynx_cpu_create(g_spool, SHORT_TIMEOUT_NS);
                int rc;
                close(go[1]);
                if (c == NULL ||
                    lynx_target_attach(fb.name, LYNX_ATTACH_ALLOW_DEAD, &t) !=
                        0 ||
                    read(go[0], &b, 1) != 0) {
                    _exit(2);
                }
                /* No agent answers: SPOOLED times out, harmlessly. */
                rc = lynx_cpu_spool_record(c, t, 0);
                lynx_target_close(t);
                lynx_cpu_destroy(c);
                _exit(rc == 0 ? 0 : 1);
            }
        }
        close(go[0]);
        close(go[1]); /* both start now */
        for (int k = 0; k < 2; k++) {
            int st;
            assert_int_equal(waitpid(kids[k], &st, 0), kids[k]);
            assert_true(WIFEXITED(st));
            assert_int_equal(WEXITSTATUS(st), 0);
        }
        assert_int_equal(count_files(".json"), 1);
        assert_int_equal(count_files(".pb.gz"), 1);
        assert_int_equal(cpu_spool_sweep_tmp(g_spool, -SEC), 0);
        assert_int_equal(cpu_spool_read_file(g_spool, "cpu_2001", ".pb.gz",
                                             &data, &len), 0);
        p = decode(data, len);
        assert_int_equal(p->n_sample, 2);
        perftools__profiles__profile__free_unpacked(p, NULL);
        free(data);
        fake_block_destroy(&fb);
    }
}

/* A RUNNING session of a process that has died: failed with the reason,
 * samples kept, at once; deleting it does not bring it back. */
static void test_dead_target(void **state)
{
    fake_block_t fb;
    lynx_cpu_t *c;
    lynx_session_t r = make_record("cpu_3001", LYNX_SESSION_RUNNING);
    lynx_cpu_session_t s;
    lynx_cpu_session_t *list;
    size_t n;
    char want[64];
    int64_t t0;
    int st;
    pid_t kid = fork();
    (void)state;

    rm_spool();
    assert_true(kid >= 0);
    if (kid == 0) {
        pause();
        _exit(0);
    }
    r.duration_ns = 60 * SEC;
    assert_int_equal(fake_block_create_cpu(&fb, fake_name("cs"), kid,
                                           LYNX_MAX_MODULES, 64), 0);
    fill_modules(&fb, 0);
    fill_table(&fb, 1, 0);
    fake_session_write(&fb, 1, &r);
    c = lynx_cpu_create(g_spool, SHORT_TIMEOUT_NS);
    assert_int_equal(lynx_cpu_get(c, "cpu_3001", &s), 0);
    assert_int_equal(s.state, LYNX_CPU_RUNNING);
    assert_int_equal(lynx_cpu_delete(c, "cpu_3001"), LYNX_ENOTREADY);

    kill(kid, SIGKILL);
    waitpid(kid, &st, 0);
    t0 = lynx_mono_ns();
    assert_int_equal(lynx_cpu_get(c, "cpu_3001", &s), 0);
    assert_true(lynx_mono_ns() - t0 < 2 * SEC);
    snprintf(want, sizeof(want), "target process exited (pid %d)", (int)kid);
    assert_int_equal(s.state, LYNX_CPU_FAILED);
    assert_string_equal(s.error, want);
    assert_true(s.spooled);
    assert_true(s.data_size_bytes > 0);
    assert_int_equal(s.samples, 40);
    assert_true(s.ended_unix_ns >= s.started_unix_ns);
    assert_true(s.ended_unix_ns <= lynx_real_ns());

    assert_int_equal(lynx_cpu_delete(c, "cpu_3001"), 0);
    assert_int_equal(count_files(".json"), 0);
    assert_int_equal(count_files(".gone"), 1);
    assert_int_equal(lynx_cpu_get(c, "cpu_3001", &s), LYNX_ENOSESSION);
    assert_true(lynx_cpu_housekeep(c, 3600 * SEC, 0) >= 0);
    assert_int_equal(lynx_cpu_get(c, "cpu_3001", &s), LYNX_ENOSESSION);
    assert_int_equal(lynx_cpu_list(c, NULL, &list, &n), 0);
    assert_int_equal(n, 0);
    free(list);
    assert_int_equal(lynx_cpu_delete(c, "cpu_3001"), LYNX_ENOSESSION);
    /* Once the block is gone, the tombstone goes at the next cleanup. */
    fake_block_destroy(&fb);
    assert_true(lynx_cpu_housekeep(c, 3600 * SEC, 0) >= 0);
    assert_int_equal(count_files(".gone"), 0);
    lynx_cpu_destroy(c);
}

/* Start: ENOTREADY spools the table's session and retries; ECONFLICT
 * hands back the running id. */
static void test_start(void **state)
{
    fake_block_t fb;
    agent_ctx_t a;
    lynx_cpu_t *c;
    lynx_session_t old = make_record("cpu_4001", LYNX_SESSION_COMPLETED);
    lynx_cpu_session_t s;
    (void)state;

    rm_spool();
    memset(&a, 0, sizeof(a));
    assert_int_equal(fake_block_create_cpu(&fb, fake_name("cs"), getpid(),
                                           LYNX_MAX_MODULES, 64), 0);
    a.fb = &fb;
    a.start_notready_once = 1;
    fill_modules(&fb, 0);
    fill_table(&fb, 2, 0);
    fake_session_write(&fb, 2, &old);
    assert_int_equal(fake_agent_start(&fb, agent_cb, &a), 0);
    c = lynx_cpu_create(g_spool, SEC);

    assert_int_equal(lynx_cpu_start(c, fb.name, 0, 100, LYNX_ORIGIN_API, &s),
                     LYNX_EBADARG);
    assert_int_equal(lynx_cpu_start(c, fb.name, SEC, 1001, LYNX_ORIGIN_API,
                                    &s), LYNX_EBADARG);
    assert_int_equal(lynx_cpu_start(c, fb.name, 30 * SEC, 100,
                                    LYNX_ORIGIN_API, &s), 0);
    assert_int_equal(a.nstart, 2);
    assert_int_equal(a.nspooled, 1);
    assert_string_equal(a.last_id, "cpu_4001");
    assert_true(cpu_spool_exists(g_spool, "cpu_4001", ".pb.gz"));
    assert_true(lynx_cpu_id_valid(s.id));
    assert_int_equal(s.state, LYNX_CPU_RUNNING);
    assert_int_equal(s.duration_ns, 30 * SEC);
    assert_int_equal(s.hz, 100);
    assert_string_equal(s.target, fb.name);
    {
        json_object *o = lynx_cpu_json(&s, LYNX_CPU_FORM_STARTED, 0, NULL);
        const char *j = lynx_json_text(o);
        assert_non_null(strstr(j, "\"status\":\"started\""));
        assert_non_null(strstr(j, "\"duration\":\"30s\""));
        assert_non_null(strstr(j, "\"type\":\"cpu\""));
        json_object_put(o);
    }

    a.start_conflict = 1;
    snprintf(a.running_id, sizeof(a.running_id), "cpu_777");
    assert_int_equal(lynx_cpu_start(c, fb.name, SEC, 100, LYNX_ORIGIN_DEBUG,
                                    &s), LYNX_ECONFLICT);
    assert_string_equal(s.id, "cpu_777");
    snprintf(a.running_id, sizeof(a.running_id), "../bad");
    assert_int_equal(lynx_cpu_start(c, fb.name, SEC, 100, LYNX_ORIGIN_DEBUG,
                                    &s), LYNX_ECONFLICT);
    assert_string_equal(s.id, "");
    assert_int_equal(lynx_cpu_start(c, "no-such-target", SEC, 100,
                                    LYNX_ORIGIN_API, &s), LYNX_ENOTARGET);
    lynx_cpu_destroy(c);
    fake_block_destroy(&fb);
}

/* Stop, list (newest first, running included; it writes nothing),
 * delete. */
static void test_stop_list_delete(void **state)
{
    fake_block_t fb;
    agent_ctx_t a;
    lynx_cpu_t *c;
    lynx_session_t run = make_record("cpu_5002", LYNX_SESSION_RUNNING);
    lynx_session_t done = make_record("cpu_5001", LYNX_SESSION_COMPLETED);
    lynx_cpu_session_t s;
    lynx_cpu_session_t *list;
    size_t n;
    (void)state;

    rm_spool();
    memset(&a, 0, sizeof(a));
    assert_int_equal(fake_block_create_cpu(&fb, fake_name("cs"), getpid(),
                                           LYNX_MAX_MODULES, 64), 0);
    a.fb = &fb;
    run.duration_ns = 60 * SEC;
    run.started_unix_ns = lynx_real_ns() - SEC;
    done.in_table = 0;
    done.spooled = 0;
    fill_modules(&fb, 0);
    fill_table(&fb, 1, 0);
    fake_session_write(&fb, 0, &done);
    fake_session_write(&fb, 1, &run);
    assert_int_equal(fake_agent_start(&fb, agent_cb, &a), 0);
    c = lynx_cpu_create(g_spool, SEC);

    assert_int_equal(lynx_cpu_list(c, NULL, &list, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(list[0].id, "cpu_5002"); /* newest first */
    assert_int_equal(list[0].state, LYNX_CPU_RUNNING);
    assert_string_equal(list[1].id, "cpu_5001");
    assert_int_equal(list[1].state, LYNX_CPU_COMPLETED);
    /* Listing reads: the finished session is described from its record,
     * and nothing is written. */
    assert_false(list[1].spooled);
    assert_int_equal(count_files(".json"), 0);
    free(list);
    assert_int_equal(lynx_cpu_list(c, "other", &list, &n), 0);
    assert_int_equal(n, 0);
    free(list);
    {
        json_object *o;
        const char *j;
        assert_int_equal(lynx_cpu_get(c, "cpu_5002", &s), 0);
        o = lynx_cpu_json(&s, LYNX_CPU_FORM_STATUS, lynx_real_ns(), NULL);
        j = lynx_json_text(o);
        assert_non_null(strstr(j, "\"status\":\"running\""));
        assert_non_null(strstr(j, "\"done\":false"));
        assert_null(strstr(j, "ended_at"));
        json_object_put(o);
    }
    assert_int_equal(lynx_cpu_delete(c, "cpu_5002"), LYNX_ENOTREADY);
    assert_int_equal(lynx_cpu_profile(c, "cpu_5002", &s, &(uint8_t *){0},
                                      &(size_t){0}), LYNX_ENOTREADY);
    assert_int_equal(lynx_cpu_stop(c, "cpu_5002", &s), 0);
    assert_int_equal(a.nstop, 1);
    assert_int_equal(s.state, LYNX_CPU_CANCELLED);
    assert_true(s.spooled);
    assert_true(s.data_size_bytes > 0);
    assert_int_equal(lynx_cpu_stop(c, "cpu_5002", &s), LYNX_ENOTREADY);
    assert_int_equal(lynx_cpu_stop(c, "cpu_5999", &s), LYNX_ENOSESSION);

    assert_int_equal(lynx_cpu_delete(c, "cpu_5002"), 0);
    assert_int_equal(lynx_cpu_get(c, "cpu_5002", &s), LYNX_ENOSESSION);
    assert_int_equal(lynx_cpu_delete(c, "cpu_5002"), LYNX_ENOSESSION);
    assert_int_equal(lynx_cpu_delete(c, "cpu_5001"), 0);
    assert_int_equal(lynx_cpu_list(c, NULL, &list, &n), 0);
    assert_int_equal(n, 0);
    free(list);
    assert_int_equal(count_files(".json") + count_files(".pb.gz") +
                         count_files(".stacks") + count_files(".gone"), 0);
    lynx_cpu_destroy(c);
    fake_block_destroy(&fb);
}

static void spool_old(const char *id, int64_t ended_ago_ns)
{
    lynx_cpu_session_t s;
    int64_t now = lynx_real_ns();

    memset(&s, 0, sizeof(s));
    snprintf(s.id, sizeof(s.id), "%s", id);
    snprintf(s.target, sizeof(s.target), "t");
    s.pid = 1;
    s.state = LYNX_CPU_COMPLETED;
    s.origin = LYNX_ORIGIN_API;
    s.hz = 100;
    s.duration_ns = SEC;
    s.ended_unix_ns = now - ended_ago_ns;
    s.started_unix_ns = s.ended_unix_ns - SEC;
    assert_int_equal(cpu_spool_write(g_spool, &s, (const uint8_t *)"x", 1,
                                     (const uint8_t *)"y", 1), 0);
}

static void test_retention(void **state)
{
    lynx_cpu_t *c = lynx_cpu_create(g_spool, SHORT_TIMEOUT_NS);
    char tmp[512];
    struct timespec old[2] = {{1000, 0}, {1000, 0}};
    lynx_cpu_session_t s;
    int fd;
    (void)state;

    rm_spool();
    spool_old("cpu_6001", 2 * 3600 * SEC);
    spool_old("cpu_6002", 60 * SEC);
    snprintf(tmp, sizeof(tmp), "%s/.tmp-1-1-cpu_6003.json", g_spool);
    fd = open(tmp, O_WRONLY | O_CREAT, 0640);
    close(fd);
    utimensat(AT_FDCWD, tmp, old, 0);
    assert_int_equal(count_files(".json"), 3);

    assert_int_equal(lynx_cpu_housekeep(c, 3600 * SEC, 3600 * SEC), 1);
    assert_int_equal(lynx_cpu_get(c, "cpu_6001", &s), LYNX_ENOSESSION);
    assert_false(cpu_spool_exists(g_spool, "cpu_6001", ".pb.gz"));
    assert_false(cpu_spool_exists(g_spool, "cpu_6001", ".stacks"));
    assert_int_equal(lynx_cpu_get(c, "cpu_6002", &s), 0);
    assert_int_equal(access(tmp, F_OK), -1); /* stale temporary file */

    /* Not again before the interval, whatever any process asks. */
    spool_old("cpu_6004", 2 * 3600 * SEC);
    assert_int_equal(lynx_cpu_housekeep(c, 3600 * SEC, 3600 * SEC), 0);
    assert_int_equal(lynx_cpu_get(c, "cpu_6004", &s), 0);
    /* A shorter retention, due now, removes the young one too. */
    assert_int_equal(lynx_cpu_housekeep(c, 30 * SEC, 0), 2);
    assert_int_equal(count_files(".json"), 0);
    lynx_cpu_destroy(c);
}

/* A corrupt spool file is refused, not trusted. */
static void test_bad_spool_files(void **state)
{
    lynx_cpu_session_t s;
    char path[512];
    FILE *f;
    cpu_raw_t raw;
    (void)state;

    rm_spool();
    snprintf(path, sizeof(path), "%s/cpu_7001.json", g_spool);
    f = fopen(path, "w");
    fputs("{\"session_id\":\"cpu_7001\",\"status\":\"completed\"}", f);
    fclose(f);
    assert_int_equal(cpu_spool_read(g_spool, "cpu_7001", &s), LYNX_EPROTO);
    snprintf(path, sizeof(path), "%s/cpu_7002.json", g_spool);
    f = fopen(path, "w");
    fputs("not json", f);
    fclose(f);
    assert_int_equal(cpu_spool_read(g_spool, "cpu_7002", &s), LYNX_EPROTO);
    /* Described as damaged, with the reason. */
    assert_string_equal(s.id, "cpu_7002");
    assert_int_equal(s.state, LYNX_CPU_DAMAGED);
    assert_string_equal(s.error, "session record is not a JSON object");
    spool_old("cpu_7003", SEC);
    assert_int_equal(cpu_spool_read(g_spool, "cpu_7003", &s), 0);
    /* Another session's json under this name. */
    snprintf(path, sizeof(path), "%s/cpu_7003.json", g_spool);
    {
        char other[512];
        snprintf(other, sizeof(other), "%s/cpu_7004.json", g_spool);
        assert_int_equal(rename(path, other), 0);
    }
    assert_int_equal(cpu_spool_read(g_spool, "cpu_7004", &s), LYNX_EPROTO);
    assert_int_equal(cpu_raw_decode((const uint8_t *)"LYNXSTK1", 8, &raw),
                     -EINVAL);
}

static void write_file(const char *id, const char *ext, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s%s", g_spool, id, ext);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* The profile and stacks files are checked against the record's sizes and
 * CRC-32s; a damaged session is listed with its reason, the others not
 * affected, and it is never served. */
static void test_damaged_files(void **state)
{
    lynx_cpu_t *c = lynx_cpu_create(g_spool, SHORT_TIMEOUT_NS);
    lynx_cpu_session_t s;
    lynx_cpu_session_t *list;
    uint8_t *data;
    size_t len;
    size_t n;
    int damaged = 0;
    (void)state;

    rm_spool();
    spool_old("cpu_7101", SEC); /* "x" and "y", one byte each */
    spool_old("cpu_7102", SEC);
    spool_old("cpu_7103", SEC);
    spool_old("cpu_7104", SEC);
    assert_int_equal(cpu_spool_read(g_spool, "cpu_7101", &s), 0);
    assert_int_equal(s.state, LYNX_CPU_COMPLETED);
    write_file("cpu_7101", ".pb.gz", "");                /* truncated */
    write_file("cpu_7102", ".pb.gz", "z");               /* same size */
    write_file("cpu_7103", ".stacks", "yy");             /* extended */
    assert_int_equal(cpu_spool_read(g_spool, "cpu_7101", &s), LYNX_EPROTO);
    assert_int_equal(s.state, LYNX_CPU_DAMAGED);
    assert_string_equal(s.target, "t");
    assert_string_equal(s.error, "profile file has 0 bytes, 1 expected "
                                 "(truncated or overwritten)");
    assert_int_equal(cpu_spool_read(g_spool, "cpu_7102", &s), LYNX_EPROTO);
    assert_string_equal(s.error, "profile file corrupted (CRC-32 mismatch)");
    assert_int_equal(cpu_spool_read(g_spool, "cpu_7103", &s), LYNX_EPROTO);
    assert_string_equal(s.error, "stacks file has 2 bytes, 1 expected "
                                 "(truncated or overwritten)");

    assert_int_equal(lynx_cpu_list(c, NULL, &list, &n), 0);
    assert_int_equal(n, 4);
    for (size_t i = 0; i < n; i++) {
        if (list[i].state == LYNX_CPU_DAMAGED) {
            damaged++;
        } else {
            assert_string_equal(list[i].id, "cpu_7104");
        }
    }
    free(list);
    assert_int_equal(damaged, 3);
    assert_int_equal(lynx_cpu_get(c, "cpu_7102", &s), 0);
    assert_int_equal(s.state, LYNX_CPU_DAMAGED);
    assert_int_equal(lynx_cpu_profile(c, "cpu_7102", &s, &data, &len),
                     LYNX_EDAMAGED);
    assert_null(data);
    assert_int_equal(lynx_cpu_profile(c, "cpu_7104", &s, &data, &len), 0);
    assert_int_equal(len, 1);
    free(data);
    /* A damaged session can be deleted. */
    assert_int_equal(lynx_cpu_delete(c, "cpu_7101"), 0);
    assert_int_equal(lynx_cpu_get(c, "cpu_7101", &s), LYNX_ENOSESSION);
    lynx_cpu_destroy(c);
}

/* A temporary file of a writer that no longer exists (killed mid-write)
 * is swept at once; a live writer's is kept until it is old. */
static void test_sweep_dead_writer(void **state)
{
    char path[512];
    pid_t child;
    int fd;
    (void)state;

    rm_spool();
    child = fork();
    if (child == 0) {
        _exit(0);
    }
    assert_true(child > 0);
    waitpid(child, NULL, 0);
    snprintf(path, sizeof(path), "%s/.tmp-%d-0-cpu_7201.json", g_spool,
             (int)child);
    fd = open(path, O_WRONLY | O_CREAT, 0640);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "{\"sess", 7), 7);
    close(fd);
    snprintf(path, sizeof(path), "%s/.tmp-%d-0-cpu_7202.json", g_spool,
             (int)getpid());
    fd = open(path, O_WRONLY | O_CREAT, 0640);
    close(fd);
    assert_int_equal(cpu_spool_sweep_tmp(g_spool, 600 * SEC), 1);
    assert_int_equal(access(path, F_OK), 0);
    assert_int_equal(cpu_spool_sweep_tmp(g_spool, -1), 1);
}

/* Raw stacks survive their own format. */
static void test_raw_roundtrip(void **state)
{
    cpu_raw_t r;
    cpu_raw_t back;
    uint8_t *bytes;
    size_t len;
    (void)state;

    memset(&r, 0, sizeof(r));
    r.period_ns = 1000000;
    r.time_nanos = 5;
    r.duration_nanos = 7;
    r.mods = g_mods;
    r.nmods = g_nmods;
    r.stacks = calloc(2, sizeof(lynx_cpu_stack_t));
    r.nstacks = 2;
    r.stacks[0] = (lynx_cpu_stack_t){.count = 3, .depth = 2,
                                     .pcs = {11, 22}};
    r.stacks[0].labels.tid = 7;
    memcpy(r.stacks[0].labels.thread, "worker", 7);
    r.stacks[0].labels.nlabels = 1;
    memcpy(r.stacks[0].labels.labels[0].key, "request", 8);
    memcpy(r.stacks[0].labels.labels[0].value, "search", 7);
    r.stacks[1] = (lynx_cpu_stack_t){.count = 4, .depth = 1,
                                     .flags = LYNX_STACK_TRUNCATED,
                                     .pcs = {33}};
    assert_int_equal(cpu_raw_encode(&r, &bytes, &len), 0);
    assert_int_equal(cpu_raw_decode(bytes, len, &back), 0);
    assert_int_equal(back.nmods, g_nmods);
    assert_int_equal(back.nstacks, 2);
    assert_int_equal(back.stacks[0].pcs[1], 22);
    assert_int_equal(back.stacks[1].flags, LYNX_STACK_TRUNCATED);
    assert_int_equal(back.duration_nanos, 7);
    assert_memory_equal(&back.stacks[0].labels, &r.stacks[0].labels,
                        sizeof(lynx_sample_labels_t));
    assert_int_equal(back.stacks[1].labels.nlabels, 0);
    cpu_raw_fini(&back);
    /* Every truncation is refused. */
    for (size_t cut = 0; cut < len; cut += 7) {
        assert_int_equal(cpu_raw_decode(bytes, cut, &back), -EINVAL);
    }
    free(bytes);
    free(r.stacks);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids),
        cmocka_unit_test(test_record_check),
        cmocka_unit_test(test_spool_and_decode),
        cmocka_unit_test(test_table_of_another_session),
        cmocka_unit_test(test_concurrent_spool),
        cmocka_unit_test(test_dead_target),
        cmocka_unit_test(test_start),
        cmocka_unit_test(test_stop_list_delete),
        cmocka_unit_test(test_retention),
        cmocka_unit_test(test_bad_spool_files),
        cmocka_unit_test(test_damaged_files),
        cmocka_unit_test(test_stalled_target),
        cmocka_unit_test(test_sweep_dead_writer),
        cmocka_unit_test(test_raw_roundtrip),
    };

    fake_private_shm(); /* when we can (root): only our blocks */
    return cmocka_run_group_tests(tests, setup, teardown);
}
