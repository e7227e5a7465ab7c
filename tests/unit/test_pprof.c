/*
 * test_pprof.c - unit tests of lib/client/pprof*.c: profiles are built, then
 * decoded back with protobuf-c (after gunzip) and checked field by field;
 * finally `go tool pprof` itself must read them (skipped only when there is
 * no `go` on PATH).  Build with -O2 -g: the profiles name this program's own
 * functions, symbolized through lib/lynx_symbolize.c.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <json-c/json.h>
#include <zlib.h>

#include "client/pprof.h"
#include "client/profile.pb-c.h"
#include "fixtures/lynx_test_modules.h"

#define MAX_MODS 64

typedef Perftools__Profiles__Profile profile_t;

/* ---- code that appears in the profiles ---- */

static volatile int g_sink;
static void *volatile g_ra_root;  /* return address into lynx_p_root */
static void *volatile g_ra_outer; /* return address into lynx_p_outer */

__attribute__((noinline)) static void lynx_p_probe(void)
{
    g_ra_outer = __builtin_return_address(0);
    __asm__ volatile("" ::: "memory");
}

static inline int lynx_p_inlined(int x)
{
    lynx_p_probe();
    return x + g_sink;
}

__attribute__((noipa)) int lynx_p_outer(int x)
{
    g_ra_root = __builtin_return_address(0);
    return lynx_p_inlined(x) * 2 + g_sink;
}

__attribute__((noipa)) int lynx_p_root(int x)
{
    int r = lynx_p_outer(x);

    return r + g_sink;
}

__attribute__((noipa)) int lynx_p_leaf(int x)
{
    return x * 7 + g_sink;
}

__attribute__((noipa)) int lynx_p_other(int x)
{
    return x * 11 + g_sink;
}

/* ---- helpers ---- */

static lynx_module_t g_mods[MAX_MODS];
static size_t g_nmods;
static uint64_t g_leaf;  /* an instruction inside lynx_p_leaf (exact) */
static uint64_t g_other; /* an instruction inside lynx_p_other (exact) */
static uint64_t g_outer; /* return address into lynx_p_outer */
static uint64_t g_root;  /* return address into lynx_p_root */

static int setup(void **state)
{
    (void)state;
    g_nmods = test_modules_self(g_mods, MAX_MODS);
    assert_int_equal(lynx_p_root(1), 2 * (1 + g_sink) + g_sink);
    g_leaf = (uint64_t)(uintptr_t)&lynx_p_leaf + 1;
    g_other = (uint64_t)(uintptr_t)&lynx_p_other;
    g_outer = (uint64_t)(uintptr_t)g_ra_outer;
    g_root = (uint64_t)(uintptr_t)g_ra_root;
    return g_nmods > 0 ? 0 : -1;
}

/* Index of the module record of this executable in g_mods. */
static size_t self_module(void)
{
    const lynx_module_t *m;

    m = lynx_module_find(g_mods, g_nmods, g_leaf);
    assert_non_null(m);
    return (size_t)(m - g_mods);
}

static uint8_t *gunzip(const uint8_t *in, size_t in_len, size_t *out_len)
{
    z_stream zs;
    uint8_t *out;
    size_t cap = 1 << 20;
    int rc;

    out = malloc(cap);
    assert_non_null(out);
    memset(&zs, 0, sizeof(zs));
    assert_int_equal(inflateInit2(&zs, 15 + 32), Z_OK);
    zs.next_in = (Bytef *)(uintptr_t)in;
    zs.avail_in = (uInt)in_len;
    do {
        if (zs.total_out == cap) {
            cap *= 2;
            out = realloc(out, cap);
            assert_non_null(out);
        }
        zs.next_out = out + zs.total_out;
        zs.avail_out = (uInt)(cap - zs.total_out);
        rc = inflate(&zs, Z_NO_FLUSH);
        assert_true(rc == Z_OK || rc == Z_STREAM_END);
    } while (rc != Z_STREAM_END);
    *out_len = zs.total_out;
    inflateEnd(&zs);
    return out;
}

/* Encode p (gzipped or not), decode it back. */
static profile_t *roundtrip(lynx_pprof_t *p, lynx_symbolizer_t *sym, int gz)
{
    profile_t *prof;
    uint8_t *buf;
    uint8_t *raw;
    size_t len;
    size_t raw_len;

    assert_int_equal(lynx_pprof_encode(p, sym, gz, &buf, &len), 0);
    if (gz) {
        assert_true(len > 2 && buf[0] == 0x1f && buf[1] == 0x8b);
        raw = gunzip(buf, len, &raw_len);
        free(buf);
    } else {
        raw = buf;
        raw_len = len;
    }
    prof = perftools__profiles__profile__unpack(NULL, raw_len, raw);
    free(raw);
    assert_non_null(prof);
    return prof;
}

static const char *str(const profile_t *prof, int64_t i)
{
    assert_in_range(i, 0, prof->n_string_table - 1);
    return prof->string_table[i];
}

static const Perftools__Profiles__Location *location(const profile_t *prof,
                                                     uint64_t id)
{
    size_t i;

    for (i = 0; i < prof->n_location; i++) {
        if (prof->location[i]->id == id) {
            return prof->location[i];
        }
    }
    fail_msg("no location %llu", (unsigned long long)id);
    return NULL;
}

