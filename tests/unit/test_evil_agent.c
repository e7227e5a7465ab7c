/*
 * test_evil_agent.c - an "evil agent": a fake target (this process, with
 * fake_block.c's agent thread answering its mailbox) publishes a valid v2
 * data object and mailbox, then lies: reply and bulk lengths beyond what
 * it has, record counts beyond the bulk it sent, session records and a CPU
 * table out of bounds, module records naming a FIFO, /dev/zero, a
 * directory and a file it does not map; it shrinks its data object in the
 * middle of a reply; and its objects belong to another user.  The real
 * endpoint library (what the cgi-bin mains call) is driven against it.
 * Every call must come back, within its timeout (alarm() turns a hang
 * into a failure), with an error code that has a message; the
 * AddressSanitizer build of scripts/test.sh runs this file too.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake_block.h"
#include "protocol/block_heap.h"
#include "client/attach.h"
#include "protocol/block_threads.h"
#include "client/cpu.h"
#include "client/profiles.h"
#include "client/symbolize.h"
#include "client/target.h"
#include "client/thread_dump.h"
#include "protocol/clock.h"
#include "lynxprof.h"

#define MS 1000000LL
#define TIMEOUT (500 * MS)
#define ALARM_S 20 /* no single test may take longer: a hang fails */

typedef struct evil {
    fake_block_t fb;
    int shrink;          /* truncate the data object inside the answer */
    uint32_t nrecords;   /* the count put in thread dump and heap replies */
    char spool[64];
} evil_t;

/* Answers every command with success and a reply of the right size,
 * whose counts say what the test wants. */
static int evil_cb(void *ctx, uint32_t command, const void *arg,
                   size_t arg_len, void *reply, size_t *reply_len)
{
    evil_t *e = ctx;

    (void)arg;
    (void)arg_len;
    if (e->shrink) {
        /* Keep the header and the answers (the fake writes its answer
         * there), lose every region after them. */
        fake_block_resize(&e->fb, e->fb.header->regions[0].offset +
                                      sizeof(lynx_answers_t));
    }
    switch (command) {
    case LYNX_CMD_MEMSTATS:
        memset(reply, 0x41, sizeof(lynx_memstats_t));
        *reply_len = sizeof(lynx_memstats_t);
        return 0;
    case LYNX_CMD_THREAD_DUMP: {
        lynx_thread_dump_reply_t r = {0};
        r.nthreads = e->nrecords;
        r.nanswered = e->nrecords;
        memcpy(reply, &r, sizeof(r));
        *reply_len = sizeof(r);
        return 0;
    }
    case LYNX_CMD_HEAP_SNAPSHOT: {
        lynx_heap_snapshot_reply_t r = {0};
        r.rate_bytes = 512 * 1024;
        r.nrecords = e->nrecords;
        memcpy(reply, &r, sizeof(r));
        *reply_len = sizeof(r);
        return 0;
    }
    case LYNX_CMD_CPU_START: {
        lynx_cpu_start_reply_t r;
        /* An id without its NUL, and not of the form cpu_<digits>. */
        memset(&r, 'x', sizeof(r));
        memcpy(reply, &r, sizeof(r));
        *reply_len = sizeof(r);
        return 0;
    }
    default:
        *reply_len = 0;
        return 0;
    }
}

static evil_t *evil_start(const char *prefix)
{
    evil_t *e = calloc(1, sizeof(*e));
    const lynx_region_t *bulk;

    assert_non_null(e);
    assert_int_equal(fake_block_create_cpu(&e->fb, fake_name(prefix),
                                           getpid(), 16, 16),
                     0);
    /* Every bulk area full of bytes that look like huge counts. */
    bulk = lynx_block_region(e->fb.header, LYNX_REGION_BULK);
    assert_non_null(bulk);
    memset((char *)e->fb.header + bulk->offset, 0xff, bulk->size_bytes);
    snprintf(e->spool, sizeof(e->spool), "/tmp/lynx-evil-spool-%d",
             (int)getpid());
    mkdir(e->spool, 0700);
    assert_int_equal(fake_agent_start(&e->fb, evil_cb, e), 0);
    alarm(ALARM_S);
    return e;
}

static void evil_stop(evil_t *e)
{
    char cmd[128];

    alarm(0);
    fake_block_destroy(&e->fb);
    snprintf(cmd, sizeof(cmd), "rm -rf %s", e->spool);
    assert_int_equal(system(cmd), 0);
    free(e);
}

