/*
 * test_buf.c - unit tests of lib/client/buf.c, the growable buffer and
 * arrays of the client library.  The buffer is checked against a naive
 * reference (one large fixed array filled with snprintf) over random
 * operations; the failure paths are driven by a realloc that fails on
 * demand (this program is linked with -Wl,--wrap=realloc) and by sizes
 * that overflow size_t.
 */
#include <errno.h>
#include <locale.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>
#include <cmocka.h>

#include "client/buf.h"

/* ---- a realloc that fails when asked ---- */

void *__real_realloc(void *ptr, size_t size);
void *__wrap_realloc(void *ptr, size_t size);

static int g_fail_after = -1; /* reallocs that succeed before one fails */
static unsigned g_reallocs;   /* calls seen */

void *__wrap_realloc(void *ptr, size_t size)
{
    g_reallocs++;
    if (g_fail_after == 0) {
        return NULL;
    }
    if (g_fail_after > 0) {
        g_fail_after--;
    }
    return __real_realloc(ptr, size);
}

static int reset_realloc(void **state)
{
    (void)state;
    g_fail_after = -1;
    g_reallocs = 0;
    return 0;
}

/* ---- the buffer ---- */

static void test_empty(void **state)
{
    lynx_buf_t b = LYNX_BUF_INIT;
    char *out = NULL;
    size_t len = 99;

    (void)state;
    assert_null(b.data);
    assert_int_equal(lynx_buf_append(&b, NULL, 0), 0);
    assert_int_equal(b.len, 0);
    /* An empty buffer still hands out a string the caller can free. */
    assert_int_equal(lynx_buf_steal(&b, &out, &len), 0);
    assert_non_null(out);
    assert_string_equal(out, "");
    assert_int_equal(len, 0);
    assert_null(b.data);
    free(out);

    lynx_buf_init(&b);
    assert_int_equal(lynx_buf_steal(&b, &out, &len), 0);
    assert_string_equal(out, "");
    free(out);
    lynx_buf_fini(NULL);
    lynx_buf_fini(&b);
}