static const Perftools__Profiles__Function *function(const profile_t *prof,
                                                     uint64_t id)
{
    size_t i;

    for (i = 0; i < prof->n_function; i++) {
        if (prof->function[i]->id == id) {
            return prof->function[i];
        }
    }
    fail_msg("no function %llu", (unsigned long long)id);
    return NULL;
}

/* Name of line k of location id. */
static const char *line_name(const profile_t *prof, uint64_t id, size_t k)
{
    const Perftools__Profiles__Location *l = location(prof, id);

    assert_true(k < l->n_line);
    return str(prof, function(prof, l->line[k]->function_id)->name);
}

static lynx_pprof_t *cpu_profile(void)
{
    lynx_pprof_t *p;

    p = lynx_pprof_create();
    assert_non_null(p);
    assert_int_equal(lynx_pprof_add_sample_type(p, "samples", "count"), 0);
    assert_int_equal(lynx_pprof_add_sample_type(p, "cpu", "nanoseconds"), 0);
    assert_int_equal(lynx_pprof_set_period(p, "cpu", "nanoseconds", 10000000),
                     0);
    lynx_pprof_set_time(p, 1700000000000000000LL, 30000000000LL);
    return p;
}

/* ---- tests ---- */

static void test_header_fields(void **state)
{
    lynx_pprof_t *p;
    profile_t *prof;
    uint64_t pcs[1] = {0x1000};
    int64_t v[2] = {1, 10000000};
    size_t i;
    size_t j;

    (void)state;
    p = cpu_profile();
    assert_int_equal(lynx_pprof_add_comment(p, "lynxprof test"), 0);
    assert_int_equal(lynx_pprof_add_comment(p, "cpu"), 0); /* dedup: "cpu" */
    assert_int_equal(lynx_pprof_set_default_sample_type(p, "cpu"), 0);
    assert_int_equal(lynx_pprof_set_drop_frames(p, "^runtime\\."), 0);
    assert_int_equal(lynx_pprof_add_sample(p, pcs, 1, 1, v, 2, NULL, 0), 0);
    prof = roundtrip(p, NULL, 0);

    assert_string_equal(str(prof, 0), "");
    for (i = 0; i < prof->n_string_table; i++) {
        for (j = i + 1; j < prof->n_string_table; j++) {
            assert_string_not_equal(prof->string_table[i],
                                    prof->string_table[j]);
        }
    }
    assert_int_equal(prof->n_sample_type, 2);
    assert_string_equal(str(prof, prof->sample_type[0]->type), "samples");
    assert_string_equal(str(prof, prof->sample_type[0]->unit), "count");
    assert_string_equal(str(prof, prof->sample_type[1]->type), "cpu");
    assert_string_equal(str(prof, prof->sample_type[1]->unit), "nanoseconds");
    assert_non_null(prof->period_type);
    assert_string_equal(str(prof, prof->period_type->type), "cpu");
    assert_string_equal(str(prof, prof->period_type->unit), "nanoseconds");
    assert_int_equal(prof->period, 10000000);
    assert_int_equal(prof->time_nanos, 1700000000000000000LL);
    assert_int_equal(prof->duration_nanos, 30000000000LL);
    assert_int_equal(prof->n_comment, 2);
    assert_string_equal(str(prof, prof->comment[0]), "lynxprof test");
    assert_string_equal(str(prof, prof->comment[1]), "cpu");
    assert_string_equal(str(prof, prof->default_sample_type), "cpu");
    assert_string_equal(str(prof, prof->drop_frames), "^runtime\\.");
    assert_int_equal(prof->keep_frames, 0);
    /* No modules: the address gets a location of no mapping, no lines. */
    assert_int_equal(prof->n_mapping, 0);
    assert_int_equal(prof->n_location, 1);
    assert_int_equal(prof->location[0]->mapping_id, 0);
    assert_int_equal(prof->location[0]->address, 0x1000);
    assert_int_equal(prof->location[0]->n_line, 0);
    assert_int_equal(prof->n_function, 0);
    perftools__profiles__profile__free_unpacked(prof, NULL);
    lynx_pprof_destroy(p);
}

