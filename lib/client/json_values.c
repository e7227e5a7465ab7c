/*
 * client/json_values.c - times, durations and decimals as JSON values (see
 * client/json_values.h).  lynx_duration_format() follows Go's time/time.go
 * (Duration.String, fmtFrac, fmtInt) step by step, as fcgi/duration.c does
 * for parsing; tests/unit/test_duration.c checks both against Go.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "client/json_values.h"

/*
 * fmtFrac: writes the last prec digits of v as ".ddd" before buf[w],
 * without trailing zeros (nothing if all are zero); returns the new start
 * and stores v / 10^prec in *v.
 */
static size_t lynx_fmt_frac(char *buf, size_t w, uint64_t *v, int prec)
{
    int print = 0;
    int i;

    for (i = 0; i < prec; i++) {
        char digit = (char)(*v % 10);

        print = print || digit != 0;
        if (print) {
            buf[--w] = (char)('0' + digit);
        }
        *v /= 10;
    }
    if (print) {
        buf[--w] = '.';
    }
    return w;
}

/* fmtInt: writes v in decimal before buf[w]; returns the new start. */
static size_t lynx_fmt_int(char *buf, size_t w, uint64_t v)
{
    do {
        buf[--w] = (char)('0' + v % 10);
        v /= 10;
    } while (v > 0);
    return w;
}

size_t lynx_duration_format(int64_t ns, char *buf, size_t size)
{
    char tmp[LYNX_DURATION_FORMAT_SIZE];
    size_t w = sizeof(tmp);
    /* Unsigned negation gives |INT64_MIN| right. */
    uint64_t u = ns < 0 ? 0 - (uint64_t)ns : (uint64_t)ns;
    size_t len;

    if (u == 0) {
        tmp[--w] = 's';
        tmp[--w] = '0';
    } else if (u < 1000000000) {
        /* Below a second, use the largest unit under it: 1.2ms. */
        int prec;

        tmp[--w] = 's';
        if (u < 1000) {
            prec = 0;
            tmp[--w] = 'n';
        } else if (u < 1000000) {
            prec = 3;
            tmp[--w] = '\xb5'; /* U+00B5 micro sign */
            tmp[--w] = '\xc2';
        } else {
            prec = 6;
            tmp[--w] = 'm';
        }
        w = lynx_fmt_frac(tmp, w, &u, prec);
        w = lynx_fmt_int(tmp, w, u);
    } else {
        tmp[--w] = 's';
        w = lynx_fmt_frac(tmp, w, &u, 9);
        w = lynx_fmt_int(tmp, w, u % 60);
        u /= 60;
        if (u > 0) {
            tmp[--w] = 'm';
            w = lynx_fmt_int(tmp, w, u % 60);
            u /= 60;
            /* Stop at hours: days differ in length. */
            if (u > 0) {
                tmp[--w] = 'h';
                w = lynx_fmt_int(tmp, w, u);
            }
        }
    }
    if (ns < 0) {
        tmp[--w] = '-';
    }

    len = sizeof(tmp) - w;
    if (size > 0) {
        size_t n = len < size - 1 ? len : size - 1;

        memcpy(buf, tmp + w, n);
        buf[n] = '\0';
    }
    return len;
}

void lynx_format_rfc3339(int64_t unix_ns, char *buf, size_t size)
{
    time_t secs = (time_t)(unix_ns / 1000000000LL);
    long nanos = (long)(unix_ns % 1000000000LL);
    struct tm tm;
    char frac[16] = "";
    size_t n;

    if (nanos < 0) {
        nanos += 1000000000L;
        secs -= 1;
    }
    gmtime_r(&secs, &tm);
    if (nanos != 0) {
        /* Go trims trailing zeros of the fraction. */
        snprintf(frac, sizeof(frac), ".%09ld", nanos);
        n = strlen(frac);
        while (n > 1 && frac[n - 1] == '0') {
            frac[--n] = '\0';
        }
    }
    snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d%sZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             frac);
}

json_object *lynx_json_time(int64_t unix_ns)
{
    char buf[48];

    lynx_format_rfc3339(unix_ns, buf, sizeof(buf));
    return json_object_new_string(buf);
}

json_object *lynx_json_duration(int64_t ns)
{
    char buf[LYNX_DURATION_FORMAT_SIZE];

    lynx_duration_format(ns, buf, sizeof(buf));
    return json_object_new_string(buf);
}

json_object *lynx_json_double(double value, int decimals)
{
    char buf[64];

    snprintf(buf, sizeof(buf), "%.*f", decimals, value);
    return json_object_new_double_s(value, buf);
}

