/*
 * client/buf.c - growable byte buffer and growable arrays (see buf.h).
 *
 * Workload: the text answers of the endpoints (a thread dump, Go's debug=1
 * text, folded stacks: kilobytes to a few megabytes, built by many small
 * appends) and the arrays of the profile builder and the session lists
 * (tens to millions of elements, grown one at a time).  Doubling keeps the
 * appends amortized O(1); nothing is ever shrunk.
 */
#include "client/buf.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define BUF_MIN_CAP 64   /* bytes: first allocation of a buffer */
#define ARRAY_MIN_CAP 16 /* elements: first allocation of an array */

void lynx_buf_init(lynx_buf_t *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->err = 0;
}

void lynx_buf_fini(lynx_buf_t *b)
{
    if (b == NULL) {
        return;
    }
    free(b->data);
    lynx_buf_init(b);
}

/* Grow so that `need` bytes fit (need > 0, the NUL included). */
static int buf_grow(lynx_buf_t *b, size_t need)
{
    size_t ncap;
    char *nd;

    if (need <= b->cap) {
        return 0;
    }
    ncap = b->cap > 0 ? b->cap : BUF_MIN_CAP;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2) {
            ncap = need;
            break;
        }
        ncap *= 2;
    }
    nd = realloc(b->data, ncap);
    if (nd == NULL) {
        return -ENOMEM;
    }
    if (b->data == NULL) {
        nd[0] = '\0';
    }
    b->data = nd;
    b->cap = ncap;
    return 0;
}

int lynx_buf_reserve(lynx_buf_t *b, size_t n)
{
    if (b->err != 0) {
        return b->err;
    }
    if (n > SIZE_MAX - 1 - b->len) {
        b->err = -ENOMEM;
        return b->err;
    }
    if (buf_grow(b, b->len + n + 1) != 0) {
        b->err = -ENOMEM;
    }
    return b->err;
}

int lynx_buf_append(lynx_buf_t *b, const void *s, size_t n)
{
    if (lynx_buf_reserve(b, n) != 0) {
        return b->err;
    }
    if (n > 0) {
        memcpy(b->data + b->len, s, n);
    }
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int lynx_buf_puts(lynx_buf_t *b, const char *s)
{
    return lynx_buf_append(b, s, strlen(s));
}

int lynx_buf_vprintf(lynx_buf_t *b, const char *fmt, va_list ap)
{
    va_list again;
    size_t room;
    int n;

    if (b->err != 0) {
        return b->err;
    }
    room = b->cap - b->len; /* 0 before the first growth */
    va_copy(again, ap);
    n = vsnprintf(room > 0 ? b->data + b->len : NULL, room, fmt, ap);
    if (n >= 0 && (size_t)n >= room) {
        /* Did not fit: grow to the exact need and format again. */
        if (lynx_buf_reserve(b, (size_t)n) != 0) {
            va_end(again);
            if (room > 0) {
                b->data[b->len] = '\0'; /* undo the truncated text */
            }
            return b->err;
        }
        n = vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
    }
    va_end(again);
    if (n < 0) {
        if (room > 0) {
            b->data[b->len] = '\0';
        }
        b->err = -EINVAL;
        return b->err;
    }
    b->len += (size_t)n;
    return 0;
}

int lynx_buf_printf(lynx_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = lynx_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

int lynx_buf_adopt(lynx_buf_t *b, char *data, size_t len)
{
    if (b->data != NULL || b->err != 0 || data == NULL || len == SIZE_MAX) {
        return -EINVAL;
    }
    b->data = data;
    b->len = len;
    b->cap = len + 1;
    return 0;
}

int lynx_buf_steal(lynx_buf_t *b, char **out, size_t *out_len)
{
    int rc;

    rc = b->err;
    if (rc == 0 && b->data == NULL) {
        rc = lynx_buf_reserve(b, 0);
    }
    if (rc != 0) {
        lynx_buf_fini(b);
        return rc;
    }
    *out = b->data;
    *out_len = b->len;
    lynx_buf_init(b);
    return 0;
}

int lynx_array_reserve(void *itemsp, size_t *cap, size_t need, size_t size)
{
    size_t ncap;
    void *items;
    void *np;

    if (need <= *cap) {
        return 0;
    }
    if (size == 0) {
        return -ENOMEM;
    }
    ncap = *cap > 0 ? *cap : ARRAY_MIN_CAP;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2 / size) {
            return -ENOMEM;
        }
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / size) {
        return -ENOMEM;
    }
    /* The caller's pointer may be of any object pointer type: copy it as
     * bytes rather than read it through a void ** (strict aliasing). */
    memcpy(&items, itemsp, sizeof(items));
    np = realloc(items, ncap * size);
    if (np == NULL) {
        return -ENOMEM;
    }
    memcpy(itemsp, &np, sizeof(np));
    *cap = ncap;
    return 0;
}
