/*
 * test_symbolize.c - unit tests of lib/client/symbolize.c against this very
 * program, which must be built with -O2 -g (and, to be meaningful,
 * -fomit-frame-pointer): its own functions are looked up at the addresses
 * they have at run time, through module records made like the agent makes
 * them.
 */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "client/debuginfo.h"
#include "client/symbolize.h"
#include "fixtures/lynx_test_modules.h"

#define MAX_MODS 64

/* ---- code to look up ---- */

static void *volatile g_ra;       /* return address seen by lynx_t_probe */
static volatile int g_probe_line; /* line of the call to lynx_t_probe */
static volatile int g_call_line;  /* line of the call to lynx_t_inlined */
static volatile int g_sink;

__attribute__((noinline)) static void lynx_t_probe(int line)
{
    g_probe_line = line;
    g_ra = __builtin_return_address(0);
    __asm__ volatile("" ::: "memory");
}

enum { INLINED_FIRST = __LINE__ };
static inline int lynx_t_inlined(int x, int call_line)
{
    int r = x * 3 + g_sink;

    g_call_line = call_line;
    lynx_t_probe(__LINE__);
    return r + 1;
}
enum { INLINED_LAST = __LINE__ };

enum { OUTER_FIRST = __LINE__ };
__attribute__((noinline)) int lynx_t_outer(int x)
{
    int r;

    r = lynx_t_inlined(x, __LINE__);
    return r * 2 + g_sink;
}
enum { OUTER_LAST = __LINE__ };

enum { LEAF_FIRST = __LINE__ };
__attribute__((noinline)) int lynx_t_leaf(int x)
{
    int i;
    int s = 0;

    for (i = 0; i < x; i++) {
        s += i * g_sink;
    }
    return s;
}
enum { LEAF_LAST = __LINE__ };

/* ---- helpers ---- */

static lynx_module_t g_mods[MAX_MODS];
static size_t g_nmods;

static const lynx_module_t *mod_of(const void *p)
{
    const lynx_module_t *m;

    m = lynx_module_find(g_mods, g_nmods, (uint64_t)(uintptr_t)p);
    assert_non_null(m);
    return m;
}

static void assert_suffix(const char *s, const char *suffix)
{
    size_t n;
    size_t k;

    assert_non_null(s);
    n = strlen(s);
    k = strlen(suffix);
    if (n < k || strcmp(s + n - k, suffix) != 0) {
        fail_msg("\"%s\" does not end with \"%s\"", s, suffix);
    }
}

static int setup(void **state)
{
    (void)state;
    g_nmods = test_modules_self(g_mods, MAX_MODS);
    return g_nmods > 0 ? 0 : -1;
}

/* ---- tests ---- */

