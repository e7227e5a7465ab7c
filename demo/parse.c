/*
 * parse.c - Traefik JSON access-log line parsing with json-c (see parse.h).
 */
#include "parse.h"

#include <string.h>

#include <json_object.h>

#include "demo.h"

/* Copies the string member key of obj into dst (size > 0); missing or
   non-string members give "".  Returns 0 if the member exists, else -1. */
static int
copy_string(json_object *obj, const char *key, char *dst, size_t size)
{
    json_object *val;
    const char *s;
    size_t n;

    dst[0] = '\0';
    if (!json_object_object_get_ex(obj, key, &val)) {
        return -1;
    }
    s = json_object_get_string(val);
    if (s == NULL) {
        return -1;
    }
    n = strlen(s);
    if (n >= size) {
        n = size - 1;
    }
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

/* Returns the integer member key of obj, or -1 if it is missing. */
static int64_t
get_int(json_object *obj, const char *key)
{
    json_object *val;

    if (!json_object_object_get_ex(obj, key, &val)) {
        return -1;
    }
    return json_object_get_int64(val);
}

DEMO_NOINLINE int
demo_parse_line(json_tokener *tok, const char *line, size_t len,
                demo_request_t *req)
{
    json_object *obj;
    int64_t status;
    int64_t duration_ns;
    int64_t size_bytes;
    int rc = 0;

    json_tokener_reset(tok);
    obj = json_tokener_parse_ex(tok, line, (int) len);
    if (obj == NULL) {
        return DEMO_PARSE_ESYNTAX;
    }
    if (!json_object_is_type(obj, json_type_object)) {
        rc = DEMO_PARSE_EFIELD;
        goto done;
    }

    if (copy_string(obj, "ServiceName", req->service, sizeof(req->service))
        || copy_string(obj, "RequestPath", req->path, sizeof(req->path))) {
        rc = DEMO_PARSE_EFIELD;
        goto done;
    }
    /* The remaining strings are informational; absent means empty. */
    copy_string(obj, "RouterName", req->router, sizeof(req->router));
    copy_string(obj, "RequestHost", req->host, sizeof(req->host));
    copy_string(obj, "RequestMethod", req->method, sizeof(req->method));
    copy_string(obj, "RequestProtocol", req->protocol, sizeof(req->protocol));
    copy_string(obj, "ClientHost", req->client, sizeof(req->client));
    copy_string(obj, "StartUTC", req->start_utc, sizeof(req->start_utc));
    copy_string(obj, "request_User-Agent", req->user_agent,
                sizeof(req->user_agent));

    status = get_int(obj, "DownstreamStatus");
    duration_ns = get_int(obj, "Duration");
    size_bytes = get_int(obj, "DownstreamContentSize");
    if (status < 100 || status > 599 || duration_ns < 0 || size_bytes < 0) {
        rc = DEMO_PARSE_EFIELD;
        goto done;
    }
    req->status = (int) status;
    req->duration_ns = (uint64_t) duration_ns;
    req->size_bytes = (uint64_t) size_bytes;

done:
    json_object_put(obj);
    return rc;
}
