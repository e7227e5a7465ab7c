/*
 * client/sample_labels.c - a sample's thread and request labels, from the
 * agent's untrusted bytes to pprof labels (see client/sample_labels.h).
 *
 * Workload: once per distinct stack of a profile (up to some 100,000), a
 * few dozen bytes each.
 */
#include <stdio.h>
#include <string.h>

#include "client/sample_labels.h"

/* Length of the valid UTF-8 character at s[0..n), 0 if none. */
static size_t utf8_char(const unsigned char *s, size_t n)
{
    size_t len;
    unsigned cp;

    if (s[0] < 0x80) {
        return 1;
    }
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len) {
        return 0;
    }
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* Overlong forms, surrogates and code points past U+10FFFF. */
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff) {
        return 0;
    }
    return len;
}

size_t lynx_label_text(const char *src, size_t src_size, char *dst,
                       size_t dst_size)
{
    const unsigned char *s = (const unsigned char *)src;
    size_t n = strnlen(src, src_size);
    size_t o = 0;
    size_t i = 0;

    if (dst_size == 0) {
        return 0;
    }
    while (i < n) {
        size_t c = utf8_char(s + i, n - i);
        if (c == 0 || s[i] < 0x20 || s[i] == 0x7f) {
            if (o + 4 >= dst_size) {
                break;
            }
            snprintf(dst + o, 5, "\\x%02x", s[i]);
            o += 4;
            i++;
            continue;
        }
        if (o + c >= dst_size) {
            break;
        }
        memcpy(dst + o, s + i, c);
        o += c;
        i += c;
    }
    dst[o] = '\0';
    return o;
}

static int reserved(const char *key)
{
    return strcmp(key, "thread") == 0 || strcmp(key, "tid") == 0;
}

size_t lynx_sample_labels_decode(const lynx_sample_labels_t *in,
                                 lynx_sample_label_buf_t *out)
{
    /* in is a private copy (the table's or a spool file's), still
     * untrusted: every count and string is bounded here. */
    uint32_t nlabels = in->nlabels;
    int32_t tid = in->tid;
    size_t n = 0;

    if (nlabels > LYNX_LABEL_DEPTH) {
        nlabels = LYNX_LABEL_DEPTH;
    }
    if (lynx_label_text(in->thread, sizeof(in->thread), out->thread,
                        sizeof(out->thread)) > 0) {
        out->labels[n++] = (lynx_label_t){"thread", out->thread, 0, NULL};
    }
    if (tid > 0) {
        out->labels[n++] = (lynx_label_t){"tid", NULL, tid, NULL};
    }
    /* Innermost first, so that a repeated key keeps its innermost value. */
    for (uint32_t k = nlabels; k-- > 0;) {
        const lynx_label_rec_t *r = &in->labels[k];
        char *key = out->keys[k];
        int seen = 0;

        if (lynx_label_text(r->key, sizeof(r->key), key,
                            sizeof(out->keys[k])) == 0 ||
            reserved(key)) {
            continue;
        }
        for (size_t j = 0; j < n; j++) {
            seen |= strcmp(out->labels[j].key, key) == 0;
        }
        if (seen) {
            continue;
        }
        lynx_label_text(r->value, sizeof(r->value), out->values[k],
                        sizeof(out->values[k]));
        out->labels[n++] = (lynx_label_t){key, out->values[k], 0, NULL};
    }
    return n;
}
