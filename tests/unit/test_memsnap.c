/*
 * test_memsnap.c - the memory statistics snapshot (client/memsnap.c):
 * the decoder against hand-made copies, then lynx_target_memstats_fresh()
 * against a fake block whose fake agent answers LYNX_CMD_MEMSTATS with
 * statistics told apart from the snapshot's by their resident_bytes.  A
 * torn, stale, absent or implausible snapshot must fall back to the round
 * trip (the agent's answer, counted by the fake agent), a fresh one must
 * not take it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "fake_block.h"
#include "client/attach.h"
#include "client/memsnap.h"
#include "protocol/clock.h"
#include "lynxprof.h"

#define MS 1000000LL
#define SECOND (1000 * MS)
#define AGENT_RSS 111
#define SNAP_RSS 222

static _Atomic int asked; /* LYNX_CMD_MEMSTATS the fake agent answered */

static int agent_cb(void *ctx, uint32_t command, const void *arg,
                    size_t arg_len, void *reply, size_t *reply_len)
{
    lynx_memstats_t ms;

    (void)ctx;
    (void)arg;
    (void)arg_len;
    if (command != LYNX_CMD_MEMSTATS) {
        *reply_len = 0;
        return LYNX_EBADCMD;
    }
    memset(&ms, 0, sizeof(ms));
    ms.pid = getpid();
    ms.sampled_unix_ns = lynx_real_ns();
    ms.resident_bytes = AGENT_RSS;
    /* Only libprofile may say a result came from the snapshot. */
    ms.flags = LYNX_MEMSTATS_FROM_SNAPSHOT;
    memcpy(reply, &ms, sizeof(ms));
    *reply_len = sizeof(ms);
    atomic_fetch_add(&asked, 1);
    return 0;
}

/* A plausible snapshot taken age_ns ago. */
static void good_snap(lynx_memsnap_t *s, int64_t age_ns)
{
    memset(s, 0, sizeof(*s));
    s->stats_bytes = sizeof(lynx_memstats_t);
    s->sampled_mono_ns = lynx_mono_ns() - age_ns;
    s->stats.sampled_unix_ns = lynx_real_ns() - age_ns;
    s->stats.pid = getpid();
    s->stats.resident_bytes = SNAP_RSS;
    s->stats.flags = LYNX_MEMSTATS_HAVE_ALLOC_COUNTERS;
}

static int decode(lynx_memsnap_t *a, lynx_memsnap_t *b, int64_t max_age,
                  lynx_memstats_t *out)
{
    return lynx_memsnap_decode(a, b, getpid(), lynx_mono_ns(),
                               lynx_real_ns(), max_age, out);
}

static void test_decode(void **state)
{
    lynx_memsnap_t a, b;
    lynx_memstats_t out;

    (void)state;
    good_snap(&a, 100 * MS);
    atomic_store(&a.seq, 4);
    b = a;
    assert_int_equal(decode(&a, &b, SECOND, &out), 0);
    assert_int_equal(out.resident_bytes, SNAP_RSS);
    assert_true(out.flags & LYNX_MEMSTATS_FROM_SNAPSHOT);
    assert_true(out.flags & LYNX_MEMSTATS_HAVE_ALLOC_COUNTERS);
    assert_int_equal(out.sampled_unix_ns, a.stats.sampled_unix_ns);
    /* Too old for this request, fine for a laxer one. */
    assert_int_equal(decode(&a, &b, 50 * MS, &out), LYNX_ESTALE);
    /* Being written: odd seq, seq moved on, or copies that differ. */
    atomic_store(&a.seq, 5);
    atomic_store(&b.seq, 5);
    assert_int_equal(decode(&a, &b, SECOND, &out), LYNX_EBUSY);
    atomic_store(&a.seq, 4);
    atomic_store(&b.seq, 6);
    assert_int_equal(decode(&a, &b, SECOND, &out), LYNX_EBUSY);
    b = a;
    b.stats.resident_bytes++;
    assert_int_equal(decode(&a, &b, SECOND, &out), LYNX_EBUSY);
    /* Never published. */
    good_snap(&a, 0);
    b = a;
    assert_int_equal(decode(&a, &b, SECOND, &out), LYNX_ESTALE);
}

/* Each lie on its own, in an otherwise good snapshot. */
static void test_decode_refuses_lies(void **state)
{
    lynx_memsnap_t a, b;
    lynx_memstats_t out;

    (void)state;
    for (int lie = 0; lie < 7; lie++) {
        good_snap(&a, 100 * MS);
        atomic_store(&a.seq, 2);
        switch (lie) {
        case 0:
            a.stats_bytes = sizeof(lynx_memstats_t) + 8;
            break;
        case 1:
            a.stats.pid = getpid() + 1;
            break;
        case 2:
            a.stats.flags |= 0x80u;
            break;
        case 3:
            a.stats.flags |= LYNX_MEMSTATS_FROM_SNAPSHOT;
            break;
        case 4: /* taken in the reader's future */
            a.sampled_mono_ns = lynx_mono_ns() + 10 * SECOND;
            break;
        case 5: /* a sampled_at the age does not support */
            a.stats.sampled_unix_ns += 60 * SECOND;
            break;
        case 6:
            a.sampled_mono_ns = -1;
            break;
        }
        b = a;
        print_message("# lie %d\n", lie);
        assert_int_equal(decode(&a, &b, 100 * SECOND, &out), LYNX_EPROTO);
    }
}

