/*
 * fcgi/duration.c - Go-compatible parsing of durations, booleans and
 * integers for endpoint parameters (formatting of durations, which the
 * spool's records need too, is in client/json_values.c).
 *
 * The endpoints document their parameters in Go's syntax, and the tools
 * that build query strings are often written in Go, so a string must mean
 * here exactly what it means to Go.  lynx_duration_parse() and
 * lynx_duration_format() therefore follow Go's time/format.go
 * (ParseDuration, leadingInt, leadingFraction) and time/time.go
 * (Duration.String, fmtFrac, fmtInt) step by step, including their uint64
 * arithmetic and the float64 computation of fractions, whose rounding Go's
 * results depend on.  tests/unit/test_duration.c checks them against
 * tables printed by Go itself.
 *
 * Inputs are a few dozen bytes; everything is one pass over the string,
 * on the stack, with no allocation and no mutable state.
 */
#include "fcgi/duration.h"

#include <errno.h>
#include <float.h>
#include <string.h>

/*
 * Go computes fractions in IEEE double precision with round-to-nearest.
 * Excess precision (x87 without SSE2) would change some results, so refuse
 * to build there rather than disagree with Go silently.  The rounding mode
 * is assumed to be the default one, as the rest of the process assumes.
 */
#if !defined(FLT_EVAL_METHOD) || FLT_EVAL_METHOD != 0
#error "fcgi/duration.c needs FLT_EVAL_METHOD == 0 (e.g. -mfpmath=sse)"
#endif

#define LYNX_U63 ((uint64_t)1 << 63) /* |INT64_MIN|, Go's 1<<63 */

typedef struct lynx_duration_unit {
    const char *name; /* UTF-8, as in Go's unitMap */
    size_t name_bytes;
    uint64_t ns; /* nanoseconds in one unit */
} lynx_duration_unit_t;

/* clang-format off */
static const lynx_duration_unit_t lynx_duration_units[] = {
    {"ns", 2, 1},
    {"us", 2, 1000},
    {"\xc2\xb5s", 3, 1000}, /* U+00B5 micro sign */
    {"\xce\xbcs", 3, 1000}, /* U+03BC Greek small letter mu */
    {"ms", 2, 1000000},
    {"s", 1, 1000000000},
    {"m", 1, 60000000000},
    {"h", 1, 3600000000000},
};
/* clang-format on */

static int lynx_is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Nanoseconds per unit named by the len bytes at p, or 0 if none. */
static uint64_t lynx_duration_unit_ns(const char *p, size_t len)
{
    size_t i;

    for (i = 0;
         i < sizeof(lynx_duration_units) / sizeof(lynx_duration_units[0]);
         i++) {
        if (lynx_duration_units[i].name_bytes == len &&
            memcmp(lynx_duration_units[i].name, p, len) == 0) {
            return lynx_duration_units[i].ns;
        }
    }
    return 0;
}