static void test_merge_and_labels(void **state)
{
    lynx_pprof_t *p;
    profile_t *prof;
    const Perftools__Profiles__Sample *s;
    uint64_t a[3] = {0x5001, 0x6001, 0x7001};
    uint64_t b[2] = {0x5001, 0x6001};
    int64_t v[2] = {1, 10};
    lynx_label_t l1[2] = {{"thread", "worker-1", 0, NULL},
                          {"bytes", NULL, 4096, "bytes"}};
    size_t i;

    (void)state;
    p = cpu_profile();
    for (i = 0; i < 5; i++) {
        assert_int_equal(lynx_pprof_add_sample(p, a, 3, 1, v, 2, NULL, 0), 0);
    }
    assert_int_equal(lynx_pprof_add_sample(p, b, 2, 1, v, 2, NULL, 0), 0);
    /* Same pcs, not exact leaf: another stack (leaf looked up at pc - 1). */
    assert_int_equal(lynx_pprof_add_sample(p, b, 2, 0, v, 2, NULL, 0), 0);
    assert_int_equal(lynx_pprof_add_sample(p, a, 3, 1, v, 2, l1, 2), 0);
    assert_int_equal(lynx_pprof_add_sample(p, a, 3, 1, v, 2, l1, 2), 0);
    assert_int_equal(lynx_pprof_add_sample(p, a, 3, 1, v, 2, l1, 1), 0);
    assert_int_equal(lynx_pprof_nsamples(p), 5);
    prof = roundtrip(p, NULL, 1);

    assert_int_equal(prof->n_sample, 5);
    /* Sample 0: stack a, merged five times. */
    s = prof->sample[0];
    assert_int_equal(s->n_value, 2);
    assert_int_equal(s->value[0], 5);
    assert_int_equal(s->value[1], 50);
    assert_int_equal(s->n_location_id, 3);
    assert_int_equal(location(prof, s->location_id[0])->address, 0x5001);
    assert_int_equal(location(prof, s->location_id[1])->address, 0x6000);
    assert_int_equal(location(prof, s->location_id[2])->address, 0x7000);
    assert_int_equal(s->n_label, 0);
    /* Sample 1 and 2: exact leaf or not. */
    assert_int_equal(location(prof, prof->sample[1]->location_id[0])->address,
                     0x5001);
    assert_int_equal(location(prof, prof->sample[2]->location_id[0])->address,
                     0x5000);
    assert_int_equal(prof->sample[1]->location_id[1],
                     prof->sample[2]->location_id[1]);
    /* Sample 3: two labels, merged twice. */
    s = prof->sample[3];
    assert_int_equal(s->value[0], 2);
    assert_int_equal(s->n_label, 2);
    assert_string_equal(str(prof, s->label[0]->key), "thread");
    assert_string_equal(str(prof, s->label[0]->str), "worker-1");
    assert_string_equal(str(prof, s->label[1]->key), "bytes");
    assert_int_equal(s->label[1]->str, 0);
    assert_int_equal(s->label[1]->num, 4096);
    assert_string_equal(str(prof, s->label[1]->num_unit), "bytes");
    /* Sample 4: only the first label. */
    assert_int_equal(prof->sample[4]->n_label, 1);
    assert_int_equal(prof->sample[4]->value[1], 10);
    /* One location per distinct address: 0x5001 0x6000 0x7000 0x5000. */
    assert_int_equal(prof->n_location, 4);
    perftools__profiles__profile__free_unpacked(prof, NULL);
    lynx_pprof_destroy(p);
}

/* A common label lands on every sample, after the sample's own labels,
 * except on a sample that has a label of that key already; setting a key
 * again replaces its value; the merging of stacks is unchanged. */
static void test_common_labels(void **state)
{
    lynx_pprof_t *p;
    profile_t *prof;
    uint64_t a[2] = {0x5001, 0x6001};
    uint64_t b[1] = {0x7001};
    int64_t v[2] = {1, 10};
    lynx_label_t own[1] = {{"thread", "worker-1", 0, NULL}};
    lynx_label_t host[1] = {{"host", "own-host", 0, NULL}};
    char key[8];
    int i;

    (void)state;
    p = cpu_profile();
    assert_int_equal(lynx_pprof_set_common_label(p, "host", "web-1"), 0);
    assert_int_equal(lynx_pprof_set_common_label(p, "host", "web-2"), 0);
    assert_int_equal(lynx_pprof_set_common_label(p, "dc", "fra"), 0);
    assert_int_equal(lynx_pprof_set_common_label(p, NULL, "x"), -EINVAL);
    assert_int_equal(lynx_pprof_set_common_label(p, "", "x"), -EINVAL);
    assert_int_equal(lynx_pprof_set_common_label(p, "k", NULL), -EINVAL);
    assert_int_equal(lynx_pprof_add_sample(p, a, 2, 1, v, 2, NULL, 0), 0);
    assert_int_equal(lynx_pprof_add_sample(p, a, 2, 1, v, 2, NULL, 0), 0);
    assert_int_equal(lynx_pprof_add_sample(p, a, 2, 1, v, 2, own, 1), 0);
    assert_int_equal(lynx_pprof_add_sample(p, b, 1, 1, v, 2, host, 1), 0);
    assert_int_equal(lynx_pprof_nsamples(p), 3);
    prof = roundtrip(p, NULL, 1);
    assert_int_equal(prof->n_sample, 3);
    /* No label of its own: both common ones, in the order first set. */
    assert_int_equal(prof->sample[0]->value[0], 2);
    assert_int_equal(prof->sample[0]->n_label, 2);
    assert_string_equal(str(prof, prof->sample[0]->label[0]->key), "host");
    assert_string_equal(str(prof, prof->sample[0]->label[0]->str), "web-2");
    assert_string_equal(str(prof, prof->sample[0]->label[1]->key), "dc");
    assert_string_equal(str(prof, prof->sample[0]->label[1]->str), "fra");
    /* Its own label first, then the common ones. */
    assert_int_equal(prof->sample[1]->n_label, 3);
    assert_string_equal(str(prof, prof->sample[1]->label[0]->key), "thread");
    assert_string_equal(str(prof, prof->sample[1]->label[1]->str), "web-2");
    assert_string_equal(str(prof, prof->sample[1]->label[2]->str), "fra");
    /* Its own "host" wins. */
    assert_int_equal(prof->sample[2]->n_label, 2);
    assert_string_equal(str(prof, prof->sample[2]->label[0]->key), "host");
    assert_string_equal(str(prof, prof->sample[2]->label[0]->str),
                        "own-host");
    assert_string_equal(str(prof, prof->sample[2]->label[1]->key), "dc");
    perftools__profiles__profile__free_unpacked(prof, NULL);
    /* A bounded number of keys. */
    for (i = 2; i < LYNX_PPROF_MAX_COMMON_LABELS; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        assert_int_equal(lynx_pprof_set_common_label(p, key, "v"), 0);
    }
    assert_int_equal(lynx_pprof_set_common_label(p, "one-more", "v"),
                     -ENOSPC);
    assert_int_equal(lynx_pprof_set_common_label(p, "host", "web-3"), 0);
    lynx_pprof_destroy(p);
}

