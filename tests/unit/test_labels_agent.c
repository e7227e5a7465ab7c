/*
 * test_labels_agent.c - the agent's per-thread labels (agent/signal_labels.c
 * and agent/name_hooks.c) inside this test process: push and pop within
 * and past the limits (depth, key and value sizes, reserved keys), what a
 * capture sees, thread names as renamed by pthread_setname_np() and
 * prctl(), from the thread itself and from another, and captures from a
 * signal handler that lands at any instruction of a push or pop, checked
 * against what the interrupted loop knows it had pushed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "agent/labels.h"
#include "lynxprof-agent.h"

static void capture(lynx_sample_labels_t *l, uint32_t *flags)
{
    *flags = 0;
    lynx_labels_capture(l, flags);
}

static void test_push_pop(void **state)
{
    lynx_sample_labels_t l;
    uint32_t flags;
    (void)state;

    capture(&l, &flags);
    assert_int_equal(l.nlabels, 0);
    assert_int_equal(l.tid, (int32_t)syscall(SYS_gettid));
    assert_int_equal(flags, 0);
    assert_int_equal(lynx_label_push("request", "search"), 0);
    assert_int_equal(lynx_label_push("tenant", NULL), 0);
    capture(&l, &flags);
    assert_int_equal(l.nlabels, 2);
    assert_string_equal(l.labels[0].key, "request");
    assert_string_equal(l.labels[0].value, "search");
    assert_string_equal(l.labels[1].key, "tenant");
    assert_string_equal(l.labels[1].value, "");
    assert_int_equal(flags, 0);
    lynx_label_pop();
    capture(&l, &flags);
    assert_int_equal(l.nlabels, 1);
    /* Unused bytes are zero: equal labels compare equal. */
    for (size_t i = 0; i < sizeof(l.labels[1]); i++) {
        assert_int_equal(((const char *)&l.labels[1])[i], 0);
    }
    lynx_label_pop();
    lynx_label_pop(); /* one too many: nothing happens */
    capture(&l, &flags);
    assert_int_equal(l.nlabels, 0);

    /* A short label where a longer one was: captured as the same bytes
     * as a fresh one (push leaves the old tail, capture clears it). */
    {
        lynx_sample_labels_t fresh;
        assert_int_equal(
            lynx_label_push("longer-key-abc", "a-much-longer-value"), 0);
        lynx_label_pop();
        assert_int_equal(lynx_label_push("k", "v"), 0);
        capture(&l, &flags);
        lynx_label_pop();
        memset(&fresh.labels[0], 0, sizeof(fresh.labels[0]));
        memcpy(fresh.labels[0].key, "k", 2);
        memcpy(fresh.labels[0].value, "v", 2);
        assert_int_equal(l.nlabels, 1);
        assert_memory_equal(&l.labels[0], &fresh.labels[0],
                            sizeof(l.labels[0]));
    }
}

/* Push a value too long by a few bytes with an e acute (two bytes) at
 * pos; returns the length kept, after checking the push said it cut. */
static size_t cut_value_len(size_t pos)
{
    char value[LYNX_LABEL_VALUE_MAX + 8];
    lynx_sample_labels_t l;
    uint32_t flags;
    size_t len;

    memset(value, 'v', sizeof(value));
    memcpy(value + pos, "\xc3\xa9", 2);
    value[sizeof(value) - 1] = '\0';
    assert_int_equal(lynx_label_push("k", value), 1);
    capture(&l, &flags);
    assert_int_equal(flags, LYNX_STACK_LABELS_CUT);
    len = strlen(l.labels[0].value);
    assert_memory_equal(l.labels[0].value, value, len);
    lynx_label_pop();
    return len;
}

