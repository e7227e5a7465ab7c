/*
 * client/buf.h - growable byte buffer and growable arrays for the client
 * library: the one way its code grows memory, instead of a realloc loop at
 * each site (what nginx's ngx_array_t and redis's sds are to theirs).
 *
 * Endpoint side only; nothing here is async-signal-safe.  A buffer or an
 * array is not thread-safe: one thread at a time.
 *
 * Growth doubles the capacity, with every size computation checked for
 * overflow: a size that does not fit in size_t is reported as -ENOMEM, as a
 * failed allocation is.  Nothing here aborts or prints.  On failure the
 * buffer or array keeps its contents and capacity.
 */
#ifndef LYNX_CLIENT_BUF_H
#define LYNX_CLIENT_BUF_H

#include <stdarg.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * A string being built.  Zero-initialized (LYNX_BUF_INIT or
 * lynx_buf_init) it is empty and holds no memory.  Once anything has been
 * added, data is NUL-terminated at data[len].
 *
 * Errors are sticky: after the first failure every later call that would
 * add to the buffer does nothing and returns the same error, and
 * lynx_buf_steal() hands it back.  A caller can therefore chain appends and
 * check once at the end.
 */
typedef struct lynx_buf {
    char *data; /* NULL until the first growth; malloc'd, owned by the buf */
    size_t len; /* bytes used, the NUL not counted; len < cap once data set */
    size_t cap; /* bytes allocated at data */
    int err;    /* 0, or the first error (-ENOMEM) */
} lynx_buf_t;

#define LYNX_BUF_INIT {NULL, 0, 0, 0}

/* Make *b empty; it holds no memory.  Cannot fail. */
void lynx_buf_init(lynx_buf_t *b);

/* Free what *b holds and make it empty (error cleared).  Accepts NULL. */
void lynx_buf_fini(lynx_buf_t *b);

/*
 * Make room for `n` more bytes after len (and the NUL), so that the next
 * appends of up to n bytes in all do not allocate.  0, or -ENOMEM (also
 * when len + n + 1 overflows), or the sticky error.
 */
int lynx_buf_reserve(lynx_buf_t *b, size_t n);

/* Append n bytes of s (s may be NULL when n is 0).  0, -ENOMEM, or the
 * sticky error. */
int lynx_buf_append(lynx_buf_t *b, const void *s, size_t n);

/* Append the string s.  As lynx_buf_append. */
int lynx_buf_puts(lynx_buf_t *b, const char *s);

/* Append printf-style text.  0, -ENOMEM, -EINVAL (the format failed, e.g.
 * an invalid wide character), or the sticky error. */
int lynx_buf_printf(lynx_buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int lynx_buf_vprintf(lynx_buf_t *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * Take over `data`, a malloc'd NUL-terminated string of len bytes (so at
 * least len + 1 allocated), to append to it.  *b must be empty (else
 * -EINVAL and nothing changes).  The buffer owns data from then on.
 */
int lynx_buf_adopt(lynx_buf_t *b, char *data, size_t len);

/*
 * Hand the contents to the caller: *out a malloc'd NUL-terminated string
 * (an empty one if nothing was added) the caller frees, *out_len its
 * length without the NUL.  The buffer is left empty either way.  Returns
 * 0; or the sticky error, or -ENOMEM, with *out and *out_len unchanged
 * and the contents freed.
 */
int lynx_buf_steal(lynx_buf_t *b, char **out, size_t *out_len);

/*
 * Growable arrays: `*itemsp` points to `*cap` elements of `size` bytes
 * (NULL and 0 to start).  Make room for `need` elements, doubling from 16;
 * the first *cap elements are kept.  0, or -ENOMEM (also when need * size
 * overflows, or size is 0) with *itemsp and *cap unchanged.  itemsp is the
 * address of the caller's element pointer (any object pointer type): use
 * LYNX_ARRAY_RESERVE, which passes the element size.
 */
int lynx_array_reserve(void *itemsp, size_t *cap, size_t need, size_t size);

#define LYNX_ARRAY_RESERVE(items, cap, need) \
    lynx_array_reserve(&(items), &(cap), (need), sizeof(*(items)))

#ifdef __cplusplus
}
#endif

#endif