/* A pseudo-frame names a function with no address; an address with the
 * pseudo bit set (garbage from an unwinder) never becomes one. */
static void test_named_sample(void **state)
{
    lynx_pprof_t *p;
    profile_t *prof;
    const Perftools__Profiles__Location *loc;
    uint64_t odd[1] = {0x8000000000005001ULL};
    int64_t v[2] = {1, 10};
    lynx_label_t l[1] = {{"wchan", "do_epoll_wait", 0, NULL}};

    (void)state;
    p = cpu_profile();
    assert_int_equal(lynx_pprof_add_named_sample(
                         p, "[blocked in syscall: do_epoll_wait]", v, 2, l, 1),
                     0);
    assert_int_equal(lynx_pprof_add_named_sample(
                         p, "[blocked in syscall: do_epoll_wait]", v, 2, l, 1),
                     0);
    assert_int_equal(lynx_pprof_add_named_sample(p, NULL, v, 2, NULL, 0),
                     -EINVAL);
    assert_int_equal(lynx_pprof_add_sample(p, odd, 1, 1, v, 2, NULL, 0), 0);
    assert_int_equal(lynx_pprof_nsamples(p), 2);
    prof = roundtrip(p, NULL, 1);
    assert_int_equal(prof->n_sample, 2);
    assert_int_equal(prof->sample[0]->value[0], 2);
    assert_int_equal(prof->sample[0]->n_location_id, 1);
    assert_int_equal(prof->sample[0]->n_label, 1);
    loc = location(prof, prof->sample[0]->location_id[0]);
    assert_int_equal(loc->address, 0);
    assert_int_equal(loc->mapping_id, 0);
    assert_int_equal(loc->n_line, 1);
    assert_string_equal(str(prof, function(prof, loc->line[0]->function_id)->name),
                        "[blocked in syscall: do_epoll_wait]");
    loc = location(prof, prof->sample[1]->location_id[0]);
    assert_int_equal(loc->address, 0x5001);
    assert_int_equal(loc->n_line, 0);
    perftools__profiles__profile__free_unpacked(prof, NULL);
    lynx_pprof_destroy(p);
}

/* Frame names longer than any line buffer (C++ templates) come out whole
 * in every text form, each line ending where it should. */
static void test_long_names_in_text(void **state)
{
    lynx_pprof_t *p;
    char name[2000];
    char want[2100];
    int64_t v[2] = {3, 30};
    char *out;
    size_t len;

    (void)state;
    memset(name, 'n', sizeof(name) - 1);
    memcpy(name, "std::vector<", 12);
    name[sizeof(name) - 2] = '>';
    name[sizeof(name) - 1] = '\0';
    p = cpu_profile();
    assert_int_equal(lynx_pprof_add_named_sample(p, name, v, 2, NULL, 0), 0);

    assert_int_equal(
        lynx_pprof_debug_text(p, NULL, "head\n", NULL, 0, &out, &len), 0);
    assert_int_equal(strlen(out), len);
    assert_memory_equal(out, "head\n3 30 @ 0x", 14);
    snprintf(want, sizeof(want), "\n#\t0x0\t%s\t?:0\n\n", name);
    assert_true(len > strlen(want));
    assert_string_equal(out + len - strlen(want), want);
    assert_null(memchr(out + 14, '\n', len - 14 - strlen(want)));
    free(out);

    assert_int_equal(lynx_pprof_folded(p, NULL, 1, NULL, &out, &len), 0);
    snprintf(want, sizeof(want), "%s 30\n", name);
    assert_string_equal(out, want);
    assert_int_equal(len, strlen(want));
    free(out);
    lynx_pprof_destroy(p);
}