static void test_limits(void **state)
{
    char key[LYNX_LABEL_PUSH_KEY_MAX + 1];
    char value[LYNX_LABEL_VALUE_MAX + 8];
    lynx_sample_labels_t l;
    uint32_t flags;
    (void)state;

    /* Keys: at most 15 bytes; empty, NULL and reserved ones refused. */
    memset(key, 'k', sizeof(key));
    key[LYNX_LABEL_KEY_MAX - 1] = '\0';
    assert_int_equal(lynx_label_push(key, "v"), 0);
    lynx_label_pop();
    key[LYNX_LABEL_KEY_MAX - 1] = 'k';
    key[LYNX_LABEL_KEY_MAX] = '\0';
    assert_int_equal(lynx_label_push(key, "v"), -ENAMETOOLONG);
    capture(&l, &flags);
    assert_int_equal(l.nlabels, 1);
    assert_string_equal(l.labels[0].key, ""); /* kept as refused */
    assert_int_equal(flags, LYNX_STACK_LABELS_CUT);
    lynx_label_pop();
    assert_int_equal(lynx_label_push("", "v"), -EINVAL);
    lynx_label_pop();
    assert_int_equal(lynx_label_push(NULL, "v"), -EINVAL);
    lynx_label_pop();
    assert_int_equal(lynx_label_push("thread", "v"), -EINVAL);
    lynx_label_pop();
    assert_int_equal(lynx_label_push("tid", "v"), -EINVAL);
    lynx_label_pop();
    capture(&l, &flags);
    assert_int_equal(l.nlabels, 0);
    assert_int_equal(flags, 0);

    /* Values: cut to 47 bytes, never inside a UTF-8 character. */
    memset(value, 'v', sizeof(value));
    value[LYNX_LABEL_VALUE_MAX - 1] = '\0';
    assert_int_equal(lynx_label_push("k", value), 0);
    lynx_label_pop();
    memset(value, 'v', sizeof(value));
    /* An e acute across the cut (bytes 46 and 47): left out whole; just
     * before it (bytes 45 and 46): kept whole. */
    assert_int_equal(cut_value_len(LYNX_LABEL_VALUE_MAX - 2),
                     LYNX_LABEL_VALUE_MAX - 2);
    assert_int_equal(cut_value_len(LYNX_LABEL_VALUE_MAX - 3),
                     LYNX_LABEL_VALUE_MAX - 1);

    /* Depth: four kept, the fifth and sixth refused but popped in turn. */
    for (int i = 0; i < LYNX_LABEL_DEPTH; i++) {
        char v[8];
        snprintf(v, sizeof(v), "v%d", i);
        assert_int_equal(lynx_label_push("k", v), 0);
    }
    assert_int_equal(lynx_label_push("k", "v4"), -ENOSPC);
    assert_int_equal(lynx_label_push("k", "v5"), -ENOSPC);
    capture(&l, &flags);
    assert_int_equal(l.nlabels, LYNX_LABEL_DEPTH);
    assert_string_equal(l.labels[3].value, "v3");
    assert_int_equal(flags, LYNX_STACK_LABELS_CUT);
    lynx_label_pop();
    lynx_label_pop();
    capture(&l, &flags);
    assert_int_equal(l.nlabels, LYNX_LABEL_DEPTH);
    assert_int_equal(flags, 0); /* all that is pushed fits again */
    lynx_label_pop();
    capture(&l, &flags);
    assert_int_equal(l.nlabels, 3);
    assert_string_equal(l.labels[2].value, "v2");
    for (int i = 0; i < 3; i++) {
        lynx_label_pop();
    }
    capture(&l, &flags);
    assert_int_equal(l.nlabels, 0);
}

/* ---- thread names ------------------------------------------------------- */

static pthread_mutex_t name_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t name_cond = PTHREAD_COND_INITIALIZER;
static int name_step;
static lynx_sample_labels_t name_seen;

static void wait_step(int step)
{
    pthread_mutex_lock(&name_lock);
    while (name_step < step) {
        pthread_cond_wait(&name_cond, &name_lock);
    }
    pthread_mutex_unlock(&name_lock);
}

static void set_step(int step)
{
    pthread_mutex_lock(&name_lock);
    name_step = step;
    pthread_cond_broadcast(&name_cond);
    pthread_mutex_unlock(&name_lock);
}

static void *named_main(void *arg)
{
    uint32_t flags;
    (void)arg;

    capture(&name_seen, &flags); /* caches its first name */
    set_step(1);
    wait_step(2);                /* renamed by the main thread */
    capture(&name_seen, &flags);
    set_step(3);
    return NULL;
}