typedef struct fixture {
    fake_block_t fb;
    lynx_target_t *t;
} fixture_t;

static int setup(void **state)
{
    static fixture_t f;

    memset(&f, 0, sizeof(f));
    assert_int_equal(fake_block_create(&f.fb, fake_name("memsnap"),
                                       getpid()),
                     0);
    assert_int_equal(fake_agent_start(&f.fb, agent_cb, NULL), 0);
    assert_int_equal(lynx_target_open(f.fb.name, NULL, &f.t), 0);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    fixture_t *f = *state;

    lynx_target_close(f->t);
    fake_block_destroy(&f->fb);
    return 0;
}

/* One call; asserts where the answer came from. */
static void expect(fixture_t *f, int64_t max_age, int from_snapshot)
{
    lynx_memstats_t ms;
    int before = atomic_load(&asked);

    assert_int_equal(lynx_target_memstats_fresh(f->t, &ms, max_age, SECOND),
                     0);
    if (from_snapshot) {
        assert_int_equal(ms.resident_bytes, SNAP_RSS);
        assert_true(ms.flags & LYNX_MEMSTATS_FROM_SNAPSHOT);
        assert_int_equal(atomic_load(&asked), before);
    } else {
        assert_int_equal(ms.resident_bytes, AGENT_RSS);
        assert_false(ms.flags & LYNX_MEMSTATS_FROM_SNAPSHOT);
        assert_int_equal(atomic_load(&asked), before + 1);
    }
}

static void test_fresh_taken_else_agent(void **state)
{
    fixture_t *f = *state;
    lynx_memsnap_t s;

    /* Nothing published yet. */
    expect(f, SECOND, 0);
    good_snap(&s, 10 * MS);
    fake_memsnap_write(&f->fb, &s);
    expect(f, SECOND, 1);
    expect(f, SECOND, 1);
    /* max_age 0 always asks; a stricter max_age than the age asks. */
    expect(f, 0, 0);
    expect(f, 5 * MS, 0);
    /* Stale. */
    good_snap(&s, 2 * SECOND);
    fake_memsnap_write(&f->fb, &s);
    expect(f, SECOND, 0);
    expect(f, 3 * SECOND, 1);
}

static void test_torn_falls_back(void **state)
{
    fixture_t *f = *state;
    lynx_memsnap_t s;

    good_snap(&s, 10 * MS);
    fake_memsnap_write(&f->fb, &s);
    expect(f, SECOND, 1);
    /* A writer stopped in the middle: seq stays odd.  The reader gives up
     * after its bounded retries and asks the agent. */
    atomic_fetch_add(&f->fb.memsnap->seq, 1);
    expect(f, SECOND, 0);
    atomic_fetch_add(&f->fb.memsnap->seq, 1);
    expect(f, SECOND, 1);
}

static void test_lying_snapshot_falls_back(void **state)
{
    fixture_t *f = *state;
    lynx_memsnap_t s;

    good_snap(&s, 10 * MS);
    s.stats.pid = getpid() + 1;
    fake_memsnap_write(&f->fb, &s);
    expect(f, SECOND, 0);
    good_snap(&s, 10 * MS);
    s.stats_bytes = 0xffffffffu;
    fake_memsnap_write(&f->fb, &s);
    expect(f, SECOND, 0);
}

/* An agent that stopped beating is not served from its last snapshot. */
static void test_stale_agent_not_served(void **state)
{
    fixture_t *f = *state;
    lynx_memsnap_t s;
    lynx_memstats_t ms;

    fake_agent_stop(&f->fb);
    atomic_store(&f->fb.header->heartbeat_ns,
                 lynx_mono_ns() - LYNX_STALE_NS - SECOND);
    good_snap(&s, 10 * MS);
    fake_memsnap_write(&f->fb, &s);
    assert_int_equal(lynx_target_memstats_fresh(f->t, &ms, SECOND,
                                                200 * MS),
                     LYNX_ESTALE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode),
        cmocka_unit_test(test_decode_refuses_lies),
        cmocka_unit_test_setup_teardown(test_fresh_taken_else_agent, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_torn_falls_back, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_lying_snapshot_falls_back,
                                        setup, teardown),
        cmocka_unit_test_setup_teardown(test_stale_agent_not_served, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