static void test_function_entry(void **state)
{
    lynx_symbolizer_t *sym;
    lynx_frame_t frames[LYNX_SYM_MAX_FRAMES];
    const lynx_module_t *m;
    uint64_t addr;
    size_t n;

    (void)state;
    sym = lynx_symbolizer_create();
    assert_non_null(sym);
    addr = (uint64_t)(uintptr_t)&lynx_t_leaf;
    m = mod_of(&lynx_t_leaf);
    assert_true(m->build_id_len > 0);

    assert_int_equal(
        lynx_symbolize(sym, m, addr, frames, LYNX_SYM_MAX_FRAMES, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(frames[0].function, "lynx_t_leaf");
    assert_string_equal(frames[0].system_name, "lynx_t_leaf");
    assert_suffix(frames[0].file, "test_symbolize.c");
    assert_in_range(frames[0].line, LEAF_FIRST, LEAF_LAST);
    assert_in_range(frames[0].start_line, LEAF_FIRST, LEAF_LAST);

    assert_string_equal(lynx_symbolize_name(sym, m, addr), "lynx_t_leaf");
    /* A few bytes in is still the same function. */
    assert_string_equal(lynx_symbolize_name(sym, m, addr + 2), "lynx_t_leaf");
    lynx_symbolizer_destroy(sym);
}

static void test_inlined_frames(void **state)
{
    lynx_symbolizer_t *sym;
    lynx_frame_t frames[LYNX_SYM_MAX_FRAMES];
    const lynx_module_t *m;
    uint64_t ra;
    size_t n;

    (void)state;
    assert_int_equal(lynx_t_outer(5), 32);
    ra = (uint64_t)(uintptr_t)g_ra;
    m = mod_of(g_ra);
    sym = lynx_symbolizer_create();
    assert_non_null(sym);

    /* A return address: look up the call instruction, at ra - 1. */
    assert_int_equal(
        lynx_symbolize(sym, m, ra - 1, frames, LYNX_SYM_MAX_FRAMES, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(frames[0].function, "lynx_t_inlined");
    assert_suffix(frames[0].file, "test_symbolize.c");
    assert_int_equal(frames[0].line, g_probe_line);
    assert_in_range(frames[0].start_line, INLINED_FIRST, INLINED_LAST);
    assert_string_equal(frames[1].function, "lynx_t_outer");
    assert_suffix(frames[1].file, "test_symbolize.c");
    assert_int_equal(frames[1].line, g_call_line);
    assert_in_range(frames[1].start_line, OUTER_FIRST, OUTER_LAST);

    /* The symbol protocol names the real function. */
    assert_string_equal(lynx_symbolize_name(sym, m, ra - 1), "lynx_t_outer");

    /* Room for one frame only: the real function is the one kept. */
    assert_int_equal(lynx_symbolize(sym, m, ra - 1, frames, 1, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(frames[0].function, "lynx_t_outer");
    lynx_symbolizer_destroy(sym);
}

static void test_wrong_build_id(void **state)
{
    lynx_symbolizer_t *sym;
    lynx_frame_t frames[LYNX_SYM_MAX_FRAMES];
    lynx_module_t m;
    uint64_t addr;
    size_t n;

    (void)state;
    sym = lynx_symbolizer_create();
    assert_non_null(sym);
    addr = (uint64_t)(uintptr_t)&lynx_t_leaf;
    m = *mod_of(&lynx_t_leaf);
    m.build_id[0] ^= 0xff;
    n = 99;
    assert_int_equal(
        lynx_symbolize(sym, &m, addr, frames, LYNX_SYM_MAX_FRAMES, &n),
        LYNX_SYM_EBUILDID);
    assert_int_equal(n, 0);
    assert_null(lynx_symbolize_name(sym, &m, addr));
    /* Cached as failed: same answer again. */
    assert_int_equal(
        lynx_symbolize(sym, &m, addr, frames, LYNX_SYM_MAX_FRAMES, &n),
        LYNX_SYM_EBUILDID);
    /* A shorter build ID is another build ID too. */
    m = *mod_of(&lynx_t_leaf);
    m.build_id_len = 4;
    assert_int_equal(
        lynx_symbolize(sym, &m, addr, frames, LYNX_SYM_MAX_FRAMES, &n),
        LYNX_SYM_EBUILDID);
    /* The right one still works beside the cached failures. */
    m = *mod_of(&lynx_t_leaf);
    assert_int_equal(
        lynx_symbolize(sym, &m, addr, frames, LYNX_SYM_MAX_FRAMES, &n), 0);
    assert_int_equal(n, 1);
    assert_string_not_equal(lynx_symbolize_strerror(LYNX_SYM_EBUILDID),
                            lynx_symbolize_strerror(12345));
    lynx_symbolizer_destroy(sym);
}

static void test_bad_records(void **state)
{
    lynx_symbolizer_t *sym;
    lynx_frame_t frames[LYNX_SYM_MAX_FRAMES];
    lynx_module_t m;
    uint64_t addr;
    size_t n;

    (void)state;
    sym = lynx_symbolizer_create();
    assert_non_null(sym);
    addr = (uint64_t)(uintptr_t)&lynx_t_leaf;

    m = *mod_of(&lynx_t_leaf);
    snprintf(m.path, sizeof(m.path), "/nonexistent/lynx/missing.so");
    assert_int_equal(
        lynx_symbolize(sym, &m, addr, frames, LYNX_SYM_MAX_FRAMES, &n),
        LYNX_SYM_ENOFILE);
    assert_int_equal(n, 0);
    assert_null(lynx_symbolize_name(sym, &m, addr));

    m = *mod_of(&lynx_t_leaf);
    snprintf(m.path, sizeof(m.path), "/etc/hostname");
    m.build_id_len = 0;
    assert_int_equal(
        lynx_symbolize(sym, &m, addr, frames, LYNX_SYM_MAX_FRAMES, &n),
        LYNX_SYM_ENOTELF);

    m = *mod_of(&lynx_t_leaf);
    snprintf(m.path, sizeof(m.path), "[vdso]");
    assert_int_equal(
        lynx_symbolize(sym, &m, addr, frames, LYNX_SYM_MAX_FRAMES, &n),
        LYNX_SYM_EINVAL);

    m = *mod_of(&lynx_t_leaf);
    memset(m.path, 'a', sizeof(m.path)); /* no NUL: untrusted garbage */
    m.path[0] = '/';
    assert_int_equal(
        lynx_symbolize(sym, &m, addr, frames, LYNX_SYM_MAX_FRAMES, &n),
        LYNX_SYM_EINVAL);

    m = *mod_of(&lynx_t_leaf);
    m.build_id_len = LYNX_BUILD_ID_MAX + 1;
    assert_int_equal(
        lynx_symbolize(sym, &m, addr, frames, LYNX_SYM_MAX_FRAMES, &n),
        LYNX_SYM_EINVAL);
    lynx_symbolizer_destroy(sym);
}

/*
 * Bound to a view of this process, the symbolizer reads the file mapped at
 * the record's address whatever path the record names, and refuses an
 * address where nothing is mapped; a FIFO named by an unbound record is
 * refused at once (the test would hang otherwise), and the note says so.
 */
static void test_bound_view(void **state)
{
    lynx_symbolizer_t *sym;
    lynx_frame_t frames[LYNX_SYM_MAX_FRAMES];
    lynx_module_t m;
    char fifo[64];
    char note[512];
    uint64_t addr;
    size_t n;

    (void)state;
    sym = lynx_symbolizer_create();
    assert_non_null(sym);
    lynx_symbolizer_set_files(sym, lynx_modfiles_create(getpid()));
    assert_non_null(lynx_symbolizer_files(sym));
    addr = (uint64_t)(uintptr_t)&lynx_t_leaf;

    m = *mod_of(&lynx_t_leaf);
    assert_int_equal(
        lynx_symbolize(sym, &m, addr, frames, LYNX_SYM_MAX_FRAMES, &n), 0);
    assert_string_equal(frames[n - 1].function, "lynx_t_leaf");

    /* A lying path: /etc/hostname is never read, the mapped file is. */
    snprintf(m.path, sizeof(m.path), "/etc/hostname");
    assert_int_equal(
        lynx_symbolize(sym, &m, addr, frames, LYNX_SYM_MAX_FRAMES, &n), 0);
    assert_string_equal(frames[n - 1].function, "lynx_t_leaf");

    /* A range where this process maps nothing. */
    m = *mod_of(&lynx_t_leaf);
    m.start = 0x1000;
    m.limit = 0x2000;
    assert_int_equal(
        lynx_symbolize(sym, &m, 0x1800, frames, LYNX_SYM_MAX_FRAMES, &n),
        LYNX_MODFILE_ENOTMAPPED);

    /* Unbound: the record is trusted, but a FIFO is still refused. */
    lynx_symbolizer_set_files(sym, NULL);
    snprintf(fifo, sizeof(fifo), "/tmp/lynx-sym-fifo.%d", (int)getpid());
    unlink(fifo);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    m = *mod_of(&lynx_t_leaf);
    snprintf(m.path, sizeof(m.path), "%s", fifo);
    alarm(30);
    assert_int_equal(
        lynx_symbolize(sym, &m, addr, frames, LYNX_SYM_MAX_FRAMES, &n),
        LYNX_MODFILE_ENOTREG);
    alarm(0);
    unlink(fifo);
    lynx_symbolize_note(fifo, LYNX_MODFILE_ENOTREG, note, sizeof(note));
    assert_true(strstr(note, "no symbols for /tmp/lynx-sym-fifo.") == note);
    assert_non_null(strstr(note, ": not a regular file"));
    lynx_symbolizer_destroy(sym);
}

static void test_outside_modules(void **state)
{
    lynx_symbolizer_t *sym;
    lynx_frame_t frames[LYNX_SYM_MAX_FRAMES];
    const lynx_module_t *m;
    size_t n;

    (void)state;
    assert_null(lynx_module_find(g_mods, g_nmods, 0x10));
    assert_null(lynx_module_find(g_mods, g_nmods, UINT64_MAX));
    assert_null(lynx_module_find(g_mods, 0, (uint64_t)(uintptr_t)&g_sink));

    sym = lynx_symbolizer_create();
    assert_non_null(sym);
    m = mod_of(&lynx_t_leaf);
    n = 7;
    assert_int_equal(
        lynx_symbolize(sym, m, m->limit, frames, LYNX_SYM_MAX_FRAMES, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(
        lynx_symbolize(sym, m, 0x10, frames, LYNX_SYM_MAX_FRAMES, &n), 0);
    assert_int_equal(n, 0);
    assert_null(lynx_symbolize_name(sym, m, 0x10));
    lynx_symbolizer_destroy(sym);
    lynx_symbolizer_destroy(NULL);
}

static void test_shared_library(void **state)
{
    int (*fn)(const char *, const char *);
    lynx_symbolizer_t *sym;
    lynx_frame_t frames[LYNX_SYM_MAX_FRAMES];
    const lynx_module_t *m;
    const char *name;
    size_t n;
    int rc;

    (void)state;
    /* A libc function (or, under ASan, its interceptor in libasan). */
    fn = strcasecmp;
    m = mod_of((const void *)(uintptr_t)fn);
    assert_true(m != mod_of(&lynx_t_leaf));
    assert_non_null(strstr(m->path, ".so"));
    sym = lynx_symbolizer_create();
    assert_non_null(sym);
    rc = lynx_symbolize(sym, m, (uint64_t)(uintptr_t)fn, frames,
                        LYNX_SYM_MAX_FRAMES, &n);
    /* Without libc6-dbg, from its symbol table (and said so). */
    assert_true(rc == 0 || rc == LYNX_SYM_NODEBUG);
    assert_true(n >= 1);
    /* With or without libc6-dbg, the name is some spelling of it. */
    assert_non_null(strstr(frames[n - 1].function, "strcasecmp"));
    name = lynx_symbolize_name(sym, m, (uint64_t)(uintptr_t)fn);
    assert_non_null(name);
    assert_non_null(strstr(name, "strcasecmp"));
    lynx_symbolizer_destroy(sym);
}

/* Without DWARF, the ELF symbol table still names the function. */
static void test_symtab_fallback(void **state)
{
    lynx_symbolizer_t *sym;
    lynx_frame_t frames[LYNX_SYM_MAX_FRAMES];
    lynx_module_t m;
    char cmd[1024];
    char path[64];
    uint64_t addr;
    size_t n;
    int fd;

    (void)state;
    snprintf(path, sizeof(path), "/tmp/lynx_test_stripped.XXXXXX");
    fd = mkstemp(path);
    assert_true(fd >= 0);
    close(fd);
    m = *mod_of(&lynx_t_leaf);
    snprintf(cmd, sizeof(cmd), "objcopy --strip-debug '%s' '%s'", m.path, path);
    if (system(cmd) != 0) {
        unlink(path);
        skip(); /* no binutils: nothing to test with */
    }
    snprintf(m.path, sizeof(m.path), "%s", path);
    addr = (uint64_t)(uintptr_t)&lynx_t_leaf;
    sym = lynx_symbolizer_create();
    assert_non_null(sym);
    assert_int_equal(
        lynx_symbolize(sym, &m, addr + 1, frames, LYNX_SYM_MAX_FRAMES, &n),
        LYNX_SYM_NODEBUG);
    assert_int_equal(n, 1);
    assert_string_equal(frames[0].function, "lynx_t_leaf");
    assert_null(frames[0].file);
    assert_int_equal(frames[0].line, 0);
    assert_string_equal(lynx_symbolize_name(sym, &m, addr), "lynx_t_leaf");
    lynx_symbolizer_destroy(sym);
    unlink(path);
}

/* More distinct modules than the cache holds: evictions stay correct. */
static void test_cache_eviction(void **state)
{
    lynx_symbolizer_t *sym;
    lynx_frame_t frames[LYNX_SYM_MAX_FRAMES];
    lynx_module_t m;
    char path[LYNX_MODULE_PATH_MAX];
    uint64_t addr;
    size_t n;
    int round;
    int i;

    (void)state;
    sym = lynx_symbolizer_create();
    assert_non_null(sym);
    addr = (uint64_t)(uintptr_t)&lynx_t_leaf;
    m = *mod_of(&lynx_t_leaf);
    snprintf(path, sizeof(path), "%s", m.path);
    if (strlen(path) + LYNX_SYM_CACHE_MAX + 6 >= sizeof(m.path)) {
        skip(); /* path too long to make that many spellings of it */
    }
    for (round = 0; round < 2; round++) {
        for (i = 0; i < LYNX_SYM_CACHE_MAX + 6; i++) {
            /* Same file, a different key each time: "///...path" */
            memset(m.path, '/', (size_t)i);
            snprintf(m.path + i, sizeof(m.path) - (size_t)i, "%s", path);
            assert_int_equal(
                lynx_symbolize(sym, &m, addr, frames, LYNX_SYM_MAX_FRAMES, &n),
                0);
            assert_int_equal(n, 1);
            assert_string_equal(frames[0].function, "lynx_t_leaf");
        }
    }
    lynx_symbolizer_destroy(sym);
}

/* ---- separate debug info (client/debuginfo.h) ---- */

static char g_dir[64]; /* a scratch directory, made by the test */

static void run(const char *fmt, ...)
{
    char cmd[2048];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(cmd, sizeof(cmd), fmt, ap);
    va_end(ap);
    if (system(cmd) != 0) {
        fail_msg("command failed: %s", cmd);
    }
}

/* A stripped copy of this program at <g_dir>/<name> (made in a
 * subdirectory first, so the debug link names <name>.debug), its debug
 * file at <g_dir>/<name>.debug, and no .build-id tree; returns its module
 * record. */
static lynx_module_t make_stripped(const char *name)
{
    lynx_module_t m = *mod_of(&lynx_t_outer);

    /* Every copy has this program's build ID: only one may be in the
     * tree at a time. */
    run("rm -rf %s/.build-id", g_dir);
    run("mkdir -p %s/.work && cd %s/.work && "
        "objcopy --only-keep-debug '%s' %s.debug && "
        "strip -o %s '%s' && objcopy --add-gnu-debuglink=%s.debug %s && "
        "mv %s %s.debug ..",
        g_dir, g_dir, m.path, name, name, m.path, name, name, name, name);
    snprintf(m.path, sizeof(m.path), "%s/%s", g_dir, name);
    return m;
}

/* The frames of the call in lynx_t_outer, from `m`. */
static size_t frames_of(const lynx_module_t *m, lynx_frame_t *frames, int *rc)
{
    lynx_symbolizer_t *sym = lynx_symbolizer_create();
    size_t n = 0;

    assert_non_null(sym);
    lynx_t_outer(5);
    *rc = lynx_symbolize(sym, m, (uint64_t)(uintptr_t)g_ra - 1, frames,
                         LYNX_SYM_MAX_FRAMES, &n);
    /* Keep copies of the strings: they die with the symbolizer. */
    for (size_t i = 0; i < n; i++) {
        frames[i].function =
            frames[i].function != NULL ? strdup(frames[i].function) : NULL;
        frames[i].file = frames[i].file != NULL ? strdup(frames[i].file)
                                                : NULL;
        frames[i].system_name = NULL;
    }
    lynx_symbolizer_destroy(sym);
    return n;
}

/* `m` gives the same frames as this unstripped program. */
static void assert_as_unstripped(const lynx_module_t *m)
{
    lynx_frame_t want[LYNX_SYM_MAX_FRAMES];
    lynx_frame_t got[LYNX_SYM_MAX_FRAMES];
    size_t nwant;
    size_t ngot;
    int rc;

    nwant = frames_of(mod_of(&lynx_t_outer), want, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(nwant, 2); /* lynx_t_inlined in lynx_t_outer */
    ngot = frames_of(m, got, &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(ngot, nwant);
    for (size_t i = 0; i < nwant; i++) {
        assert_string_equal(got[i].function, want[i].function);
        assert_string_equal(got[i].file, want[i].file);
        assert_int_equal(got[i].line, want[i].line);
        free((char *)got[i].function);
        free((char *)got[i].file);
        free((char *)want[i].function);
        free((char *)want[i].file);
    }
}

static void hex(const lynx_module_t *m, size_t from, char *out)
{
    for (size_t i = from; i < m->build_id_len; i++) {
        sprintf(out + 2 * (i - from), "%02x", m->build_id[i]);
    }
}

static int debug_setup(void **state)
{
    (void)state;
    snprintf(g_dir, sizeof(g_dir), "/tmp/lynx_test_debug.XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        return -1;
    }
    if (system("command -v objcopy >/dev/null && command -v strip "
               ">/dev/null") != 0) {
        return -1;
    }
    return lynx_debuginfo_set_dir(g_dir);
}

static int debug_teardown(void **state)
{
    char cmd[128];

    (void)state;
    lynx_debuginfo_set_dir(LYNX_DEFAULT_DEBUG_DIR);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", g_dir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Found by build ID under <debug dir>/.build-id, the debug link gone. */
static void test_debug_build_id_tree(void **state)
{
    lynx_module_t m = make_stripped("by-id");
    char id[2 * LYNX_BUILD_ID_MAX + 1];
    char first[3];

    (void)state;
    assert_true(m.build_id_len > 1);
    hex(&m, 1, id);
    snprintf(first, sizeof(first), "%02x", m.build_id[0]);
    run("mkdir -p %s/.build-id/%s && mv %s/by-id.debug "
        "%s/.build-id/%s/%s.debug",
        g_dir, first, g_dir, g_dir, first, id);
    assert_as_unstripped(&m);
}

/* Found by .gnu_debuglink, next to the program and in .debug/. */
static void test_debug_link(void **state)
{
    lynx_module_t beside = make_stripped("beside");
    lynx_module_t sub = make_stripped("sub");

    (void)state;
    assert_as_unstripped(&beside);
    run("mkdir -p %s/.debug && mv %s/sub.debug %s/.debug/", g_dir, g_dir,
        g_dir);
    assert_as_unstripped(&sub);
}

/* A debug file of another build is not used; neither is a FIFO, which
 * must not block; the module then says it has no debug info. */
static void test_debug_refused(void **state)
{
    lynx_module_t other = make_stripped("other");
    lynx_module_t fifo = make_stripped("fifo");
    lynx_frame_t frames[LYNX_SYM_MAX_FRAMES];
    char note[LYNX_MODULE_PATH_MAX + 200];
    size_t n;
    int rc;

    (void)state;
    /* Same name, other contents: this program rebuilt with another ID. */
    run("objcopy --only-keep-debug --remove-section=.note.gnu.build-id "
        "--add-section .note.gnu.build-id=/dev/null '%s' %s/other.debug",
        mod_of(&lynx_t_outer)->path, g_dir);
    n = frames_of(&other, frames, &rc);
    assert_int_equal(rc, LYNX_SYM_NODEBUG);
    for (size_t i = 0; i < n; i++) {
        assert_null(frames[i].file);
        free((char *)frames[i].function);
    }
    run("rm %s/fifo.debug && mkfifo %s/fifo.debug", g_dir, g_dir);
    alarm(20); /* a blocking open would hang here */
    n = frames_of(&fifo, frames, &rc);
    alarm(0);
    assert_int_equal(rc, LYNX_SYM_NODEBUG);
    for (size_t i = 0; i < n; i++) {
        assert_null(frames[i].file);
        free((char *)frames[i].function);
    }
    lynx_symbolize_note(fifo.path, rc, note, sizeof(note));
    assert_true(strstr(note, "no debug info for ") == note);
    assert_non_null(strstr(note, fifo.path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_function_entry),
        cmocka_unit_test(test_inlined_frames),
        cmocka_unit_test(test_wrong_build_id),
        cmocka_unit_test(test_bad_records),
        cmocka_unit_test(test_bound_view),
        cmocka_unit_test(test_outside_modules),
        cmocka_unit_test(test_shared_library),
        cmocka_unit_test(test_symtab_fallback),
        cmocka_unit_test(test_cache_eviction),
    };
    const struct CMUnitTest debug_tests[] = {
        cmocka_unit_test(test_debug_build_id_tree),
        cmocka_unit_test(test_debug_link),
        cmocka_unit_test(test_debug_refused),
    };
    int failed;

    failed = cmocka_run_group_tests(tests, setup, NULL);
    if (setup(NULL) != 0) {
        return 1;
    }
    failed += cmocka_run_group_tests(debug_tests, debug_setup, debug_teardown);
    return failed;
}
