/*
 * test_config.c - configuration from the environment: defaults, every
 * variable accepted and refused, messages that name variable and value.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fcgi/config.h"

#define SEC 1000000000LL

/* A tiny fake environment for the lookup callback. */
static const char *fake_env[16][2];

static const char *lookup(const char *name)
{
    for (int i = 0; i < 16 && fake_env[i][0] != NULL; i++) {
        if (strcmp(fake_env[i][0], name) == 0) {
            return fake_env[i][1];
        }
    }
    return NULL;
}

static void set_env1(const char *k, const char *v)
{
    memset(fake_env, 0, sizeof(fake_env));
    fake_env[0][0] = k;
    fake_env[0][1] = v;
}

static void test_defaults(void **state)
{
    lynx_config_t c;
    char err[256];
    (void)state;
    memset(fake_env, 0, sizeof(fake_env));
    assert_int_equal(lynx_config_load(&c, lookup, err, sizeof(err)), 0);
    assert_int_equal(c.profiling_enabled, 0);
    assert_int_equal(c.server_production, 0);
    assert_int_equal(c.max_profile_duration_ns, 300 * SEC);
    assert_int_equal(c.cleanup_interval_ns, 300 * SEC);
    assert_int_equal(c.retention_ns, 3600 * SEC);
    assert_int_equal(c.agent_timeout_ns, 5 * SEC);
    assert_string_equal(c.default_target, "");
    assert_true(c.spool_dir[0] == '/');
    assert_string_equal(c.debug_dir, "/usr/lib/debug");
    /* The host label: this machine's name. */
    {
        char name[256] = "";
        gethostname(name, sizeof(name));
        assert_string_equal(c.host, name);
    }
}

/* LYNXPROF_HOST: a name of its own, or empty for no host label. */
static void test_host_label(void **state)
{
    lynx_config_t c;
    char err[256];
    (void)state;
    set_env1("LYNXPROF_HOST", "web-3.fra:a_b");
    assert_int_equal(lynx_config_load(&c, lookup, err, sizeof(err)), 0);
    assert_string_equal(c.host, "web-3.fra:a_b");
    set_env1("LYNXPROF_HOST", "");
    assert_int_equal(lynx_config_load(&c, lookup, err, sizeof(err)), 0);
    assert_string_equal(c.host, "");
}

static void test_valid_values(void **state)
{
    lynx_config_t c;
    char err[256];
    (void)state;
    memset(fake_env, 0, sizeof(fake_env));
    const char *env[][2] = {
        {"PROFILING_ENABLED", "True"},    {"SERVER_PRODUCTION", "1"},
        {"MAX_PROFILE_DURATION", "2m30s"}, {"PROFILE_CLEANUP_INTERVAL", "1.5s"},
        {"LYNXPROF_RETENTION", "90m"},    {"LYNXPROF_TIMEOUT", "300ms"},
        {"LYNXPROF_TARGET", "lynx-demo"}, {"LYNXPROF_SPOOL_DIR", "/tmp/x"},
        {"LYNXPROF_DEBUG_DIR", "/srv/debug"},
    };
    memcpy(fake_env, env, sizeof(env));
    assert_int_equal(lynx_config_load(&c, lookup, err, sizeof(err)), 0);
    assert_int_equal(c.profiling_enabled, 1);
    assert_int_equal(c.server_production, 1);
    assert_int_equal(c.max_profile_duration_ns, 150 * SEC);
    assert_int_equal(c.cleanup_interval_ns, 1500000000LL);
    assert_int_equal(c.retention_ns, 5400 * SEC);
    assert_int_equal(c.agent_timeout_ns, 300000000LL);
    assert_string_equal(c.default_target, "lynx-demo");
    assert_string_equal(c.spool_dir, "/tmp/x");
    assert_string_equal(c.debug_dir, "/srv/debug");
}

static void test_invalid_values(void **state)
{
    static const char *bad[][2] = {
        {"PROFILING_ENABLED", "yes"},
        {"PROFILING_ENABLED", ""},
        {"SERVER_PRODUCTION", "TRUE "},
        {"MAX_PROFILE_DURATION", "5"},
        {"MAX_PROFILE_DURATION", "0s"},
        {"MAX_PROFILE_DURATION", "-1m"},
        {"MAX_PROFILE_DURATION", "forever"},
        {"PROFILE_CLEANUP_INTERVAL", "0"},
        {"PROFILE_CLEANUP_INTERVAL", "1x"},
        {"LYNXPROF_RETENTION", "99999999999h"},
        {"LYNXPROF_TIMEOUT", "0ms"},
        {"LYNXPROF_TARGET", "../etc"},
        {"LYNXPROF_SPOOL_DIR", "relative/dir"},
        {"LYNXPROF_DEBUG_DIR", "usr/lib/debug"},
        {"LYNXPROF_HOST", "web 3"},
        {"LYNXPROF_HOST", "web/3"},
        {"LYNXPROF_HOST", "w\"eb"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        lynx_config_t c;
        char err[256];
        set_env1(bad[i][0], bad[i][1]);
        print_message("%s=%s\n", bad[i][0], bad[i][1]);
        assert_int_equal(lynx_config_load(&c, lookup, err, sizeof(err)),
                         -EINVAL);
        /* One line naming the variable and quoting the value. */
        assert_non_null(strstr(err, bad[i][0]));
        {
            char quoted[128];
            snprintf(quoted, sizeof(quoted), "'%s'", bad[i][1]);
            assert_non_null(strstr(err, quoted));
        }
        assert_null(strchr(err, '\n'));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_valid_values),
        cmocka_unit_test(test_invalid_values),
        cmocka_unit_test(test_host_label),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
