/*
 * client/sample_labels.h - the labels of a sample as the agent recorded
 * them (lynx_sample_labels_t: thread id and name, request labels), turned
 * into pprof labels: "thread" (string), "tid" (number) and one string
 * label per request key.
 *
 * The bytes come from a target's shared memory or a spool file: untrusted.
 * Every string is copied with its length bounded by its field, ends with
 * a NUL, and is valid UTF-8: any byte that is not part of a valid UTF-8
 * character, and any control character, is written as \xNN.  Endpoint
 * side only; pure functions, no allocation.
 */
#ifndef LYNX_CLIENT_SAMPLE_LABELS_H
#define LYNX_CLIENT_SAMPLE_LABELS_H

#include <stddef.h>

#include "protocol/block.h"
#include "client/pprof.h"

#define LYNX_SAMPLE_LABELS_MAX (2 + LYNX_LABEL_DEPTH)

/* Room for one sample's pprof labels and the strings they point to. */
typedef struct lynx_sample_label_buf {
    lynx_label_t labels[LYNX_SAMPLE_LABELS_MAX];
    char thread[4 * LYNX_THREAD_NAME_MAX];
    char keys[LYNX_LABEL_DEPTH][4 * LYNX_LABEL_KEY_MAX];
    char values[LYNX_LABEL_DEPTH][4 * LYNX_LABEL_VALUE_MAX];
} lynx_sample_label_buf_t;

/* Copy src (at most src_size bytes, up to its first NUL) into dst
 * (dst_size >= 4 * src_size + 1 guarantees nothing is cut) as valid
 * UTF-8 without control characters (others as \xNN), NUL-terminated.
 * Returns the bytes written, NUL excluded. */
size_t lynx_label_text(const char *src, size_t src_size, char *dst,
                       size_t dst_size);

/* The pprof labels of in (a private copy of untrusted bytes), into
 * out->labels (pointing into out): "thread"
 * when the name is not empty, "tid" when the tid is positive, then each
 * request label with a non-empty key that is not "thread" or "tid"; when
 * a key repeats, only its innermost value.  Returns how many. */
size_t lynx_sample_labels_decode(const lynx_sample_labels_t *in,
                                 lynx_sample_label_buf_t *out);

#endif
