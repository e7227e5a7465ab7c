/*
 * test_endpoint.c - the pure parts of the request plumbing: query parsing
 * against a parameter table, status codes, time format, JSON documents.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>

#include "fcgi/endpoint.h"
#include "fcgi/query.h"
#include "fcgi/report.h"

#define SEC 1000000000LL

static const lynx_param_spec_t spec[] = {
    {"target", LYNX_PARAM_NAME, NULL, 0, 0},
    {"duration", LYNX_PARAM_DURATION, "30s", 1, 300 * SEC},
    {"hz", LYNX_PARAM_INT, "100", 1, 1000},
    {"gc", LYNX_PARAM_BOOL, NULL, 0, 0},
    {"note", LYNX_PARAM_STRING, NULL, 0, 0},
    {"tagfocus", LYNX_PARAM_LABEL, "", 0, 0},
    {NULL, 0, NULL, 0, 0},
};

static int parse(const char *qs, lynx_param_t *p, char *err)
{
    static char buf[1024];
    return lynx_query_parse(spec, qs, buf, sizeof(buf), p, err, 256);
}

static void test_query_ok(void **state)
{
    lynx_param_t p[LYNX_MAX_PARAMS];
    char err[256];
    (void)state;

    assert_int_equal(parse(NULL, p, err), 0);
    assert_false(p[0].present);
    assert_true(p[1].present);
    assert_int_equal(p[1].i, 30 * SEC);
    assert_int_equal(p[2].i, 100);

    assert_int_equal(parse("target=lynx-demo&duration=1m30s&hz=250&gc=true"
                           "&note=a%20b+c%2Fd&&",
                           p, err),
                     0);
    assert_string_equal(p[0].text, "lynx-demo");
    assert_int_equal(p[1].i, 90 * SEC);
    assert_int_equal(p[2].i, 250);
    assert_int_equal(p[3].i, 1);
    assert_string_equal(p[4].text, "a b c/d");
    assert_int_equal(parse("note", p, err), 0);
    assert_string_equal(p[4].text, "");
    assert_string_equal(p[5].text, ""); /* no filter */
    assert_int_equal(parse("tagfocus=thread%3Dalpha", p, err), 0);
    assert_string_equal(p[5].text, "thread=alpha");
    assert_int_equal(parse("tagfocus=k%3D", p, err), 0); /* empty value */
}

static void test_query_errors(void **state)
{
    static const struct {
        const char *qs;
        const char *msg;
    } cases[] = {
        {"bogus=1", "unknown parameter 'bogus'"},
        {"hz=1&hz=2", "given twice"},
        {"note=%zz", "malformed query"},
        {"note=%4", "malformed query"},
        {"note=%", "malformed query"},
        {"note=a%00b", "malformed query"},
        {"target=../../etc/passwd", "invalid target"},
        {"target=.x", "invalid target"},
        {"target=a%2Fb", "invalid target"},
        {"duration=30", "Invalid duration"},
        {"duration=-5s", "out of range"},
        {"duration=0s", "out of range"},
        {"duration=6m", "out of range [1ns, 5m0s]"},
        {"duration=99999999999999h", "Invalid duration"},
        {"duration=abc", "Invalid duration"},
        {"hz=0", "out of range [1, 1000]"},
        {"hz=1001", "out of range"},
        {"hz=10x", "not an integer"},
        {"hz=", "not an integer"},
        {"gc=maybe", "use true or false"},
        {"tagfocus=alpha", "invalid tagfocus 'alpha': use key=value"},
        {"tagfocus=%3Dx", "invalid tagfocus '=x'"},
    };
    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        lynx_param_t p[LYNX_MAX_PARAMS];
        char err[256] = "";
        print_message("%s\n", cases[i].qs);
        assert_int_equal(parse(cases[i].qs, p, err), -1);
        assert_non_null(strstr(err, cases[i].msg));
    }
    {
        char longq[2048];
        lynx_param_t p[LYNX_MAX_PARAMS];
        char err[256];
        memset(longq, 'a', sizeof(longq) - 1);
        longq[sizeof(longq) - 1] = '\0';
        assert_int_equal(parse(longq, p, err), -1);
        assert_non_null(strstr(err, "too long"));
    }
}