static void test_names(void **state)
{
    lynx_sample_labels_t l;
    uint32_t flags;
    pthread_t t;
    (void)state;

    assert_int_equal(pthread_setname_np(pthread_self(), "first"), 0);
    capture(&l, &flags);
    assert_string_equal(l.thread, "first");
    assert_int_equal(prctl(PR_SET_NAME, "second", 0, 0, 0), 0);
    capture(&l, &flags);
    assert_string_equal(l.thread, "second");
    /* Cut to 15 bytes by the kernel. */
    assert_int_equal(prctl(PR_SET_NAME, "a-name-longer-than-15", 0, 0, 0),
                     0);
    capture(&l, &flags);
    assert_string_equal(l.thread, "a-name-longer-t");
    /* prctl's other options still work through the interposed one. */
    {
        char name[16];
        assert_int_equal(prctl(PR_GET_NAME, name, 0, 0, 0), 0);
        assert_string_equal(name, "a-name-longer-t");
        assert_int_equal(prctl(-12345, 0, 0, 0, 0), -1);
        assert_int_equal(errno, EINVAL);
    }

    /* Another thread renamed from here sees its new name. */
    name_step = 0;
    assert_int_equal(pthread_create(&t, NULL, named_main, NULL), 0);
    wait_step(1);
    assert_int_equal(pthread_setname_np(t, "renamed"), 0);
    set_step(2);
    wait_step(3);
    pthread_join(t, NULL);
    assert_string_equal(name_seen.thread, "renamed");
    assert_true(name_seen.tid != l.tid && name_seen.tid > 0);
}

/* ---- captures from a signal handler ---------------------------------------- */

static _Atomic uint64_t ncaptures;
static _Atomic uint64_t nbad;

/* Each label's value says its depth and the round that pushed it:
 * "d<depth>.<round mod 100>" under key "k"; every label below the depth
 * was pushed in the current round, so a capture that sees a label of an
 * earlier round (a depth raised before its label was written, or an
 * entry reused before the depth was lowered) is caught. */
static volatile sig_atomic_t cur_round;

static void label_value(char *v, size_t size, int depth, int round)
{
    snprintf(v, size, "d%d.%d", depth, round % 100);
}

static void on_alarm(int sig)
{
    lynx_sample_labels_t l;
    uint32_t flags = 0;
    (void)sig;

    lynx_labels_capture(&l, &flags);
    atomic_fetch_add(&ncaptures, 1);
    if (l.nlabels > LYNX_LABEL_DEPTH) {
        atomic_fetch_add(&nbad, 1);
        return;
    }
    for (uint32_t i = 0; i < l.nlabels; i++) {
        char want[16];
        /* snprintf is not async-signal-safe in general; with these
         * arguments it neither allocates nor locks. */
        label_value(want, sizeof(want), (int)i, cur_round);
        if (strcmp(l.labels[i].key, "k") != 0 ||
            strcmp(l.labels[i].value, want) != 0) {
            atomic_fetch_add(&nbad, 1);
        }
    }
}

static void test_signal_captures(void **state)
{
    struct sigaction sa;
    struct itimerspec its = {{0, 20000}, {0, 20000}};
    struct sigevent sev;
    timer_t timer;
    struct timespec t0;
    struct timespec t1;
    (void)state;

    /* Start from an empty stack whatever an earlier test left. */
    for (int i = 0; i < 64; i++) {
        lynx_label_pop();
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    assert_int_equal(sigaction(SIGPROF, &sa, NULL), 0);
    memset(&sev, 0, sizeof(sev));
    sev.sigev_notify = SIGEV_THREAD_ID;
    sev.sigev_signo = SIGPROF;
    sev._sigev_un._tid = (pid_t)syscall(SYS_gettid);
    assert_int_equal(timer_create(CLOCK_THREAD_CPUTIME_ID, &sev, &timer), 0);
    assert_int_equal(timer_settime(timer, 0, &its, NULL), 0);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do {
        /* Pushes and pops of varying depth, values overwritten in turn. */
        for (int round = 0; round < 1000; round++) {
            int d = 1 + round % LYNX_LABEL_DEPTH;
            cur_round = round;
            for (int i = 0; i < d; i++) {
                char v[16];
                label_value(v, sizeof(v), i, round);
                lynx_label_push("k", v);
            }
            for (int i = 0; i < d; i++) {
                lynx_label_pop();
            }
        }
        clock_gettime(CLOCK_MONOTONIC, &t1);
    } while (atomic_load(&ncaptures) < 2000 && t1.tv_sec - t0.tv_sec < 20);
    timer_delete(timer);
    signal(SIGPROF, SIG_IGN);
    print_message("%llu captures during pushes and pops\n",
                  (unsigned long long)atomic_load(&ncaptures));
    assert_true(atomic_load(&ncaptures) >= 100);
    assert_int_equal(atomic_load(&nbad), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_push_pop),
        cmocka_unit_test(test_limits),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_signal_captures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
