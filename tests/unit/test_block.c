/*
 * test_block.c - attaching to control blocks: every fault a reader must
 * refuse gets its own code, and nothing crashes or hangs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_block.h"
#include "client/attach.h"
#include "client/target.h"
#include "protocol/clock.h"

static int attach_rc(const char *name, unsigned flags)
{
    lynx_block_t *b = NULL;
    int rc = lynx_block_attach(name, flags, &b);

    if (rc == 0) {
        assert_non_null(b);
        lynx_block_detach(b);
    } else {
        assert_null(b);
    }
    return rc;
}

static void test_names(void **state)
{
    char out[LYNX_NAME_MAX];
    char path[128];
    (void)state;
    assert_true(lynx_name_valid("lynx-demo"));
    assert_true(lynx_name_valid("a.b_c-1"));
    assert_false(lynx_name_valid(""));
    assert_false(lynx_name_valid(NULL));
    assert_false(lynx_name_valid(".hidden"));
    assert_false(lynx_name_valid("../etc/passwd"));
    assert_false(lynx_name_valid("a/b"));
    assert_false(lynx_name_valid("a b"));
    assert_false(lynx_name_valid(
        "0123456789012345678901234567890123456789012345678901234567890123"));
    lynx_name_sanitize("my prog/x", out);
    assert_string_equal(out, "my_prog_x");
    lynx_name_sanitize(".x", out);
    assert_string_equal(out, "_x");
    lynx_name_sanitize("", out);
    assert_string_equal(out, "process");
    assert_int_equal(lynx_block_path("..", path, sizeof(path)),
                     LYNX_EBADNAME);
    assert_int_equal(lynx_block_path("demo", path, sizeof(path)), 0);
    assert_string_equal(path, "/dev/shm/lynxprof.demo");
}

static void test_missing_and_bad_name(void **state)
{
    (void)state;
    assert_int_equal(attach_rc(fake_name("absent"), 0), LYNX_ENOTARGET);
    assert_int_equal(attach_rc("../../etc/passwd", 0), LYNX_EBADNAME);
    assert_int_equal(attach_rc("", 0), LYNX_EBADNAME);
}

static void test_valid(void **state)
{
    fake_block_t fb;
    lynx_block_t *b;
    (void)state;
    assert_int_equal(fake_block_create(&fb, fake_name("ok"), getpid()), 0);
    assert_int_equal(lynx_block_attach(fb.name, 0, &b), 0);
    assert_int_equal(b->header->pid, getpid());
    assert_ptr_equal((const char *)b->answers - (const char *)b->base,
                     (char *)fb.answers - (char *)fb.header);
    assert_int_equal(b->bulk_size_bytes * LYNX_MAILBOX_SLOTS,
                     lynx_block_region(fb.header, LYNX_REGION_BULK)
                         ->size_bytes);
    /* The mailbox is the one the header names. */
    assert_non_null(b->mailbox);
    assert_int_equal(b->mailbox->nslots, LYNX_MAILBOX_SLOTS);
    lynx_block_detach(b);
    fake_block_destroy(&fb);
}