static void test_symbolized_profile(void **state)
{
    lynx_symbolizer_t *sym;
    lynx_pprof_t *p;
    profile_t *prof;
    const Perftools__Profiles__Sample *s;
    const Perftools__Profiles__Mapping *map;
    const Perftools__Profiles__Location *l;
    const lynx_module_t *self;
    char hex[2 * LYNX_BUILD_ID_MAX + 1];
    uint64_t stack[3] = {g_leaf, g_outer, g_root};
    uint64_t alien[2] = {0x10, g_root};
    int64_t v[2] = {3, 30000000};
    size_t si;
    size_t i;

    (void)state;
    si = self_module();
    self = &g_mods[si];
    sym = lynx_symbolizer_create();
    assert_non_null(sym);
    p = cpu_profile();
    assert_int_equal(lynx_pprof_set_modules(p, g_mods, g_nmods), 0);
    assert_int_equal(lynx_pprof_add_sample(p, stack, 3, 1, v, 2, NULL, 0), 0);
    assert_int_equal(lynx_pprof_add_sample(p, alien, 2, 1, v, 2, NULL, 0), 0);
    prof = roundtrip(p, sym, 1);

    /* Mappings: one per module, in order, build ID in lowercase hex. */
    assert_int_equal(prof->n_mapping, g_nmods);
    map = prof->mapping[si];
    assert_int_equal(map->id, si + 1);
    assert_int_equal(map->memory_start, self->start);
    assert_int_equal(map->memory_limit, self->limit);
    assert_int_equal(map->file_offset, self->file_offset);
    assert_string_equal(str(prof, map->filename), self->path);
    for (i = 0; i < self->build_id_len; i++) {
        snprintf(hex + 2 * i, 3, "%02x", self->build_id[i]);
    }
    assert_true(self->build_id_len > 0);
    assert_string_equal(str(prof, map->build_id), hex);
    assert_true(map->has_functions);
    assert_true(map->has_filenames);
    assert_true(map->has_line_numbers);
    assert_true(map->has_inline_frames);
    assert_int_equal(lynx_pprof_module_status(p, si), 0);

    s = prof->sample[0];
    assert_int_equal(s->n_location_id, 3);
    l = location(prof, s->location_id[0]);
    assert_int_equal(l->address, g_leaf);
    assert_int_equal(l->mapping_id, si + 1);
    assert_int_equal(l->n_line, 1);
    assert_string_equal(line_name(prof, l->id, 0), "lynx_p_leaf");
    assert_true(l->line[0]->line > 0);
    {
        const Perftools__Profiles__Function *f =
            function(prof, l->line[0]->function_id);
        const char *file = str(prof, f->filename);

        assert_non_null(strstr(file, "test_pprof.c"));
        assert_string_equal(str(prof, f->system_name), "lynx_p_leaf");
        assert_true(f->start_line > 0 && f->start_line <= l->line[0]->line);
    }
    /* The return address in lynx_p_outer: inlined frame first. */
    l = location(prof, s->location_id[1]);
    assert_int_equal(l->address, g_outer - 1);
    assert_int_equal(l->n_line, 2);
    assert_string_equal(line_name(prof, l->id, 0), "lynx_p_inlined");
    assert_string_equal(line_name(prof, l->id, 1), "lynx_p_outer");
    l = location(prof, s->location_id[2]);
    assert_int_equal(l->n_line, 1);
    assert_string_equal(line_name(prof, l->id, 0), "lynx_p_root");

    /* An address in no module: location without mapping or lines. */
    s = prof->sample[1];
    l = location(prof, s->location_id[0]);
    assert_int_equal(l->mapping_id, 0);
    assert_int_equal(l->n_line, 0);
    assert_int_equal(l->address, 0x10);
    /* ... and the root frame is shared with the first sample. */
    assert_int_equal(s->location_id[1], prof->sample[0]->location_id[2]);

    /* Functions are distinct. */
    for (i = 0; i < prof->n_function; i++) {
        size_t j;

        for (j = i + 1; j < prof->n_function; j++) {
            assert_true(prof->function[i]->name != prof->function[j]->name);
        }
    }
    assert_int_equal(prof->n_function, 4);
    perftools__profiles__profile__free_unpacked(prof, NULL);
    lynx_pprof_destroy(p);
    lynx_symbolizer_destroy(sym);
}

static void test_wrong_build_id(void **state)
{
    lynx_symbolizer_t *sym;
    lynx_pprof_t *p;
    profile_t *prof;
    lynx_module_t mods[MAX_MODS];
    uint64_t stack[1] = {g_leaf};
    int64_t v[2] = {1, 1};
    size_t si;

    (void)state;
    si = self_module();
    memcpy(mods, g_mods, g_nmods * sizeof(*mods));
    mods[si].build_id[0] ^= 0x55;
    sym = lynx_symbolizer_create();
    assert_non_null(sym);
    p = cpu_profile();
    assert_int_equal(lynx_pprof_set_modules(p, mods, g_nmods), 0);
    assert_int_equal(lynx_pprof_add_sample(p, stack, 1, 1, v, 2, NULL, 0), 0);
    prof = roundtrip(p, sym, 0);
    assert_int_equal(lynx_pprof_module_status(p, si), LYNX_SYM_EBUILDID);
    assert_int_equal(lynx_pprof_module_status(p, g_nmods), -EINVAL);
    assert_int_equal(prof->location[0]->mapping_id, si + 1);
    assert_int_equal(prof->location[0]->n_line, 0);
    assert_false(prof->mapping[si]->has_functions);
    perftools__profiles__profile__free_unpacked(prof, NULL);
    lynx_pprof_destroy(p);
    lynx_symbolizer_destroy(sym);
}