/* An error code with a message a client can be shown. */
#define assert_error(rc)                                                     \
    do {                                                                     \
        int rc_ = (rc);                                                      \
        print_message("# %s -> %d %s\n", #rc, rc_, lynx_strerror(rc_));      \
        assert_true(rc_ < 0);                                                \
        assert_true(strlen(lynx_strerror(rc_)) > 0);                         \
    } while (0)

/* Every non-CPU call of the endpoints against the target.  memstats has no
 * counts and no bulk: only a lying reply length makes it fail. */
static void drive_all(evil_t *e, int memstats_fails)
{
    lynx_target_t *t = NULL;
    lynx_memstats_t ms;
    lynx_thread_dump_t d;
    lynx_pprof_t *p;
    lynx_profile_req_t req = {0, 0, TIMEOUT};
    char msg[256];
    int64_t t0 = lynx_mono_ns();
    int rc;

    rc = lynx_target_open(e->fb.name, NULL, &t);
    if (rc != 0) {
        /* Refused at attach (a shrunk or foreign object): also fine. */
        assert_error(rc);
        return;
    }
    rc = lynx_target_memstats(t, &ms, TIMEOUT);
    if (memstats_fails || rc != 0) {
        assert_error(rc);
    }
    memset(&d, 0, sizeof(d));
    rc = lynx_thread_dump_take(t, TIMEOUT, 0, &d, msg, sizeof(msg));
    lynx_thread_dump_fini(&d);
    assert_error(rc);
    p = lynx_pprof_create();
    assert_non_null(p);
    msg[0] = '\0';
    rc = lynx_profile_heap.build(t, &req, p, msg, sizeof(msg));
    lynx_pprof_destroy(p);
    assert_error(rc);
    lynx_target_close(t);
    /* Each call waited at most its timeout. */
    assert_true(lynx_mono_ns() - t0 < 4 * TIMEOUT + 2000 * MS);
}

/* Reply lengths beyond the reply area, then the true reply size with bulk
 * lengths beyond the slot's bulk area. */
static void test_lying_lengths(void **state)
{
    evil_t *e = evil_start("evil-len");

    (void)state;
    e->nrecords = 1;
    atomic_store(&e->fb.lie_reply_len, LYNX_REPLY_MAX + 1);
    drive_all(e, 1);
    atomic_store(&e->fb.lie_reply_len, 0xffffffffu);
    drive_all(e, 1);
    atomic_store(&e->fb.lie_reply_len, 0);
    atomic_store(&e->fb.lie_bulk_len, e->fb.header->regions[1].size_bytes);
    drive_all(e, 0);
    atomic_store(&e->fb.lie_bulk_len, UINT64_MAX);
    drive_all(e, 0);
    evil_stop(e);
}

/* Counts beyond the bulk sent: one record's bytes of 0xff, and a count of
 * a million; then exactly as many bytes as the count says, all 0xff
 * (depths and lengths inside the records out of range). */
static void test_lying_counts(void **state)
{
    evil_t *e = evil_start("evil-count");

    (void)state;
    e->nrecords = 1000000;
    atomic_store(&e->fb.lie_bulk_len, sizeof(lynx_thread_rec_t));
    drive_all(e, 0);
    e->nrecords = 4;
    atomic_store(&e->fb.lie_bulk_len, 4096);
    drive_all(e, 0);
    evil_stop(e);
}

/* The data object shrinks while the agent answers. */
static void test_shrink_mid_reply(void **state)
{
    evil_t *e = evil_start("evil-shrink");

    (void)state;
    e->nrecords = 1;
    atomic_store(&e->fb.lie_bulk_len, sizeof(lynx_thread_rec_t));
    e->shrink = 1;
    drive_all(e, 1);
    evil_stop(e);
}

/* CPU sessions: a start whose reply id is garbage (refused), and a
 * finished session record whose CPU table claims 2^32-1 stacks with room
 * for 16, all with depths and counts out of range (the endpoint reads at
 * most the capacity its region holds and drops every bad stack). */
static void test_lying_cpu(void **state)
{
    evil_t *e = evil_start("evil-cpu");
    lynx_cpu_session_t out;
    lynx_session_t s;
    lynx_cpu_t *c;
    int rc;

    (void)state;
    c = lynx_cpu_create(e->spool, TIMEOUT);
    assert_non_null(c);
    memset(&out, 0, sizeof(out));
    assert_error(lynx_cpu_start(c, e->fb.name, 1000 * MS, 100,
                                LYNX_ORIGIN_API, &out));

    memset(&s, 0, sizeof(s));
    s.state = LYNX_SESSION_COMPLETED;
    snprintf(s.id, sizeof(s.id), "cpu_%lld", (long long)lynx_real_ns());
    s.started_unix_ns = lynx_real_ns() - 2000 * MS;
    s.duration_ns = 1000 * MS;
    s.ended_unix_ns = lynx_real_ns() - 1000 * MS;
    s.hz = 100;
    s.origin = LYNX_ORIGIN_API;
    s.samples = 10;
    s.in_table = 1;
    e->fb.cpu->session_index = 0;
    e->fb.cpu->period_ns = 10 * MS;
    atomic_store(&e->fb.cpu->nstacks, 0xffffffffu);
    memset(e->fb.cpu->stacks, 0xff, 16 * sizeof(lynx_cpu_stack_t));
    fake_session_write(&e->fb, 0, &s);
    memset(&out, 0, sizeof(out));
    rc = lynx_cpu_get(c, s.id, &out);
    print_message("# get -> %d (%s), spool_error %d, state %d\n", rc,
                  lynx_strerror(rc), out.spool_error, out.state);
    /* The session exists: it is saved with the stacks that check out
     * (none: every depth is out of range), or says why it could not be. */
    if (rc == 0 && out.spool_error == 0 && out.state == LYNX_CPU_COMPLETED) {
        uint8_t *data = NULL;
        size_t len = 0;
        assert_int_equal(out.samples, 0);
        rc = lynx_cpu_profile(c, s.id, NULL, &data, &len);
        print_message("# profile -> %d, %zu bytes\n", rc, len);
        assert_true(rc == 0 || rc == -ENODATA);
        free(data);
    } else if (rc == 0) {
        assert_true(out.spool_error < 0 || out.state == LYNX_CPU_DAMAGED ||
                    out.state == LYNX_CPU_FAILED);
    } else {
        assert_error(rc);
    }
    lynx_cpu_destroy(c);
    evil_stop(e);
}

static void set_module(lynx_module_t *m, const char *path, uint64_t start)
{
    memset(m, 0, sizeof(*m));
    m->start = start;
    m->limit = start + 4096;
    m->file_offset = 0;
    m->load_bias = 0;
    snprintf(m->path, sizeof(m->path), "%s", path);
}

/* Module records that name things no endpoint may read as an ELF file: a
 * FIFO (opening it for reading would block), /dev/zero (endless), a
 * directory, a file this process does not map, /proc/self/mem.  At an
 * address this process does not map, each is refused; at one it maps from
 * its executable, what it maps there is used, never the path named. */
static void test_lying_modules(void **state)
{
    evil_t *e = evil_start("evil-mods");
    const char *paths[5];
    char fifo[96];
    char dir[96];
    uint64_t mapped = (uint64_t)(uintptr_t)&test_lying_modules & ~4095ull;
    lynx_target_t *t = NULL;
    lynx_module_t *mods = NULL;
    lynx_symbolizer_t *sym;
    size_t n = 0;

    (void)state;
    snprintf(fifo, sizeof(fifo), "%s/fifo", e->spool);
    snprintf(dir, sizeof(dir), "%s/dir", e->spool);
    assert_int_equal(mkfifo(fifo, 0600), 0);
    assert_int_equal(mkdir(dir, 0700), 0);
    paths[0] = fifo;
    paths[1] = "/dev/zero";
    paths[2] = dir;
    paths[3] = "/etc/passwd";
    paths[4] = "/proc/self/mem";
    atomic_fetch_add(&e->fb.modules->generation, 1);
    for (int i = 0; i < 5; i++) {
        /* Page 1 is never mapped (mmap_min_addr). */
        set_module(&e->fb.modules->modules[i], paths[i], 4096);
        set_module(&e->fb.modules->modules[5 + i], paths[i], mapped);
    }
    e->fb.modules->nmodules = 10;
    atomic_fetch_add(&e->fb.modules->generation, 1);

    assert_int_equal(lynx_target_open(e->fb.name, NULL, &t), 0);
    assert_int_equal(lynx_target_modules(t, &mods, &n), 0);
    assert_int_equal(n, 10);
    sym = lynx_target_symbolizer(t);
    assert_non_null(sym);
    for (size_t i = 0; i < n; i++) {
        lynx_frame_t frames[8];
        size_t nf = 99;
        int rc = lynx_symbolize(sym, &mods[i], mods[i].start + 16, frames, 8,
                                &nf);
        print_message("# %s at %#llx -> %d (%s), %zu frames\n", mods[i].path,
                      (unsigned long long)mods[i].start, rc,
                      rc < 0 ? lynx_symbolize_strerror(rc) : "-", nf);
        assert_true(nf <= 8);
        if (i < 5) {
            assert_true(rc < 0);
            assert_int_equal(nf, 0);
            assert_true(strlen(lynx_symbolize_strerror(rc)) > 0);
            assert_null(
                lynx_symbolize_name(sym, &mods[i], mods[i].start + 16));
        }
    }
    free(mods);
    lynx_target_close(t);
    evil_stop(e);
}

/* The same lying target, its objects given to another user: refused
 * before anything is read from them. */
/* Memory snapshots that lie, that are never finished, or that the object
 * no longer holds: what memory.fcgi calls (lynx_target_memstats_fresh)
 * never serves them, comes back within its timeout, and asks the agent,
 * whose answer then counts (here 0x41 bytes). */
static void test_lying_snapshots(void **state)
{
    evil_t *e = evil_start("evil-snap");
    lynx_memsnap_t *s = e->fb.memsnap;
    lynx_target_t *t = NULL;
    lynx_memstats_t ms;
    int64_t t0 = lynx_mono_ns();

    (void)state;
    assert_int_equal(lynx_target_open(e->fb.name, NULL, &t), 0);
    for (int lie = 0; lie < 4; lie++) {
        switch (lie) {
        case 0: /* bytes that look like huge values, seq even */
            memset(s, 0x41, sizeof(*s));
            atomic_store(&s->seq, 0x41414142u);
            break;
        case 1: /* a writer that never finishes */
            atomic_store(&s->seq, 7);
            break;
        case 2: /* plausible, but another process's */
            memset(s, 0, sizeof(*s));
            s->stats_bytes = sizeof(lynx_memstats_t);
            s->sampled_mono_ns = lynx_mono_ns();
            s->stats.sampled_unix_ns = lynx_real_ns();
            s->stats.pid = 1;
            atomic_store(&s->seq, 2);
            break;
        case 3: /* claims a sampled_at an hour ahead */
            s->stats.pid = getpid();
            s->stats.sampled_unix_ns = lynx_real_ns() + 3600 * 1000 * MS;
            atomic_store(&s->seq, 4);
            break;
        }
        print_message("# lie %d\n", lie);
        memset(&ms, 0, sizeof(ms));
        assert_int_equal(lynx_target_memstats_fresh(t, &ms, 3600 * 1000 * MS,
                                                    TIMEOUT),
                         0);
        assert_false(ms.flags & LYNX_MEMSTATS_FROM_SNAPSHOT);
        assert_int_equal(ms.resident_bytes, 0x4141414141414141LL);
    }
    /* The region cut off the object: an error, not a SIGBUS. */
    fake_block_resize(&e->fb, e->fb.header->regions[0].offset +
                                  sizeof(lynx_answers_t));
    assert_error(lynx_target_memstats_fresh(t, &ms, 3600 * 1000 * MS,
                                            TIMEOUT));
    lynx_target_close(t);
    assert_true(lynx_mono_ns() - t0 < 6 * TIMEOUT + 2000 * MS);
    evil_stop(e);
}

static void test_other_owner(void **state)
{
    struct passwd *pw = getpwnam("nobody");
    evil_t *e;

    (void)state;
    if (geteuid() != 0 || pw == NULL) {
        skip();
    }
    e = evil_start("evil-owner");
    e->nrecords = 1000000;
    atomic_store(&e->fb.lie_bulk_len, UINT64_MAX);
    assert_int_equal(chown(e->fb.path, pw->pw_uid, pw->pw_gid), 0);
    assert_int_equal(chown(e->fb.mailbox_path, pw->pw_uid, pw->pw_gid), 0);
    {
        lynx_target_t *t = NULL;
        int rc = lynx_target_open(e->fb.name, NULL, &t);
        assert_int_equal(rc, LYNX_EOWNER);
        assert_null(t);
    }
    drive_all(e, 1);
    evil_stop(e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lying_lengths),
        cmocka_unit_test(test_lying_counts),
        cmocka_unit_test(test_shrink_mid_reply),
        cmocka_unit_test(test_lying_cpu),
        cmocka_unit_test(test_lying_modules),
        cmocka_unit_test(test_lying_snapshots),
        cmocka_unit_test(test_other_owner),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