/* Each corruption of a valid block, and the code it must give. */
static void test_corruptions(void **state)
{
    fake_block_t fb;
    (void)state;
    struct {
        const char *what;
        int expected;
    } cases[] = {
        {"magic", LYNX_EBADMAGIC},       {"version", LYNX_EVERSION},
        {"header_size", LYNX_EBADSIZE},  {"total_size", LYNX_EBADSIZE},
        {"nregions", LYNX_EBADSIZE},     {"region_offset", LYNX_EBADSIZE},
        {"region_size", LYNX_EBADSIZE},  {"no_mailbox", LYNX_EBADSIZE},
        {"mailbox_ino", LYNX_EOWNER},    {"bulk", LYNX_EBADSIZE},
        {"mailbox_size", LYNX_EBADSIZE}, {"no_mailbox_object", LYNX_ENOTARGET},
        {"name_unterminated", LYNX_EBADSIZE},
        {"file_grown", LYNX_EBADSIZE},   {"file_tiny", LYNX_EBADSIZE},
        {"stale", LYNX_ESTALE},          {"stopped", LYNX_EDEAD},
        {"reused_pid", LYNX_EDEAD},
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *w = cases[i].what;
        lynx_block_header_t *h;
        assert_int_equal(fake_block_create(&fb, fake_name("bad"), getpid()),
                         0);
        h = fb.header;
        if (strcmp(w, "magic") == 0) {
            atomic_store(&h->magic, 0x1234);
        } else if (strcmp(w, "version") == 0) {
            h->version = LYNX_BLOCK_VERSION + 1;
        } else if (strcmp(w, "header_size") == 0) {
            h->header_size_bytes = 8;
        } else if (strcmp(w, "total_size") == 0) {
            h->total_size_bytes += 4096;
        } else if (strcmp(w, "nregions") == 0) {
            h->nregions = 1000;
        } else if (strcmp(w, "region_offset") == 0) {
            h->regions[0].offset = UINT64_MAX - 63;
        } else if (strcmp(w, "region_size") == 0) {
            h->regions[0].size_bytes = h->total_size_bytes;
        } else if (strcmp(w, "no_mailbox") == 0) {
            h->regions[0].kind = 99;
        } else if (strcmp(w, "mailbox_ino") == 0) {
            h->mailbox_ino++;
        } else if (strcmp(w, "bulk") == 0) {
            h->regions[1].size_bytes = 4096 * LYNX_MAILBOX_SLOTS + 1;
        } else if (strcmp(w, "mailbox_size") == 0) {
            h->mailbox_size_bytes += 8;
        } else if (strcmp(w, "no_mailbox_object") == 0) {
            unlink(fb.mailbox_path);
        } else if (strcmp(w, "name_unterminated") == 0) {
            memset(h->name, 'x', sizeof(h->name));
        } else if (strcmp(w, "file_grown") == 0) {
            assert_int_equal(fake_block_resize(&fb, fb.size_bytes + 4096),
                             0);
        } else if (strcmp(w, "file_tiny") == 0) {
            assert_int_equal(fake_block_resize(&fb, 16), 0);
        } else if (strcmp(w, "stale") == 0) {
            atomic_store(&h->heartbeat_ns, lynx_mono_ns() - LYNX_STALE_NS -
                                               1000000000LL);
        } else if (strcmp(w, "stopped") == 0) {
            atomic_store(&h->agent_state, LYNX_AGENT_STOPPED);
        } else if (strcmp(w, "reused_pid") == 0) {
            h->start_ticks += 1;
        }
        print_message("corruption %s\n", w);
        assert_int_equal(attach_rc(fb.name, 0), cases[i].expected);
        fake_block_destroy(&fb);
    }
}

static void test_dead_and_zombie(void **state)
{
    fake_block_t fb;
    pid_t child;
    int status;
    (void)state;

    /* A zombie: exited, not yet reaped, kill(pid, 0) still succeeds. */
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        _exit(0);
    }
    assert_int_equal(fake_block_create(&fb, fake_name("zombie"), child), 0);
    usleep(100 * 1000);
    assert_int_equal(attach_rc(fb.name, 0), LYNX_EDEAD);
    assert_int_equal(attach_rc(fb.name, LYNX_ATTACH_ALLOW_DEAD), 0);
    waitpid(child, &status, 0);
    /* Reaped: the pid is gone altogether. */
    assert_int_equal(attach_rc(fb.name, 0), LYNX_EDEAD);
    fake_block_destroy(&fb);
}

/* A block kept attached while its target dies: the pidfd opened at
 * attach says so at the next check, zombie or reaped, as /proc did. */
static void test_dies_while_attached(void **state)
{
    fake_block_t fb;
    lynx_block_t *b = NULL;
    pid_t child;
    int status;
    (void)state;

    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    assert_int_equal(fake_block_create(&fb, fake_name("dies"), child), 0);
    assert_int_equal(lynx_block_attach(fb.name, 0, &b), 0);
#ifdef SYS_pidfd_open
    assert_true(b->pidfd >= 0); /* Linux >= 5.3 */
#endif
    assert_int_equal(lynx_block_check_alive(b), 0);
    assert_int_equal(kill(child, SIGKILL), 0);
    for (int i = 0; i < 200 && lynx_block_check_alive(b) == 0; i++) {
        usleep(10 * 1000);
    }
    /* A zombie now (not reaped): dead for us. */
    assert_int_equal(lynx_block_check_alive(b), LYNX_EDEAD);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(lynx_block_check_alive(b), LYNX_EDEAD);
    lynx_block_detach(b);
    fake_block_destroy(&fb);
}

/* "The only target running" (no name given) is kept while /dev/shm is
 * unchanged: a kept target that died is found out, a block that appears
 * is seen at once. */