static void test_errors(void **state)
{
    lynx_pprof_t *p;
    lynx_module_t bad;
    uint64_t pcs[2] = {1, 2};
    int64_t v[2] = {1, 1};
    lynx_label_t nokey = {NULL, "x", 0, NULL};

    (void)state;
    lynx_pprof_destroy(NULL);
    p = lynx_pprof_create();
    assert_non_null(p);
    /* Values must match the declared types (none yet). */
    assert_int_equal(lynx_pprof_add_sample(p, pcs, 2, 1, v, 1, NULL, 0),
                     -EINVAL);
    assert_int_equal(lynx_pprof_add_sample_type(p, "alloc_objects", "count"),
                     0);
    assert_int_equal(lynx_pprof_add_sample(p, pcs, 2, 1, v, 2, NULL, 0),
                     -EINVAL);
    assert_int_equal(lynx_pprof_add_sample(p, NULL, 2, 1, v, 1, NULL, 0),
                     -EINVAL);
    assert_int_equal(lynx_pprof_add_sample(p, pcs, 2, 1, v, 1, &nokey, 1),
                     -EINVAL);
    assert_int_equal(lynx_pprof_add_sample(p, pcs, 2, 1, v, 1, NULL, 0), 0);
    assert_int_equal(lynx_pprof_add_sample_type(p, "alloc_space", "bytes"),
                     -EBUSY);
    assert_int_equal(lynx_pprof_set_default_sample_type(p, "nope"), -ENOENT);
    assert_int_equal(lynx_pprof_add_sample_type(p, NULL, "x"), -EINVAL);

    memset(&bad, 0, sizeof(bad));
    bad.start = 0x2000;
    bad.limit = 0x1000;
    assert_int_equal(lynx_pprof_set_modules(p, &bad, 1), -EINVAL);
    bad.limit = 0x3000;
    memset(bad.path, 'x', sizeof(bad.path));
    assert_int_equal(lynx_pprof_set_modules(p, &bad, 1), -EINVAL);
    bad.path[0] = '\0';
    bad.build_id_len = LYNX_BUILD_ID_MAX + 1;
    assert_int_equal(lynx_pprof_set_modules(p, &bad, 1), -EINVAL);
    bad.build_id_len = 0;
    assert_int_equal(lynx_pprof_set_modules(p, &bad, 1), 0);
    assert_int_equal(lynx_pprof_set_modules(p, NULL, 0), 0);
    assert_int_equal(lynx_pprof_folded(p, NULL, 5, NULL, NULL, NULL), -EINVAL);
    lynx_pprof_destroy(p);
}

/* Stack i of the big test: depth 64, frames drawn from 1000 addresses. */
static void big_stack(size_t i, uint64_t *pcs)
{
    uint64_t x = i * 0x9e3779b97f4a7c15ULL + 1;
    size_t j;

    for (j = 0; j < 64; j++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        pcs[j] = 0x400000 + 16 * (x % 1000) + 1;
    }
    pcs[0] = 0x900000 + 16 * i; /* makes every stack distinct */
}

