/*
 * fcgi/query.c - parsing a query string against an endpoint's parameter
 * table (see fcgi/query.h).  Pure code: no I/O, no allocation.
 */
#include <stdio.h>
#include <string.h>

#include "client/attach.h"
#include "fcgi/duration.h"
#include "fcgi/query.h"

static int hexval(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decode %XX and '+' in place over [s, s+len); NUL-terminates.  -1 on a
 * malformed escape or a decoded NUL byte. */
static int url_decode(char *s, size_t len)
{
    size_t r = 0;
    size_t w = 0;

    while (r < len) {
        if (s[r] == '%') {
            int hi;
            int lo;
            if (r + 2 >= len) {
                return -1;
            }
            hi = hexval((unsigned char)s[r + 1]);
            lo = hexval((unsigned char)s[r + 2]);
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                return -1;
            }
            s[w++] = (char)(hi * 16 + lo);
            r += 3;
        } else if (s[r] == '+') {
            s[w++] = ' ';
            r++;
        } else {
            s[w++] = s[r++];
        }
    }
    s[w] = '\0';
    return 0;
}

/* Parse one value by its spec into *p; on error writes a message. */
static int parse_value(const lynx_param_spec_t *spec, lynx_param_t *p,
                       char *err, size_t err_size)
{
    const char *t = p->text;
    int b;

    switch (spec->kind) {
    case LYNX_PARAM_STRING:
        return 0;
    case LYNX_PARAM_NAME:
        if (!lynx_name_valid(t)) {
            snprintf(err, err_size,
                     "invalid %s '%s': use 1-63 of A-Z a-z 0-9 . _ - "
                     "(not starting with '.')", spec->name, t);
            return -1;
        }
        return 0;
    case LYNX_PARAM_DURATION:
        if (lynx_duration_parse(t, &p->i) != 0) {
            snprintf(err, err_size,
                     "Invalid duration: %s='%s' (use Go syntax such as "
                     "30s, 1m30s)", spec->name, t);
            return -1;
        }
        break;
    case LYNX_PARAM_INT:
        if (lynx_int_parse(t, INT64_MIN, INT64_MAX, &p->i) != 0) {
            snprintf(err, err_size, "invalid %s '%s': not an integer",
                     spec->name, t);
            return -1;
        }
        break;
    case LYNX_PARAM_BOOL:
        if (lynx_bool_parse(t, &b) != 0) {
            snprintf(err, err_size, "invalid %s '%s': use true or false",
                     spec->name, t);
            return -1;
        }
        p->i = b;
        return 0;
    case LYNX_PARAM_LABEL:
        if (t[0] != '\0' && (t[0] == '=' || strchr(t, '=') == NULL)) {
            snprintf(err, err_size, "invalid %s '%.64s': use key=value",
                     spec->name, t);
            return -1;
        }
        return 0;
    }
    if (spec->min != 0 || spec->max != 0) {
        if (p->i < spec->min || p->i > spec->max) {
            if (spec->kind == LYNX_PARAM_DURATION) {
                char lo[LYNX_DURATION_FORMAT_SIZE];
                char hi[LYNX_DURATION_FORMAT_SIZE];
                lynx_duration_format(spec->min, lo, sizeof(lo));
                lynx_duration_format(spec->max, hi, sizeof(hi));
                snprintf(err, err_size, "%s '%s' out of range [%s, %s]",
                         spec->name, t, lo, hi);
            } else {
                snprintf(err, err_size,
                         "%s %s out of range [%lld, %lld]", spec->name, t,
                         (long long)spec->min, (long long)spec->max);
            }
            return -1;
        }
    }
    return 0;
}

int lynx_query_parse(const lynx_param_spec_t *spec, const char *qs,
                     char *buf, size_t buf_size, lynx_param_t *params,
                     char *err, size_t err_size)
{
    size_t len = qs != NULL ? strlen(qs) : 0;
    size_t nspec = 0;
    char *p;
    char *end;

    while (spec != NULL && spec[nspec].name != NULL) {
        nspec++;
    }
    if (nspec > LYNX_MAX_PARAMS) {
        snprintf(err, err_size, "too many parameters in the table");
        return -1;
    }
    memset(params, 0, nspec * sizeof(*params));
    if (len >= buf_size) {
        snprintf(err, err_size, "query string too long (%zu bytes, at most "
                 "%zu)", len, buf_size - 1);
        return -1;
    }
    memcpy(buf, qs != NULL ? qs : "", len + 1);
    p = buf;
    end = buf + len;
    while (p < end) {
        char *amp = memchr(p, '&', (size_t)(end - p));
        char *eq;
        size_t i;
        if (amp == NULL) {
            amp = end;
        }
        *amp = '\0';
        if (amp == p) { /* "a=1&&b=2": empty pieces are ignored */
            p = amp + 1;
            continue;
        }
        eq = strchr(p, '=');
        if (eq != NULL) {
            *eq = '\0';
        }
        if (url_decode(p, strlen(p)) != 0 ||
            (eq != NULL && url_decode(eq + 1, strlen(eq + 1)) != 0)) {
            snprintf(err, err_size, "malformed query string "
                     "(bad %%-escape)");
            return -1;
        }
        for (i = 0; spec != NULL && spec[i].name != NULL; i++) {
            if (strcmp(spec[i].name, p) == 0) {
                break;
            }
        }
        if (spec == NULL || spec[i].name == NULL) {
            snprintf(err, err_size, "unknown parameter '%.64s'", p);
            return -1;
        }
        if (params[i].present) {
            snprintf(err, err_size, "parameter '%s' given twice", p);
            return -1;
        }
        params[i].present = 1;
        params[i].text = eq != NULL ? eq + 1 : "";
        if (strlen(params[i].text) >= LYNX_PARAM_TEXT_MAX) {
            snprintf(err, err_size, "parameter '%s' too long", p);
            return -1;
        }
        p = amp + 1;
    }
    for (size_t i = 0; spec != NULL && spec[i].name != NULL; i++) {
        if (!params[i].present && spec[i].def != NULL) {
            params[i].present = 1;
            params[i].text = spec[i].def;
        }
        if (params[i].present &&
            parse_value(&spec[i], &params[i], err, err_size) != 0) {
            return -1;
        }
    }
    return 0;
}