static void test_only_live_kept(void **state)
{
    fake_block_t a;
    fake_block_t b;
    fake_block_t c;
    lynx_target_t *t = NULL;
    pid_t child;
    int status;
    (void)state;

    if (!fake_private_shm()) {
        skip(); /* not root: others' blocks would make it ambiguous */
    }
    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        pause();
        _exit(0);
    }
    assert_int_equal(fake_block_create(&a, fake_name("only"), child), 0);
    usleep(100 * 1000); /* the directory's time settles: kept from now */
    for (int i = 0; i < 2; i++) {
        assert_int_equal(lynx_target_open(NULL, NULL, &t), 0);
        assert_string_equal(lynx_target_name(t), a.name);
        lynx_target_close(t);
    }
    assert_int_equal(kill(child, SIGKILL), 0);
    assert_int_equal(waitpid(child, &status, 0), child);
    assert_int_equal(lynx_target_open(NULL, NULL, &t), LYNX_ENOTARGET);
    assert_null(t);
    assert_int_equal(fake_block_create(&b, fake_name("only"), getpid()), 0);
    usleep(100 * 1000);
    assert_int_equal(lynx_target_open(NULL, NULL, &t), 0);
    assert_string_equal(lynx_target_name(t), b.name);
    lynx_target_close(t);
    assert_int_equal(fake_block_create(&c, fake_name("only"), getpid()), 0);
    assert_int_equal(lynx_target_open(NULL, NULL, &t), LYNX_EAMBIGUOUS);
    fake_block_destroy(&c);
    fake_block_destroy(&b);
    fake_block_destroy(&a);
}

static void test_list(void **state)
{
    fake_block_t a;
    fake_block_t b;
    char (*names)[LYNX_NAME_MAX] = calloc(256, LYNX_NAME_MAX);
    size_t n;
    int seen = 0;
    (void)state;
    assert_int_equal(fake_block_create(&a, fake_name("list"), getpid()), 0);
    assert_int_equal(fake_block_create(&b, fake_name("list"), getpid()), 0);
    assert_int_equal(lynx_block_list(names, 256, &n), 0);
    for (size_t i = 0; i < n; i++) {
        seen += strcmp(names[i], a.name) == 0 || strcmp(names[i], b.name) == 0;
        if (i > 0) {
            assert_true(strcmp(names[i - 1], names[i]) < 0);
        }
    }
    assert_int_equal(seen, 2);
    fake_block_destroy(&a);
    fake_block_destroy(&b);
    free(names);
}

/* What a walk saw of the three blocks of test_foreach. */
typedef struct seen {
    const char *names[3];    /* live, dead, bad magic */
    int status[3];           /* as visited; 1 = not visited */
    int pid[3];              /* of the handle, 0 without one */
    ino_t ino[3];            /* of the block lent */
    int stop_after;          /* > 0: return 7 at that visit of ours */
    int visits;
} seen_t;

static int see(lynx_target_t *t, const char *name, int status, void *arg)
{
    seen_t *s = arg;

    for (int i = 0; i < 3; i++) {
        if (strcmp(name, s->names[i]) != 0) {
            continue;
        }
        s->status[i] = status;
        s->pid[i] = t != NULL ? lynx_target_pid(t) : 0;
        s->ino[i] = t != NULL ? lynx_target_block(t)->ino : 0;
        if (t != NULL) {
            assert_string_equal(lynx_target_name(t), name);
        }
        s->visits++;
        if (s->stop_after > 0 && s->visits == s->stop_after) {
            return 7;
        }
    }
    return 0;
}

/* How many descriptors of this process refer to `path` (removed or not). */
static int fds_to(const char *path)
{
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int n = 0;

    assert_non_null(d);
    while ((e = readdir(d)) != NULL) {
        char link[300];
        char target[256];
        ssize_t len;
        snprintf(link, sizeof(link), "/proc/self/fd/%s", e->d_name);
        len = readlink(link, target, sizeof(target) - 1);
        if (len <= 0) {
            continue;
        }
        target[len] = '\0';
        n += strncmp(target, path, strlen(path)) == 0 &&
             (target[strlen(path)] == '\0' || target[strlen(path)] == ' ');
    }
    closedir(d);
    return n;
}

static void walk(lynx_visit_t which, seen_t *s, int expect_rc)
{
    for (int i = 0; i < 3; i++) {
        s->status[i] = 1;
        s->pid[i] = 0;
        s->ino[i] = 0;
    }
    s->visits = 0;
    assert_int_equal(lynx_target_foreach(which, see, s), expect_rc);
}