int lynx_duration_parse(const char *s, int64_t *out_ns)
{
    const char *p = s;
    uint64_t d = 0;
    int neg = 0;
    int overflow = 0;

    if (s == NULL) {
        return -EINVAL;
    }
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    if (p[0] == '0' && p[1] == '\0') {
        *out_ns = 0;
        return 0;
    }
    if (*p == '\0') {
        return -EINVAL;
    }

    /*
     * Go stops at the first error; here an overflow only stops the
     * arithmetic, so that the rest of the string is still checked and bad
     * syntax anywhere wins over overflow (-EINVAL rather than -ERANGE).
     */
    while (*p != '\0') {
        uint64_t v = 0;     /* integer part */
        uint64_t f = 0;     /* fraction digits kept, value f / scale */
        double scale = 1.0; /* 10^(fraction digits kept) */
        int v_overflow = 0;
        int f_full = 0;
        int pre;
        int post = 0;
        const char *start;
        uint64_t unit;

        if (!(*p == '.' || lynx_is_digit(*p))) {
            return -EINVAL;
        }

        /* leadingInt */
        for (start = p; lynx_is_digit(*p); p++) {
            if (v_overflow) {
                continue;
            }
            if (v > LYNX_U63 / 10) {
                v_overflow = 1;
                continue;
            }
            v = v * 10 + (uint64_t)(*p - '0');
            if (v > LYNX_U63) {
                v_overflow = 1;
            }
        }
        pre = p != start;

        /* leadingFraction: digits that no longer fit only lose precision */
        if (*p == '.') {
            p++;
            for (start = p; lynx_is_digit(*p); p++) {
                uint64_t y;

                if (f_full) {
                    continue;
                }
                if (f > (LYNX_U63 - 1) / 10) {
                    f_full = 1;
                    continue;
                }
                y = f * 10 + (uint64_t)(*p - '0');
                if (y > LYNX_U63) {
                    f_full = 1;
                    continue;
                }
                f = y;
                scale *= 10;
            }
            post = p != start;
        }
        if (!pre && !post) {
            return -EINVAL; /* ".s", "-.s" */
        }

        /* The unit is everything up to the next number. */
        for (start = p; *p != '\0' && *p != '.' && !lynx_is_digit(*p); p++) {
        }
        if (p == start) {
            return -EINVAL; /* missing unit */
        }
        unit = lynx_duration_unit_ns(start, (size_t)(p - start));
        if (unit == 0) {
            return -EINVAL; /* unknown unit */
        }

        if (overflow) {
            continue;
        }
        if (v_overflow || v > LYNX_U63 / unit) {
            overflow = 1;
            continue;
        }
        v *= unit;
        if (f > 0) {
            /* Go's float64 arithmetic, for Go's truncation of fractions. */
            v += (uint64_t)((double)f * ((double)unit / scale));
            if (v > LYNX_U63) {
                overflow = 1;
                continue;
            }
        }
        /* Wraps to 0 when d == v == 2^63, as Go's does. */
        d += v;
        if (d > LYNX_U63) {
            overflow = 1;
        }
    }

    if (overflow) {
        return -ERANGE;
    }
    if (neg) {
        /* d <= 2^63: -d fits, and 2^63 itself becomes INT64_MIN. */
        *out_ns = d == LYNX_U63 ? INT64_MIN : -(int64_t)d;
        return 0;
    }
    if (d > (uint64_t)INT64_MAX) {
        return -ERANGE;
    }
    *out_ns = (int64_t)d;
    return 0;
}

int lynx_bool_parse(const char *s, int *out)
{
    static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
    static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};
    size_t i;

    if (s == NULL) {
        return -EINVAL;
    }
    for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -EINVAL;
}

int lynx_int_parse(const char *s, int64_t min, int64_t max, int64_t *out)
{
    const char *p = s;
    uint64_t mag = 0; /* magnitude; 2^63 + 1 once beyond 2^63 */
    int neg = 0;
    int64_t v;

    if (s == NULL) {
        return -EINVAL;
    }
    if (*p == '-' || *p == '+') {
        neg = *p == '-';
        p++;
    }
    if (!lynx_is_digit(*p)) {
        return -EINVAL;
    }
    for (; lynx_is_digit(*p); p++) {
        if (mag > LYNX_U63 / 10) {
            mag = LYNX_U63 + 1; /* any further digit keeps it too big */
        } else {
            mag = mag * 10 + (uint64_t)(*p - '0');
        }
    }
    if (*p != '\0') {
        return -EINVAL;
    }
    if (neg) {
        if (mag > LYNX_U63) {
            return -ERANGE;
        }
        v = mag == LYNX_U63 ? INT64_MIN : -(int64_t)mag;
    } else {
        if (mag > (uint64_t)INT64_MAX) {
            return -ERANGE;
        }
        v = (int64_t)mag;
    }
    if (v < min || v > max) {
        return -ERANGE;
    }
    *out = v;
    return 0;
}
