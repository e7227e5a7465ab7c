/*
 * test_target_error.c - the messages that say how to fix a target that
 * cannot be used (fcgi/target_error.c), against hand-made control blocks:
 * their wording and status, the facts they quote (mode, owner, group,
 * versions), and that a small buffer cuts a message without overflowing.
 * The end-to-end versions, through nginx, are in
 * tests/integration/test_errors.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake_block.h"
#include "fcgi/target_error.h"

/* assert that `hay` contains `needle`, printing both when not. */
#define assert_has(hay, needle)                                               \
    do {                                                                      \
        if (strstr((hay), (needle)) == NULL) {                                \
            print_error("'%s'\n  does not contain '%s'\n", (hay), (needle));  \
            fail();                                                           \
        }                                                                     \
    } while (0)

static void test_perm(void **state)
{
    fake_block_t fb;
    char msg[LYNX_TARGET_ERROR_MAX];
    char grp[64];
    char want[256];
    (void)state;

    assert_int_equal(fake_block_create(&fb, fake_name("perm"), getpid()), 0);
    assert_int_equal(chmod(fb.path, 0600), 0);
    lynx_own_group_name(grp, sizeof(grp));
    assert_int_equal(lynx_target_error_explain(LYNX_EPERM, fb.name, 0, msg,
                                               sizeof(msg)),
                     503);
    snprintf(want, sizeof(want),
             "permission denied on the control block of target '%s' (%s: "
             "owner ", fb.name, fb.path);
    assert_has(msg, want);
    assert_has(msg, "mode 0600)");
    snprintf(want, sizeof(want), "; the endpoints run as group '%s': start "
             "the target with LYNXPROF_GROUP=%s", grp, grp);
    assert_has(msg, want);
    fake_block_destroy(&fb);
}

static void test_version(void **state)
{
    fake_block_t fb;
    char msg[LYNX_TARGET_ERROR_MAX];
    char want[160];
    (void)state;

    assert_int_equal(fake_block_create(&fb, fake_name("ver"), getpid()), 0);
    fb.header->version = LYNX_BLOCK_VERSION + 6;
    assert_int_equal(lynx_target_error_explain(LYNX_EVERSION, fb.name, 0,
                                               msg, sizeof(msg)),
                     503);
    snprintf(want, sizeof(want), "its control block has layout version %u "
             "and these endpoints read version %u (the agent is newer",
             LYNX_BLOCK_VERSION + 6, LYNX_BLOCK_VERSION);
    assert_has(msg, want);
    assert_has(msg, "LD_PRELOAD=");
    /* A block whose magic is not ours: no version is quoted. */
    fb.header->magic = 0;
    lynx_target_error_explain(LYNX_EVERSION, fb.name, 0, msg, sizeof(msg));
    assert_null(strstr(msg, "layout version"));
    assert_has(msg, "incompatible agent");
    fake_block_destroy(&fb);
}

static void test_unknown_and_none(void **state)
{
    char msg[LYNX_TARGET_ERROR_MAX];
    const char *name = fake_name("nobody-here");
    (void)state;

    assert_int_equal(lynx_target_error_explain(LYNX_ENOTARGET, name, 1, msg,
                                               sizeof(msg)),
                     404);
    assert_has(msg, "unknown target '");
    assert_has(msg, "' (LYNXPROF_TARGET)");
    /* This test process is no target: its own name matches none. */
    assert_null(strstr(msg, "runs without a lynxprof agent"));
    assert_int_equal(lynx_target_error_explain(LYNX_ENOTARGET, NULL, 0, msg,
                                               sizeof(msg)),
                     503);
    assert_has(msg, "target not running: ");
}

static void test_dead(void **state)
{
    fake_block_t fb;
    char msg[LYNX_TARGET_ERROR_MAX];
    char want[256];
    pid_t child = fork();
    (void)state;

    if (child == 0) {
        _exit(0);
    }
    assert_true(child > 0);
    assert_int_equal(fake_block_create(&fb, fake_name("dead"), child), 0);
    assert_int_equal(lynx_target_error_explain(LYNX_EDEAD, fb.name, 0, msg,
                                               sizeof(msg)),
                     503);
    snprintf(want, sizeof(want), "target '%s': target process has exited "
             "(pid %d); %s is what it left", fb.name, (int)child, fb.path);
    assert_has(msg, want);
    fake_block_destroy(&fb);
    waitpid(child, NULL, 0);
}

static void test_other_codes_and_small_buffers(void **state)
{
    char msg[LYNX_TARGET_ERROR_MAX];
    char small[16];
    (void)state;

    assert_int_equal(lynx_target_error_explain(-ENOENT, "x", 0, msg,
                                               sizeof(msg)),
                     500);
    assert_string_equal(msg, "target 'x': No such file or directory");
    assert_int_equal(lynx_target_error_explain(LYNX_ETIMEOUT, NULL, 0, msg,
                                               sizeof(msg)),
                     503);
    assert_string_equal(msg, "agent did not answer in time");
    memset(small, 'z', sizeof(small));
    lynx_target_error_explain(LYNX_EPERM, "a-rather-long-target-name", 0,
                              small, sizeof(small));
    assert_int_equal(strlen(small), sizeof(small) - 1);
    assert_int_equal(lynx_target_error_explain(LYNX_EPERM, "x", 0, small, 0),
                     503);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perm),
        cmocka_unit_test(test_version),
        cmocka_unit_test(test_unknown_and_none),
        cmocka_unit_test(test_dead),
        cmocka_unit_test(test_other_codes_and_small_buffers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