static void test_status_codes(void **state)
{
    (void)state;
    assert_int_equal(lynx_code_status(LYNX_ENOTARGET), 503);
    assert_int_equal(lynx_code_status(LYNX_EDEAD), 503);
    assert_int_equal(lynx_code_status(LYNX_ESTALE), 503);
    assert_int_equal(lynx_code_status(LYNX_ETIMEOUT), 503);
    assert_int_equal(lynx_code_status(LYNX_EBADNAME), 400);
    assert_int_equal(lynx_code_status(LYNX_EAMBIGUOUS), 400);
    assert_int_equal(lynx_code_status(LYNX_ECONFLICT), 409);
    assert_int_equal(lynx_code_status(LYNX_ENOSESSION), 404);
    assert_int_equal(lynx_code_status(-ENOMEM), 500);
    assert_int_equal(lynx_code_status(LYNX_ECPUONLY), 501);
    assert_string_equal(lynx_err_name(LYNX_ECPUONLY), "CPUONLY");
    assert_string_equal(lynx_strerror(LYNX_ENOTARGET), "target not running");
    assert_string_equal(lynx_err_name(LYNX_ESTALE), "STALE");
    assert_string_equal(lynx_strerror(-ENOENT), "No such file or directory");
}

static void test_rfc3339(void **state)
{
    char buf[48];
    (void)state;
    lynx_format_rfc3339(1704110400LL * SEC, buf, sizeof(buf));
    assert_string_equal(buf, "2024-01-01T12:00:00Z");
    lynx_format_rfc3339(1704110400LL * SEC + 500000000, buf, sizeof(buf));
    assert_string_equal(buf, "2024-01-01T12:00:00.5Z");
    lynx_format_rfc3339(1704110400LL * SEC + 123456789, buf, sizeof(buf));
    assert_string_equal(buf, "2024-01-01T12:00:00.123456789Z");
    lynx_format_rfc3339(0, buf, sizeof(buf));
    assert_string_equal(buf, "1970-01-01T00:00:00Z");
}

static void test_cross_origin(void **state)
{
    char why[256];
    (void)state;

    /* Not a browser, or the server's own page, or the user's navigation. */
    assert_int_equal(lynx_cross_origin(NULL, NULL, "http", "h:8080", why,
                                       sizeof(why)), 0);
    assert_int_equal(lynx_cross_origin("same-origin", "http://h:8080", "http",
                                       "h:8080", why, sizeof(why)), 0);
    assert_int_equal(lynx_cross_origin("none", NULL, "https", "h", why,
                                       sizeof(why)), 0);
    assert_int_equal(lynx_cross_origin(NULL, "HTTPS://H", "https", "h", why,
                                       sizeof(why)), 0);
    /* Another site, the same site on another port, another scheme. */
    assert_int_equal(lynx_cross_origin("cross-site", NULL, "http", "h", why,
                                       sizeof(why)), 1);
    assert_string_equal(why,
                        "cross-origin request refused (Sec-Fetch-Site: "
                        "cross-site)");
    assert_int_equal(lynx_cross_origin("same-site", "http://h:9090", "http",
                                       "h:8080", why, sizeof(why)), 1);
    assert_int_equal(lynx_cross_origin(NULL, "http://h:9090", "http",
                                       "h:8080", why, sizeof(why)), 1);
    assert_string_equal(why,
                        "cross-origin request refused (Origin: http://h:9090)");
    assert_int_equal(lynx_cross_origin(NULL, "http://h", "https", "h", why,
                                       sizeof(why)), 1);
    assert_int_equal(lynx_cross_origin(NULL, "https://h", NULL, "h", why,
                                       sizeof(why)), 1);
    assert_int_equal(lynx_cross_origin(NULL, "http://h.evil", "http", "h",
                                       why, sizeof(why)), 1);
    assert_int_equal(lynx_cross_origin(NULL, "null", "http", "h", why,
                                       sizeof(why)), 1);
    assert_int_equal(lynx_cross_origin(NULL, "http://h", "http", NULL, why,
                                       sizeof(why)), 1);
    assert_int_equal(lynx_cross_origin("", NULL, "http", "h", why,
                                       sizeof(why)), 1);
}