static void test_many_stacks(void **state)
{
    enum { NSTACKS = 12000, DEPTH = 64 };
    lynx_pprof_t *p;
    profile_t *prof;
    uint64_t pcs[DEPTH];
    int64_t v[1];
    struct timespec t0;
    struct timespec t1;
    double secs;
    size_t round;
    size_t i;
    size_t j;

    (void)state;
    p = lynx_pprof_create();
    assert_non_null(p);
    assert_int_equal(lynx_pprof_add_sample_type(p, "samples", "count"), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (round = 0; round < 3; round++) {
        for (i = 0; i < NSTACKS; i++) {
            big_stack(i, pcs);
            v[0] = (int64_t)(i % 7 + 1);
            assert_int_equal(
                lynx_pprof_add_sample(p, pcs, DEPTH, 1, v, 1, NULL, 0), 0);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9;
    print_message("    %d adds of depth %d: %.3f s\n", 3 * NSTACKS, DEPTH,
                  secs);
    assert_int_equal(lynx_pprof_nsamples(p), NSTACKS);

    /* Check against the naive answer: stack i, value 3 * (i % 7 + 1). */
    prof = roundtrip(p, NULL, 1);
    assert_int_equal(prof->n_sample, NSTACKS);
    assert_int_equal(prof->n_location, 1000 + NSTACKS);
    for (i = 0; i < NSTACKS; i++) {
        const Perftools__Profiles__Sample *s = prof->sample[i];

        big_stack(i, pcs);
        assert_int_equal(s->value[0], 3 * (int64_t)(i % 7 + 1));
        assert_int_equal(s->n_location_id, DEPTH);
        for (j = 0; j < DEPTH; j++) {
            /* Location ids are 1..n in order of appearance. */
            const Perftools__Profiles__Location *l =
                prof->location[s->location_id[j] - 1];

            assert_int_equal(l->id, s->location_id[j]);
            assert_int_equal(l->address, j == 0 ? pcs[j] : pcs[j] - 1);
        }
    }
    perftools__profiles__profile__free_unpacked(prof, NULL);
    lynx_pprof_destroy(p);
}

static void test_flame_and_folded(void **state)
{
    lynx_symbolizer_t *sym;
    lynx_pprof_t *p;
    json_object *flame;
    json_object *o;
    json_object *funcs;
    json_object *stacks;
    uint64_t s1[3] = {g_leaf, g_outer, g_root};
    uint64_t s2[3] = {g_other, g_outer, g_root};
    uint64_t s3[2] = {0x10, g_root};
    int64_t v1[2] = {3, 30000000};
    int64_t v2[2] = {2, 20000000};
    int64_t v3[2] = {1, 0};
    lynx_label_t lab = {"thread", "t1", 0, NULL};
    const char *names[8];
    char *folded;
    char expect[1024];
    size_t len;
    size_t n;
    size_t i;

    (void)state;
    sym = lynx_symbolizer_create();
    assert_non_null(sym);
    p = cpu_profile();
    assert_int_equal(lynx_pprof_set_modules(p, g_mods, g_nmods), 0);
    assert_int_equal(lynx_pprof_add_sample(p, s1, 3, 1, v1, 2, NULL, 0), 0);
    assert_int_equal(lynx_pprof_add_sample(p, s2, 3, 1, v2, 2, NULL, 0), 0);
    assert_int_equal(lynx_pprof_add_sample(p, s3, 2, 1, v3, 2, NULL, 0), 0);
    /* Labels do not split flame stacks. */
    assert_int_equal(lynx_pprof_add_sample(p, s1, 3, 1, v1, 2, &lab, 1), 0);
    assert_int_equal(lynx_pprof_flame_json(p, sym, &flame), 0);

    assert_true(json_object_object_get_ex(flame, "sample_types", &o));
    assert_int_equal(json_object_array_length(o), 2);
    assert_string_equal(json_object_get_string(json_object_object_get(
                            json_object_array_get_idx(o, 1), "unit")),
                        "nanoseconds");
    assert_true(json_object_object_get_ex(flame, "default_sample_type", &o));
    assert_int_equal(json_object_get_int(o), 1); /* the last by default */
    assert_true(json_object_object_get_ex(flame, "functions", &funcs));
    n = json_object_array_length(funcs);
    assert_true(n <= 8);
    for (i = 0; i < n; i++) {
        names[i] = json_object_get_string(json_object_array_get_idx(funcs, i));
    }
    assert_true(json_object_object_get_ex(flame, "stacks", &stacks));
    assert_int_equal(json_object_array_length(stacks), 3);
    {
        json_object *st = json_object_array_get_idx(stacks, 0);
        json_object *ids = json_object_array_get_idx(st, 0);
        json_object *vals = json_object_array_get_idx(st, 1);
        const char *want[4] = {"lynx_p_root", "lynx_p_outer", "lynx_p_inlined",
                               "lynx_p_leaf"};

        assert_int_equal(json_object_array_length(ids), 4);
        for (i = 0; i < 4; i++) {
            size_t id =
                (size_t)json_object_get_int(json_object_array_get_idx(ids, i));

            assert_true(id < n);
            assert_string_equal(names[id], want[i]);
        }
        assert_int_equal(
            json_object_get_int64(json_object_array_get_idx(vals, 0)), 6);
        assert_int_equal(
            json_object_get_int64(json_object_array_get_idx(vals, 1)),
            60000000);
    }
    json_object_put(flame);

    /* Folded, default type (cpu): the zero-cpu stack is left out. */
    assert_int_equal(lynx_pprof_folded(p, sym, -1, NULL, &folded, &len), 0);
    snprintf(expect, sizeof(expect),
             "lynx_p_root;lynx_p_outer;lynx_p_inlined;lynx_p_leaf 60000000\n"
             "lynx_p_root;lynx_p_outer;lynx_p_inlined;lynx_p_other 20000000\n");
    assert_string_equal(folded, expect);
    assert_int_equal(len, strlen(expect));
    free(folded);
    /* By samples: the alien address is named by its address. */
    assert_int_equal(lynx_pprof_folded(p, sym, 0, NULL, &folded, &len), 0);
    snprintf(expect, sizeof(expect),
             "lynx_p_root;lynx_p_outer;lynx_p_inlined;lynx_p_leaf 6\n"
             "lynx_p_root;lynx_p_outer;lynx_p_inlined;lynx_p_other 2\n"
             "lynx_p_root;0x10 1\n");
    assert_string_equal(folded, expect);
    free(folded);
    lynx_pprof_destroy(p);
    lynx_symbolizer_destroy(sym);
}

/* ---- go tool pprof ---- */

/* Run argv with stdout+stderr to a malloc'd string; returns exit status. */
static int run_capture(char *const argv[], char **output)
{
    char path[] = "/tmp/lynx_test_out.XXXXXX";
    FILE *f;
    long size;
    pid_t pid;
    int status;
    int fd;

    fd = mkstemp(path);
    assert_true(fd >= 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fd, 1);
        dup2(fd, 2);
        execvp(argv[0], argv);
        _exit(127);
    }
    assert_int_equal(waitpid(pid, &status, 0), pid);
    f = fdopen(fd, "r");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    *output = calloc(1, (size_t)size + 1);
    assert_non_null(*output);
    assert_int_equal(fread(*output, 1, (size_t)size, f), (size_t)size);
    fclose(f);
    unlink(path);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int have_go(void)
{
    char *const argv[] = {"go", "version", NULL};
    char *out;
    int rc;

    rc = run_capture(argv, &out);
    free(out);
    return rc == 0;
}

/* The line of `text` that contains `needle` (copy, caller frees), or NULL. */
static char *line_with(const char *text, const char *needle)
{
    const char *hit = strstr(text, needle);
    const char *b;
    const char *e;

    if (hit == NULL) {
        return NULL;
    }
    b = hit;
    while (b > text && b[-1] != '\n') {
        b--;
    }
    e = strchr(hit, '\n');
    if (e == NULL) {
        e = hit + strlen(hit);
    }
    return strndup(b, (size_t)(e - b));
}

static void assert_contains(const char *text, const char *needle)
{
    if (strstr(text, needle) == NULL) {
        fail_msg("output lacks \"%s\":\n%s", needle, text);
    }
}

/* The -top row of `name` has these flat and cum columns. */
static void assert_top_row(const char *out, const char *name, const char *flat,
                           const char *cum)
{
    char want[256];
    char *line;
    char f[32];
    char f_pct[32];
    char sum_pct[32];
    char c[32];
    char c_pct[32];
    int end;

    /* A row ends with " name": search with the newline to match exactly. */
    snprintf(want, sizeof(want), " %s\n", name);
    line = line_with(out, want);
    end = 0;
    if (line == NULL ||
        sscanf(line, "%31s %31s %31s %31s %31s %n", f, f_pct, sum_pct, c, c_pct,
               &end) != 5 ||
        strcmp(line + end, name) != 0) {
        fail_msg("no -top row for %s in:\n%s", name, out);
    }
    if (strcmp(f, flat) != 0 || strcmp(c, cum) != 0) {
        fail_msg("%s: flat %s cum %s, want %s %s, in:\n%s", name, f, c, flat,
                 cum, out);
    }
    free(line);
}

static void test_go_tool_pprof(void **state)
{
    lynx_symbolizer_t *sym;
    lynx_pprof_t *p;
    uint64_t s1[3] = {g_leaf, g_outer, g_root};
    uint64_t s2[3] = {g_other, g_outer, g_root};
    int64_t v1[2] = {3, 30000000};
    int64_t v2[2] = {2, 20000000};
    char file[] = "/tmp/lynx_test_prof.XXXXXX";
    char *out;
    char *line;
    uint8_t *buf;
    size_t len;
    int fd;

    (void)state;
    if (!have_go()) {
        print_message("    SKIPPED: `go` is not on PATH, cannot run "
                      "`go tool pprof`\n");
        skip();
    }
    /* go needs a cache directory even for `go tool`; HOME may be unset. */
    if (getenv("HOME") == NULL && getenv("GOCACHE") == NULL) {
        setenv("GOCACHE", "/tmp/lynx_test_gocache", 1);
    }
    sym = lynx_symbolizer_create();
    assert_non_null(sym);
    p = cpu_profile();
    assert_int_equal(lynx_pprof_set_modules(p, g_mods, g_nmods), 0);
    assert_int_equal(lynx_pprof_add_sample(p, s1, 3, 1, v1, 2, NULL, 0), 0);
    assert_int_equal(lynx_pprof_add_sample(p, s1, 3, 1, v1, 2, NULL, 0), 0);
    assert_int_equal(lynx_pprof_add_sample(p, s2, 3, 1, v2, 2, NULL, 0), 0);
    assert_int_equal(lynx_pprof_encode(p, sym, 1, &buf, &len), 0);
    fd = mkstemp(file);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, buf, len), (ssize_t)len);
    close(fd);
    free(buf);

    {
        /* -raw: the samples with their exact values, and the locations. */
        char *const argv[] = {"go",   "tool", "pprof", "-symbolize=none",
                              "-raw", file,   NULL};

        assert_int_equal(run_capture(argv, &out), 0);
        assert_contains(out, "samples/count cpu/nanoseconds");
        assert_contains(out, "lynx_p_leaf");
        assert_contains(out, "lynx_p_other");
        assert_contains(out, "lynx_p_inlined");
        assert_contains(out, "lynx_p_outer");
        assert_contains(out, "lynx_p_root");
        assert_contains(out, "test_pprof.c");
        line = line_with(out, "60000000:");
        if (line == NULL || strstr(line, "6 ") == NULL) {
            fail_msg("no merged sample 6 / 60000000 in:\n%s", out);
        }
        free(line);
        line = line_with(out, "20000000:");
        if (line == NULL || strstr(line, "2 ") == NULL) {
            fail_msg("no sample 2 / 20000000 in:\n%s", out);
        }
        free(line);
        free(out);
    }
    {
        /* -top: flat values per function, default sample type (cpu). */
        char *const argv[] = {"go",   "tool", "pprof", "-symbolize=none",
                              "-top", file,   NULL};

        assert_int_equal(run_capture(argv, &out), 0);
        assert_contains(out, "80ms total");
        assert_top_row(out, "lynx_p_leaf", "60ms", "60ms");
        assert_top_row(out, "lynx_p_other", "20ms", "20ms");
        assert_top_row(out, "lynx_p_inlined (inline)", "0", "80ms");
        assert_top_row(out, "lynx_p_outer", "0", "80ms");
        assert_top_row(out, "lynx_p_root", "0", "80ms");
        free(out);
    }
    {
        /* -traces with samples: the inlined frame is shown in the stack. */
        char *const argv[] = {"go",
                              "tool",
                              "pprof",
                              "-symbolize=none",
                              "-sample_index=samples",
                              "-traces",
                              file,
                              NULL};

        assert_int_equal(run_capture(argv, &out), 0);
        assert_contains(out, "lynx_p_inlined");
        assert_contains(out, "(inline)");
        free(out);
    }
    unlink(file);
    lynx_pprof_destroy(p);
    lynx_symbolizer_destroy(sym);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header_fields),
        cmocka_unit_test(test_merge_and_labels),
        cmocka_unit_test(test_common_labels),
        cmocka_unit_test(test_named_sample),
        cmocka_unit_test(test_long_names_in_text),
        cmocka_unit_test(test_symbolized_profile),
        cmocka_unit_test(test_wrong_build_id),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_many_stacks),
        cmocka_unit_test(test_flame_and_folded),
        cmocka_unit_test(test_go_tool_pprof),
    };

    return cmocka_run_group_tests(tests, setup, NULL);
}
