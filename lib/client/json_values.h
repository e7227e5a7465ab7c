/*
 * client/json_values.h - the JSON forms of times, durations and decimals
 * that every document of lynxprof uses: the spool's session records and
 * the endpoints' replies alike.  Pure functions: no global state, no
 * locale; thread-safe, not for signal handlers.
 */
#ifndef LYNX_CLIENT_JSON_VALUES_H
#define LYNX_CLIENT_JSON_VALUES_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bytes, NUL included, that always suffice for lynx_duration_format(); the
 * longest output is "-2562047h47m16.854775808s" (25 bytes + NUL). */
#define LYNX_DURATION_FORMAT_SIZE 32

/*
 * Format ns as Go's time.Duration.String() does: "0s", "1.5µs" (U+00B5),
 * "300ms", "30s", "1m0s", "2m30s", "1h2m3.5s", with a leading "-" when
 * negative; INT64_MIN is "-2562047h47m16.854775808s".  lynx_duration_parse()
 * reads every output back to the same value.
 *
 * Like snprintf: writes at most size bytes including the terminating NUL
 * into buf (nothing if size is 0, when buf may be NULL), and returns the
 * length of the full text, NUL not counted; the text was truncated if that
 * is >= size.  Truncation counts bytes and may split the two-byte "µ".
 * A buffer of LYNX_DURATION_FORMAT_SIZE bytes is always enough.
 * The caller owns buf.  Thread-safe.
 */
size_t lynx_duration_format(int64_t ns, char *buf, size_t size);

/* RFC 3339 UTC with nanoseconds trimmed as Go prints time.Time
 * ("2024-01-01T12:00:00Z", "...:00.5Z"); buf >= 40 bytes. */
void lynx_format_rfc3339(int64_t unix_ns, char *buf, size_t size);

/* New json-c strings of lynx_format_rfc3339() and lynx_duration_format();
 * NULL on ENOMEM. */
json_object *lynx_json_time(int64_t unix_ns);
json_object *lynx_json_duration(int64_t ns);

/* A double printed with that many decimals. */
json_object *lynx_json_double(double value, int decimals);

#ifdef __cplusplus
}
#endif

#endif