static void test_memstats_json(void **state)
{
    lynx_memstats_t ms;
    json_object *o;
    json_object *v;
    (void)state;
    memset(&ms, 0, sizeof(ms));
    ms.pid = 42;
    ms.resident_bytes = 4096;
    ms.swap_bytes = -1; /* not available -> null */
    ms.threads = 3;
    ms.sampled_unix_ns = 1704110400LL * SEC;
    ms.uptime_ns = 2500000000LL;
    o = lynx_memstats_json(&ms, "demo", 1704110000LL * SEC);
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "process", &v));
    assert_int_equal(
        json_object_get_int64(json_object_object_get(v, "resident_bytes")),
        4096);
    assert_true(json_object_object_get_ex(v, "swap_bytes", NULL));
    assert_null(json_object_object_get(v, "swap_bytes"));
    assert_int_equal(json_object_get_int(json_object_object_get(v, "threads")),
                     3);
    assert_true(json_object_object_get_ex(o, "target", &v));
    assert_string_equal(
        json_object_get_string(json_object_object_get(v, "name")), "demo");
    assert_string_equal(
        json_object_get_string(json_object_object_get(o, "sampled_at")),
        "2024-01-01T12:00:00Z");
    assert_string_equal(
        json_object_get_string(json_object_object_get(o, "source")),
        "agent");
    /* JSON text has no escaped slashes. */
    assert_null(strstr(lynx_json_text(o), "\\/"));
    json_object_put(o);
    ms.flags = LYNX_MEMSTATS_FROM_SNAPSHOT;
    o = lynx_memstats_json(&ms, "demo", 1704110000LL * SEC);
    assert_non_null(o);
    assert_string_equal(
        json_object_get_string(json_object_object_get(o, "source")),
        "snapshot");
    json_object_put(o);
}

/* The memory endpoint's text: the document of lynx_memstats_json and a
 * newline; kept while its inputs stay the same, made anew when any
 * changes. */
static void expect_text(const lynx_memstats_t *ms, const char *name,
                        int64_t started, const char *text, size_t len)
{
    json_object *o = lynx_memstats_json(ms, name, started);
    const char *want;

    assert_non_null(o);
    want = lynx_json_text(o);
    assert_int_equal(len, strlen(want) + 1);
    assert_memory_equal(text, want, len - 1);
    assert_int_equal(text[len - 1], '\n');
    json_object_put(o);
}

static void test_memstats_text(void **state)
{
    lynx_memstats_t ms;
    const char *a;
    const char *b;
    size_t len;

    (void)state;
    memset(&ms, 0, sizeof(ms));
    ms.pid = 42;
    ms.resident_bytes = 4096;
    ms.sampled_unix_ns = 1704110400LL * SEC;
    ms.flags = LYNX_MEMSTATS_FROM_SNAPSHOT;
    a = lynx_memstats_text(&ms, "demo", 1704110000LL * SEC, &len);
    assert_non_null(a);
    expect_text(&ms, "demo", 1704110000LL * SEC, a, len);
    b = lynx_memstats_text(&ms, "demo", 1704110000LL * SEC, &len);
    assert_ptr_equal(a, b); /* the same snapshot: the same text, kept */
    ms.sampled_unix_ns += SEC;
    b = lynx_memstats_text(&ms, "demo", 1704110000LL * SEC, &len);
    assert_non_null(b);
    expect_text(&ms, "demo", 1704110000LL * SEC, b, len);
    assert_non_null(strstr(b, "2024-01-01T12:00:01Z"));
    b = lynx_memstats_text(&ms, "other", 1704110000LL * SEC, &len);
    assert_non_null(strstr(b, "\"other\""));
    expect_text(&ms, "other", 1704110000LL * SEC, b, len);
    b = lynx_memstats_text(&ms, "other", 1704110001LL * SEC, &len);
    expect_text(&ms, "other", 1704110001LL * SEC, b, len);
    ms.flags = 0;
    b = lynx_memstats_text(&ms, "other", 1704110001LL * SEC, &len);
    assert_non_null(strstr(b, "\"source\":\"agent\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_query_ok),
        cmocka_unit_test(test_query_errors),
        cmocka_unit_test(test_status_codes),
        cmocka_unit_test(test_rfc3339),
        cmocka_unit_test(test_cross_origin),
        cmocka_unit_test(test_memstats_json),
        cmocka_unit_test(test_memstats_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