static void test_append_printf(void **state)
{
    lynx_buf_t b = LYNX_BUF_INIT;
    char big[1000];
    char *out;
    size_t len;

    (void)state;
    assert_int_equal(lynx_buf_puts(&b, "abc"), 0);
    assert_int_equal(lynx_buf_append(&b, "defXX", 3), 0);
    assert_int_equal(lynx_buf_printf(&b, " %d-%s", 42, "x"), 0);
    assert_string_equal(b.data, "abcdef 42-x");
    assert_int_equal(b.len, strlen("abcdef 42-x"));
    /* Larger than any capacity so far: formatted again after growing. */
    memset(big, 'q', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(lynx_buf_printf(&b, "<%s>", big), 0);
    assert_int_equal(b.len, 11 + 2 + 999);
    assert_int_equal(b.data[11], '<');
    assert_int_equal(b.data[11 + 1 + 999], '>');
    assert_int_equal(b.data[b.len], '\0');
    /* Bytes, NULs included, go in as they are. */
    assert_int_equal(lynx_buf_append(&b, "a\0b", 3), 0);
    assert_memory_equal(b.data + b.len - 3, "a\0b", 3);
    assert_int_equal(lynx_buf_steal(&b, &out, &len), 0);
    assert_int_equal(len, 11 + 2 + 999 + 3);
    assert_int_equal(out[len], '\0');
    free(out);
}

/* Random appends against one large array filled the naive way. */
static void test_against_naive(void **state)
{
    static char naive[1 << 20];
    lynx_buf_t b = LYNX_BUF_INIT;
    size_t nlen = 0;
    uint64_t x = 0x2545f4914f6cdd1dULL;
    char piece[600];
    int round;

    (void)state;
    for (round = 0; round < 5000; round++) {
        size_t n;
        int w;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        n = (size_t)(x % sizeof(piece));
        memset(piece, 'a' + (int)(x % 26), n);
        piece[n] = '\0';
        switch (x >> 60 & 3) {
        case 0:
            assert_int_equal(lynx_buf_append(&b, piece, n), 0);
            memcpy(naive + nlen, piece, n);
            nlen += n;
            break;
        case 1:
            assert_int_equal(lynx_buf_puts(&b, piece + n / 2), 0);
            memcpy(naive + nlen, piece + n / 2, n - n / 2);
            nlen += n - n / 2;
            break;
        case 2:
            assert_int_equal(lynx_buf_printf(&b, "%zu:%s;", n, piece), 0);
            w = snprintf(naive + nlen, sizeof(naive) - nlen, "%zu:%s;", n,
                         piece);
            nlen += (size_t)w;
            break;
        default:
            assert_int_equal(lynx_buf_reserve(&b, n), 0);
            assert_true(b.cap > b.len + n);
            break;
        }
        assert_int_equal(b.len, nlen);
        assert_true(b.cap > b.len);
        assert_int_equal(b.data[b.len], '\0');
        if (nlen > sizeof(naive) - 2000) {
            break;
        }
    }
    assert_memory_equal(b.data, naive, nlen);
    lynx_buf_fini(&b);
    assert_null(b.data);
    assert_int_equal(b.len, 0);
}

static void test_reserve_keeps_pointer(void **state)
{
    lynx_buf_t b = LYNX_BUF_INIT;
    const char *before;
    unsigned calls;
    int i;

    (void)state;
    assert_int_equal(lynx_buf_reserve(&b, 10000), 0);
    before = b.data;
    calls = g_reallocs;
    for (i = 0; i < 1000; i++) {
        assert_int_equal(lynx_buf_printf(&b, "%09d", i), 0);
    }
    assert_int_equal(b.len, 9000);
    assert_ptr_equal(b.data, before);
    assert_int_equal(g_reallocs, calls);
    lynx_buf_fini(&b);
}

/* A size that does not fit in size_t is -ENOMEM, with no allocation. */
static void test_overflow(void **state)
{
    lynx_buf_t b = LYNX_BUF_INIT;
    char *out = (char *)"untouched";
    size_t len = 7;
    unsigned calls;

    (void)state;
    assert_int_equal(lynx_buf_puts(&b, "kept"), 0);
    calls = g_reallocs;
    assert_int_equal(lynx_buf_reserve(&b, SIZE_MAX), -ENOMEM);
    assert_int_equal(g_reallocs, calls);
    assert_string_equal(b.data, "kept");
    assert_int_equal(b.len, 4);
    /* Sticky: nothing more goes in, and steal hands the error back. */
    assert_int_equal(lynx_buf_puts(&b, "more"), -ENOMEM);
    assert_int_equal(lynx_buf_printf(&b, "%d", 1), -ENOMEM);
    assert_int_equal(b.len, 4);
    assert_int_equal(lynx_buf_steal(&b, &out, &len), -ENOMEM);
    assert_string_equal(out, "untouched");
    assert_int_equal(len, 7);
    assert_null(b.data);
    assert_int_equal(b.err, 0);

    /* Exactly one byte too many for the NUL. */
    assert_int_equal(lynx_buf_puts(&b, "ab"), 0);
    assert_int_equal(lynx_buf_append(&b, "x", SIZE_MAX - 2), -ENOMEM);
    assert_string_equal(b.data, "ab");
    lynx_buf_fini(&b);
    /* fini clears the error: the buffer is usable again. */
    assert_int_equal(lynx_buf_puts(&b, "again"), 0);
    lynx_buf_fini(&b);
}

static void test_enomem(void **state)
{
    lynx_buf_t b = LYNX_BUF_INIT;
    char big[300];
    char *out = NULL;
    size_t len = 0;

    (void)state;
    /* The first allocation fails. */
    g_fail_after = 0;
    assert_int_equal(lynx_buf_puts(&b, "x"), -ENOMEM);
    assert_null(b.data);
    assert_int_equal(lynx_buf_steal(&b, &out, &len), -ENOMEM);
    assert_null(out);

    /* A growth fails: the contents stay, truncated printf text is undone. */
    g_fail_after = -1;
    assert_int_equal(lynx_buf_puts(&b, "abc"), 0);
    memset(big, 'z', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    g_fail_after = 0;
    assert_int_equal(lynx_buf_printf(&b, "%s", big), -ENOMEM);
    assert_string_equal(b.data, "abc");
    assert_int_equal(b.len, 3);
    g_fail_after = -1;
    assert_int_equal(lynx_buf_puts(&b, "def"), -ENOMEM); /* sticky */
    assert_int_equal(lynx_buf_steal(&b, &out, &len), -ENOMEM);
    assert_null(out);

    /* Steal of an empty buffer needs one allocation, which may fail. */
    g_fail_after = 0;
    assert_int_equal(lynx_buf_steal(&b, &out, &len), -ENOMEM);
    assert_null(out);
    g_fail_after = -1;
}

static void test_format_error(void **state)
{
    lynx_buf_t b = LYNX_BUF_INIT;
    static const wchar_t bad[] = {0xd800, 0};

    (void)state;
    setlocale(LC_ALL, "C");
    assert_int_equal(lynx_buf_puts(&b, "ok"), 0);
    /* A lone surrogate cannot be converted: vsnprintf fails. */
    assert_int_equal(lynx_buf_printf(&b, "%ls", bad), -EINVAL);
    assert_string_equal(b.data, "ok");
    assert_int_equal(b.len, 2);
    assert_int_equal(lynx_buf_puts(&b, "x"), -EINVAL);
    lynx_buf_fini(&b);
}

static void test_adopt(void **state)
{
    lynx_buf_t b = LYNX_BUF_INIT;
    char *s = strdup("head");
    char *out;
    size_t len;

    (void)state;
    assert_non_null(s);
    assert_int_equal(lynx_buf_adopt(&b, s, 4), 0);
    assert_int_equal(lynx_buf_printf(&b, "+%s", "tail"), 0);
    /* Only an empty buffer adopts. */
    assert_int_equal(lynx_buf_adopt(&b, (char *)"no", 2), -EINVAL);
    assert_int_equal(lynx_buf_adopt(&b, NULL, 0), -EINVAL);
    assert_int_equal(lynx_buf_steal(&b, &out, &len), 0);
    assert_string_equal(out, "head+tail");
    assert_int_equal(len, 9);
    free(out);
}

/* ---- arrays ---- */

typedef struct item {
    uint64_t a;
    char name[24];
} item_t;

static void test_array_grow(void **state)
{
    item_t *items = NULL;
    size_t cap = 0;
    size_t n;
    unsigned calls;

    (void)state;
    assert_int_equal(LYNX_ARRAY_RESERVE(items, cap, 0), 0);
    assert_null(items);
    for (n = 0; n < 1000; n++) {
        assert_int_equal(LYNX_ARRAY_RESERVE(items, cap, n + 1), 0);
        assert_true(cap >= n + 1);
        items[n].a = n * 3;
        snprintf(items[n].name, sizeof(items[n].name), "item %zu", n);
    }
    assert_int_equal(cap, 1024); /* 16, doubled */
    for (n = 0; n < 1000; n++) {
        char want[24];

        snprintf(want, sizeof(want), "item %zu", n);
        assert_int_equal(items[n].a, n * 3);
        assert_string_equal(items[n].name, want);
    }
    /* Enough room already: no call at all. */
    calls = g_reallocs;
    assert_int_equal(LYNX_ARRAY_RESERVE(items, cap, 1024), 0);
    assert_int_equal(g_reallocs, calls);
    /* A jump past several doublings at once. */
    assert_int_equal(LYNX_ARRAY_RESERVE(items, cap, 5000), 0);
    assert_int_equal(cap, 8192);
    assert_int_equal(items[999].a, 999 * 3);
    free(items);
}

static void test_array_overflow(void **state)
{
    item_t *items = NULL;
    uint64_t *words = NULL;
    size_t cap = 0;
    size_t wcap = 0;
    unsigned calls;

    (void)state;
    assert_int_equal(LYNX_ARRAY_RESERVE(items, cap, 4), 0);
    items[0].a = 7;
    calls = g_reallocs;
    /* need * size does not fit in size_t. */
    assert_int_equal(LYNX_ARRAY_RESERVE(items, cap, SIZE_MAX / 8), -ENOMEM);
    assert_int_equal(LYNX_ARRAY_RESERVE(items, cap, SIZE_MAX), -ENOMEM);
    assert_int_equal(g_reallocs, calls);
    assert_int_equal(cap, 16);
    assert_int_equal(items[0].a, 7);
    /* The first count whose size in bytes does not fit. */
    assert_int_equal(LYNX_ARRAY_RESERVE(words, wcap, SIZE_MAX / 8 + 1),
                     -ENOMEM);
    assert_null(words);
    assert_int_equal(wcap, 0);
    /* An element size of 0 is a caller's bug, refused. */
    assert_int_equal(lynx_array_reserve(&words, &wcap, 1, 0), -ENOMEM);
    assert_null(words);
    free(items);
}

static void test_array_enomem(void **state)
{
    item_t *items = NULL;
    item_t *before;
    size_t cap = 0;

    (void)state;
    g_fail_after = 0;
    assert_int_equal(LYNX_ARRAY_RESERVE(items, cap, 1), -ENOMEM);
    assert_null(items);
    assert_int_equal(cap, 0);
    g_fail_after = -1;
    assert_int_equal(LYNX_ARRAY_RESERVE(items, cap, 16), 0);
    items[15].a = 15;
    before = items;
    g_fail_after = 0;
    assert_int_equal(LYNX_ARRAY_RESERVE(items, cap, 17), -ENOMEM);
    assert_ptr_equal(items, before);
    assert_int_equal(cap, 16);
    assert_int_equal(items[15].a, 15);
    g_fail_after = -1;
    free(items);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_empty, reset_realloc),
        cmocka_unit_test_setup(test_append_printf, reset_realloc),
        cmocka_unit_test_setup(test_against_naive, reset_realloc),
        cmocka_unit_test_setup(test_reserve_keeps_pointer, reset_realloc),
        cmocka_unit_test_setup(test_overflow, reset_realloc),
        cmocka_unit_test_setup(test_enomem, reset_realloc),
        cmocka_unit_test_setup(test_format_error, reset_realloc),
        cmocka_unit_test_setup(test_adopt, reset_realloc),
        cmocka_unit_test_setup(test_array_grow, reset_realloc),
        cmocka_unit_test_setup(test_array_overflow, reset_realloc),
        cmocka_unit_test_setup(test_array_enomem, reset_realloc),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
