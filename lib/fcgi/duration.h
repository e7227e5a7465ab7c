/*
 * fcgi/duration.h - parse and format the scalar parameters that the FastCGI
 * endpoints take, in Go's syntax: durations as Go's time.ParseDuration and
 * time.Duration.String(), booleans as strconv.ParseBool, integers in plain
 * decimal.
 *
 * Inputs are short, untrusted query or configuration strings.  Every
 * function here is pure: no allocation, no global state, no locale, no
 * errno, so all are thread-safe.  They are not meant for signal handlers.
 * Errors are -EINVAL and -ERANGE; lynx_strerror() (lynx_error.h) names
 * them.
 */
#ifndef LYNX_FCGI_DURATION_H
#define LYNX_FCGI_DURATION_H

#include <stddef.h>
#include <stdint.h>

#include "client/json_values.h" /* lynx_duration_format() */

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Parse the NUL-terminated string s in Go's time.ParseDuration syntax: an
 * optional sign, then one or more decimal numbers, each with an optional
 * fraction and a unit among "ns", "us", "µs" (U+00B5), "μs" (U+03BC), "ms",
 * "s", "m", "h" ("1h2m3.5s", "-1m30s", ".5s", "1.s").  "0" alone, with or
 * without a sign, is valid; "" and a number without a unit are not.  No
 * spaces are allowed anywhere and units are case-sensitive.
 *
 * The result equals Go's (checked against Go 1.19) for every input.  That
 * includes fractions, which Go computes in float64 and then truncates:
 * "1.0000000001s" is 1s, yet "0.99999999999999999999ns" is 1ns and
 * "0.3333333333333333333h" is 20m.  It also includes one quirk kept on
 * purpose: a sum that reaches exactly 2^64 nanoseconds wraps to 0 as in Go
 * ("9223372036854775808ns9223372036854775808ns" is 0).
 *
 * Returns 0 and stores the value in nanoseconds in *out_ns; -EINVAL if s is
 * NULL or not in that syntax; -ERANGE if s is in that syntax but its value
 * does not fit in int64 nanoseconds ("-2562047h47m16.854775808s" fits,
 * "2562047h47m16.854775808s" does not).  Syntax is judged on the whole
 * string first, so "99999999999999999999x" is -EINVAL.  On error *out_ns is
 * left untouched.  out_ns must not be NULL; nothing is retained.
 * Thread-safe.
 */
int lynx_duration_parse(const char *s, int64_t *out_ns);

/*
 * Parse the NUL-terminated string s as Go's strconv.ParseBool: "1", "t",
 * "T", "TRUE", "true", "True" are true and "0", "f", "F", "FALSE", "false",
 * "False" are false; nothing else, no spaces.  Returns 0 and stores 1 or 0
 * in *out, or -EINVAL (s NULL or any other string) leaving *out untouched.
 * out must not be NULL.  Thread-safe.
 */
int lynx_bool_parse(const char *s, int *out);

/*
 * Parse the NUL-terminated string s as a decimal integer: an optional "+"
 * or "-", then one or more digits 0-9 (leading zeros allowed), nothing
 * else: no spaces, no "0x", no "_", no trailing characters.  Returns 0 and
 * stores the value in *out; -EINVAL if s is NULL or not in that syntax;
 * -ERANGE if the value is in that syntax but below min or above max
 * (including beyond int64; every value if min > max).  On error *out is
 * left untouched.  out must not be NULL.  Thread-safe.
 */
int lynx_int_parse(const char *s, int64_t min, int64_t max, int64_t *out);

#ifdef __cplusplus
}
#endif

#endif
