/*
 * fcgi/query.h - checking a request's query string against a table of
 * parameters.
 */
#ifndef LYNX_FCGI_QUERY_H
#define LYNX_FCGI_QUERY_H

#include <stddef.h>

#include "fcgi/endpoint.h"

#define LYNX_PARAM_TEXT_MAX 256 /* bytes of one decoded value, NUL included */

/* Parse qs ("a=1&b=x%20y", may be NULL) against spec (NULL-terminated, at
 * most LYNX_MAX_PARAMS entries).  The decoded text is kept in buf
 * (buf_size bytes), which params[i].text points into; params has one entry
 * per spec entry.  Empty pieces ("a=1&&b") are ignored; an unknown or
 * repeated name, a bad %-escape, an encoded NUL, a value that does not fit
 * its kind or bounds are errors.  Defaults fill absent parameters and are
 * checked like given ones.  Returns 0, or -1 with a one-line message in err.
 * Thread-safe; no allocation. */
int lynx_query_parse(const lynx_param_spec_t *spec, const char *qs,
                     char *buf, size_t buf_size, lynx_param_t *params,
                     char *err, size_t err_size);

#endif