static void test_foreach(void **state)
{
    fake_block_t fb[3];
    seen_t s;
    pid_t child;
    int wstatus;
    ino_t first;
    char again[LYNX_NAME_MAX];
    int private;
    lynx_target_info_t *info;
    size_t n;
    int listed = 0;
    (void)state;

    child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        _exit(0);
    }
    waitpid(child, &wstatus, 0);
    private = fake_private_shm();
    assert_int_equal(fake_block_create(&fb[0], fake_name("walk"), getpid()),
                     0);
    assert_int_equal(fake_block_create(&fb[1], fake_name("walk"), child), 0);
    assert_int_equal(fake_block_create(&fb[2], fake_name("walk"), getpid()),
                     0);
    atomic_store(&fb[2].header->magic, 0x1234u);
    memset(&s, 0, sizeof(s));
    for (int i = 0; i < 3; i++) {
        s.names[i] = fb[i].name;
    }

    /* Live only: the dead and the broken block are not visited. */
    walk(LYNX_VISIT_LIVE, &s, 0);
    assert_int_equal(s.status[0], 0);
    assert_int_equal(s.pid[0], getpid());
    assert_int_equal(s.status[1], 1);
    assert_int_equal(s.status[2], 1);
    first = s.ino[0];
    assert_true(first != 0);

    /* Attached: the dead target's block too, with its handle. */
    walk(LYNX_VISIT_ATTACHED, &s, 0);
    assert_int_equal(s.status[0], 0);
    assert_int_equal(s.status[1], LYNX_EDEAD);
    assert_int_equal(s.pid[1], child);
    assert_int_equal(s.status[2], 1);

    /* All: the broken one without a handle, with its reason. */
    walk(LYNX_VISIT_ALL, &s, 0);
    assert_int_equal(s.status[2], LYNX_EBADMAGIC);
    assert_int_equal(s.pid[2], 0);

    /* The listing says the same. */
    assert_int_equal(lynx_targets_list(&info, &n), 0);
    for (size_t i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++) {
            if (strcmp(info[i].name, fb[k].name) == 0) {
                assert_int_equal(info[i].status,
                                 k == 0 ? 0 : k == 1 ? LYNX_EDEAD
                                                     : LYNX_EBADMAGIC);
                assert_int_equal(info[i].pid, k == 1 ? child
                                              : k == 0 ? getpid() : 0);
                listed++;
            }
        }
    }
    free(info);
    assert_int_equal(listed, 3);

    /* A visit's non-zero return ends the walk and is its result. */
    s.stop_after = 1;
    walk(LYNX_VISIT_ALL, &s, 7);
    assert_int_equal(s.visits, 1);
    s.stop_after = 0;

    /* A replaced object is attached afresh, not served from the cache. */
    snprintf(again, sizeof(again), "%s", fb[0].name);
    fake_block_destroy(&fb[0]);
    assert_int_equal(fake_block_create(&fb[0], again, getpid()), 0);
    s.names[0] = fb[0].name;
    walk(LYNX_VISIT_LIVE, &s, 0);
    assert_int_equal(s.status[0], 0);
    assert_true(s.ino[0] != 0 && s.ino[0] != first);
    if (private) {
        /* Only our blocks: nothing was evicted, the dead one is held. */
        assert_int_equal(fds_to(fb[1].path), 1);
    }
    for (int i = 0; i < 3; i++) {
        fake_block_destroy(&fb[i]);
    }
    walk(LYNX_VISIT_ALL, &s, 0);
    assert_int_equal(s.visits, 0);
    /* The walk let go of the removed objects (the blocks are cached until
     * then; with other blocks on the host, they may have been evicted). */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(fds_to(fb[i].path), 0);
    }
}

static void test_pid_alive(void **state)
{
    uint64_t ticks;
    char st;
    (void)state;
    assert_int_equal(lynx_proc_stat(getpid(), &ticks, &st), 0);
    assert_int_equal(lynx_pid_alive(getpid(), ticks), 0);
    assert_int_equal(lynx_pid_alive(getpid(), ticks + 1), LYNX_EDEAD);
    assert_int_equal(lynx_pid_alive(0, 0), LYNX_EDEAD);
    assert_int_equal(lynx_pid_alive(-5, 0), LYNX_EDEAD);
    assert_int_equal(lynx_proc_stat(0x3fffffff, NULL, NULL), -ESRCH);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_missing_and_bad_name),
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_corruptions),
        cmocka_unit_test(test_dead_and_zombie),
        cmocka_unit_test(test_dies_while_attached),
        cmocka_unit_test(test_only_live_kept),
        cmocka_unit_test(test_list),
        cmocka_unit_test(test_foreach),
        cmocka_unit_test(test_pid_alive),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
